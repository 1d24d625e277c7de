"""Which heights each series can cover, and why: what `status` reports and every reader warns about.

Three kinds of series, by what they read:

headers   difficulty, the hashrate estimators, the retarget forecast, the ribbons, the subsidy and
          the subsidy-only hashvalue: a header is enough, so they run over every stored header or
          block (`chain_facts`) — the whole chain minutes after `sync --rpc` starts, and on a
          pruned node the heights whose blocks are gone.
blocks    fees, revenue, the fee-inclusive hashprices, pool shares: the coinbase of each block, so
          they start at the first stored block (a pruned node's prune height).
genesis   the miner cohorts (0-hop and 1-hop reserve, flows and the ratios built on them) and the
          cumulative thermocap with fees: a coinbase of 2009 still counts today, so they need
          every block since genesis; without block 0 they are not complete anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

HEADERS, BLOCKS, GENESIS, PRICES = "headers", "blocks", "genesis", "prices"

_HEADER_FAMILIES = ("network", "difficulty")
_HEADER_NAMES = frozenset({"subsidy_btc", "hashvalue_subsidy_btc_per_ph_day", "hashprice_subsidy_usd_per_ph_day",
                           "puell_multiple", "thermocap_usd", "hash_ribbon_spread_pct"})
_PRICE_NAMES = frozenset({"price_usd", "price_sma10_usd", "price_sma20_usd"})
_GENESIS_NAMES = frozenset({"thermocap_with_fees_usd", "capitulation_signals_on"})


def kind_of(name: str, family: str) -> str:
    """What the series `name` (of `family`) needs: HEADERS, BLOCKS, GENESIS or PRICES."""
    if name in _PRICE_NAMES:
        return PRICES
    if family in _HEADER_FAMILIES or name in _HEADER_NAMES:
        return HEADERS
    if family == "miners" or name in _GENESIS_NAMES:
        return GENESIS
    return BLOCKS


@dataclass(frozen=True, slots=True)
class Coverage:
    kind: str
    from_height: int | None        # None: nothing stored for this kind
    through_height: int | None
    complete: bool                 # from genesis to the stored tip
    why: str                       # one sentence a person reads

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "from_height": self.from_height, "through_height": self.through_height,
                "complete": self.complete, "summary": self.why}


def _range(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int | None, int | None]:
    row = con.execute(f"SELECT min(height), max(height) FROM {table}").fetchall()[0]  # noqa: S608 (fixed names)
    return (None, None) if row[0] is None else (int(row[0]), int(row[1]))


def coverage(con: duckdb.DuckDBPyConnection) -> dict[str, Coverage]:
    """Where the header, block and genesis series start and end in this database, and why."""
    lo_h, hi_h = _range(con, "chain_facts")
    lo_b, hi_b = _range(con, "blocks")
    pruned = _pruned_note(con)
    out: dict[str, Coverage] = {}
    if lo_h is None:
        out[HEADERS] = Coverage(HEADERS, None, None, False, "no headers or blocks stored: run `minerwatch sync`")
    else:
        gap = "" if lo_h == 0 else (f"; nothing below height {lo_h:,} (the headers or blocks were loaded from there: "
                                    "load the headers from genesis for the whole history)")
        out[HEADERS] = Coverage(HEADERS, lo_h, hi_h, lo_h == 0,
                                f"difficulty, hashrate, retarget forecast, ribbons and subsidy-only hashvalue from "
                                f"the headers: heights {lo_h:,}–{hi_h:,}{gap}")
    if lo_b is None:
        why = "no blocks stored yet: fees, revenue, pools and miner flows start with the first block"
        out[BLOCKS] = Coverage(BLOCKS, None, None, False, why + (f" ({pruned})" if pruned else ""))
        out[GENESIS] = Coverage(GENESIS, None, None, False, why)
        return out
    behind = "" if hi_h is None or hi_b >= hi_h else f"; blocks {hi_b + 1:,}–{hi_h:,} are not stored yet"
    start = "" if lo_b == 0 else f" — they start at height {lo_b:,}" + (f" ({pruned})" if pruned else
                                                                      " (the blocks stored begin there)")
    out[BLOCKS] = Coverage(BLOCKS, lo_b, hi_b, lo_b == 0,
                           f"fees, revenue, fee-inclusive hashprice and pool shares from the blocks: heights "
                           f"{lo_b:,}–{hi_b:,}{start}{behind}")
    if lo_b == 0:
        out[GENESIS] = Coverage(GENESIS, 0, hi_b, True, f"miner reserve and flows: every block 0–{hi_b:,}{behind}")
    else:
        out[GENESIS] = Coverage(
            GENESIS, lo_b, hi_b, False,
            f"miner reserve and flows count only coinbases from height {lo_b:,} on: the 0-hop reserve needs every "
            f"block since 2009 (coins mined before height {lo_b:,} are missing, so the reserve reads too low)"
            + (f" ({pruned})" if pruned else "") + "; sync the blocks from genesis for complete values")
    return out


def _pruned_note(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("SELECT value FROM meta WHERE key = 'node_prune_height'").fetchall()
    return "" if not rows else (f"the node is pruned (prune height {int(rows[0][0]):,}): it no longer has "
                                f"the blocks below")


def start_warning(con: duckdb.DuckDBPyConnection, name: str, family: str) -> str | None:
    """A sentence when the series `name` cannot cover the stored chain from genesis; None otherwise."""
    kind = kind_of(name, family)
    if kind == PRICES:
        return None
    try:
        c = coverage(con).get(kind)
    except duckdb.CatalogException:       # a database from before the headers table
        return None
    if c is None or c.complete or c.from_height is None or kind == HEADERS:
        return None    # the header series' own windows say what they lack (metrics.history)
    if kind == BLOCKS and coverage(con)[HEADERS].from_height == c.from_height:
        return None    # nothing is known below the first block: no day shows a gap the blocks leave
    return f"{name}: {c.why}"


# ---- USD: where the stored prices stop --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UsdGap:
    """USD figures stop before the chain does: the last priced day and the chain's last day."""

    last_price_day: object          # datetime.date
    chain_last_day: object
    fix: str                        # the command that fills the days

    @property
    def sentence(self) -> str:
        return (f"USD figures stop on {self.last_price_day}, the last day with a stored price; the chain runs to "
                f"{self.chain_last_day}. Run `{self.fix}` (or keep them current with "
                "`minerwatch sync --follow --prices live`)")

    def as_dict(self) -> dict[str, object]:
        return {"last_price_day": str(self.last_price_day), "chain_last_day": str(self.chain_last_day),
                "fix": self.fix, "summary": self.sentence}


def usd_gap(con: duckdb.DuckDBPyConnection) -> UsdGap | None:
    """Where USD figures stop before the chain's last day, or None when prices reach it."""
    try:
        row = con.execute("SELECT (SELECT max(date) FROM prices), (SELECT max(day) FROM daily_network)").fetchall()[0]
    except duckdb.CatalogException:
        return None
    last_price, last_day = row
    if last_price is None or last_day is None or last_day <= last_price:
        return None
    since = last_price.fromordinal(last_price.toordinal() + 1)
    return UsdGap(last_price, last_day, f"minerwatch prices fetch --since {since} --store")


def usd_warning(con: duckdb.DuckDBPyConnection, unit: str, end: object = None) -> str | None:
    """The sentence for a USD series read up to `end` (None: the last day) whose prices stop before
    the chain and before `end`; None otherwise."""
    if "USD" not in unit:
        return None
    gap = usd_gap(con)
    if gap is None or (end is not None and end <= gap.last_price_day):  # type: ignore[operator]
        return None
    return gap.sentence
