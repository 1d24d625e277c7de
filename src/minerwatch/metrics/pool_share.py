"""Which pool mined each block (block_pools), pool shares and pool hashrate over windows.

Attribution follows mempool.space (minerwatch.pools): payout addresses first, then coinbase tags,
else unknown, with tag/address conflicts kept. The active pool list is stored in the database
(pool_lists) so that new blocks are attributed with the list the user chose, and `pools update`
can diff the old list against the new one and rewrite only the blocks whose pool changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from minerwatch.errors import UsageError
from minerwatch.metrics.miners import refresh_cohorts
from minerwatch.metrics.network import first_row, poisson_bounds95
from minerwatch.metrics.registry import Query, metric, refresher
from minerwatch.pools import Attribution, PoolList, diff_attributions, load_pool_list, parse_pool_list
from minerwatch.store import transaction

SHIPPED = "shipped"
_CACHE: dict[str, PoolList] = {}

_BLOCKS_SQL = """
SELECT b.height, b.coinbase_script_hex,
       coalesce(list(o.address ORDER BY o.vout) FILTER (WHERE o.address IS NOT NULL), []) AS addresses
FROM blocks b LEFT JOIN coinbase_outputs o ON o.height = b.height
WHERE b.height >= ? AND b.height <= ?
GROUP BY b.height, b.coinbase_script_hex ORDER BY b.height
"""


@dataclass(frozen=True, slots=True)
class PoolUpdate:
    old_version: str
    new_version: str
    blocks_checked: int
    blocks_changed: int


def _remember(pl: PoolList) -> PoolList:
    _CACHE[pl.version] = pl
    return pl


def active_pool_list(con: duckdb.DuckDBPyConnection) -> PoolList:
    """The pool list that attributes blocks in this database (the shipped one until `pools update`)."""
    row = first_row(con.execute("SELECT version, source, list_json FROM pool_lists WHERE active").fetchall())
    if row is None:
        pl = load_pool_list()
        con.execute("INSERT OR REPLACE INTO pool_lists (version, source, active, list_json) VALUES (?, ?, true, ?)",
                    [pl.version, SHIPPED, Path(pl.source).read_text()])
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('pools_version', ?)", [pl.version])
        return _remember(pl)
    version, source, text = row
    if version in _CACHE:
        return _CACHE[version]
    return _remember(parse_pool_list(text.encode(), source))


def _rows(con: duckdb.DuckDBPyConnection, lo: int, hi: int) -> list[tuple[int, bytes, list[str]]]:
    return [(int(h), bytes.fromhex(s), list(a)) for h, s, a in con.execute(_BLOCKS_SQL, [lo, hi]).fetchall()]


def _write(con: duckdb.DuckDBPyConnection, items: list[tuple[int, Attribution]], version: str) -> None:
    if not items:
        return
    table = pa.table({
        "height": pa.array([h for h, _ in items], pa.int32()),
        "pool_slug": [a.slug for _, a in items],
        "pool_name": [a.name for _, a in items],
        "matched_by": pa.array([a.matched_by for _, a in items], pa.string()),
        "tag_slug": pa.array([a.tag_slug for _, a in items], pa.string()),
        "address_slug": pa.array([a.address_slug for _, a in items], pa.string()),
        "conflict": [a.conflict for _, a in items],
        "pool_id": pa.array([a.pool_id for _, a in items], pa.int32()),
        "pools_version": [version] * len(items),
    })
    con.register("_attributions", table)
    try:
        con.execute("INSERT OR REPLACE INTO block_pools SELECT * FROM _attributions")
    finally:
        con.unregister("_attributions")


@refresher(25)
def attribute_blocks(con: duckdb.DuckDBPyConnection, from_height: int) -> None:
    """Attribute every block from `from_height` on (after a reorg: the new branch) to a pool."""
    stored_end = con.execute("SELECT max(height) + 1 FROM block_pools").fetchall()[0][0]
    start = from_height if stored_end is None else min(from_height, int(stored_end))
    if stored_end is None:
        start = min(start, con.execute("SELECT coalesce(min(height), 0) FROM blocks").fetchall()[0][0])
    con.execute("DELETE FROM block_pools WHERE height >= ?", [start])
    pl = active_pool_list(con)
    tip = con.execute("SELECT max(height) FROM blocks").fetchall()[0][0]
    if tip is None:
        return
    batch = 50_000  # bounds memory: a coinbase row with its addresses is a few hundred bytes
    for lo in range(start, int(tip) + 1, batch):
        rows = _rows(con, lo, min(lo + batch - 1, int(tip)))
        _write(con, [(h, pl.attribute(script, addrs)) for h, script, addrs in rows], pl.version)


def update_pool_list(con: duckdb.DuckDBPyConnection, path: Path) -> PoolUpdate:
    """`minerwatch pools update FILE`: make FILE the active list; rewrite only the blocks whose
    attribution changes, and record the new version on every block."""
    new = load_pool_list(path)
    old = active_pool_list(con)
    attribute_blocks(con, 1 << 31)  # bring block_pools up to the tip with the old list first
    changed: list[tuple[int, Attribution]] = []
    checked = 0
    tip = con.execute("SELECT max(height) FROM blocks").fetchall()[0][0]
    lo0 = con.execute("SELECT min(height) FROM blocks").fetchall()[0][0]
    if tip is not None:
        for lo in range(int(lo0), int(tip) + 1, 50_000):
            rows = _rows(con, lo, min(lo + 49_999, int(tip)))
            checked += len(rows)
            changed += [(h, b) for h, _, b in diff_attributions(old, new, rows)]
    with transaction(con):
        _write(con, changed, new.version)
        con.execute("UPDATE block_pools SET pools_version = ?", [new.version])
        con.execute("UPDATE pool_lists SET active = false")
        con.execute("INSERT OR REPLACE INTO pool_lists (version, source, active, list_json) VALUES (?, ?, true, ?)",
                    [new.version, str(path), path.read_text()])
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('pools_version', ?)", [new.version])
        if changed:  # the pool cohorts follow the attribution: recomputed once, every height
            refresh_cohorts(con, 0, kinds=("pool",))
    _remember(new)
    return PoolUpdate(old.version, new.version, checked, len(changed))


def block_pool(con: duckdb.DuckDBPyConnection, height: int) -> dict[str, Any] | None:
    """The stored attribution of one block (for `minerwatch block --json`), or None."""
    row = first_row(con.execute("SELECT pool_slug, pool_name, matched_by, tag_slug, address_slug, conflict, pools_version "
                      "FROM block_pools WHERE height = ?", [height]).fetchall())
    if row is None:
        return None
    keys = ("slug", "name", "matched_by", "tag_slug", "address_slug", "conflict", "pools_version")
    return dict(zip(keys, row, strict=True))


# ---- shares over windows -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PoolShare:
    slug: str
    name: str
    blocks: int
    share_pct: float             # of every block in the window, attributed or not
    empty_blocks: int            # blocks with only the coinbase
    hashrate_ehs: float          # share × the window's network hashrate
    low95_ehs: float             # Poisson interval on the pool's block count
    high95_ehs: float
    conflicts: int               # blocks whose tag and address named different pools


@dataclass(frozen=True, slots=True)
class PoolWindow:
    interval: str
    start_time_s: int | None     # exclusive; None: from the first stored block
    end_time_s: int              # inclusive; by default the tip's header time ("now")
    end_time_utc: str
    blocks: int                  # every block of the window (the shares' denominator)
    attributed: bool             # False: no pool attribution stored for the window's blocks yet
    network_hashrate_ehs: float  # Σ difficulty × 2^32 of the window's blocks / the window's seconds
    pools: list[PoolShare]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc(time_s: int) -> str:
    return datetime.fromtimestamp(time_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pool_shares(con: duckdb.DuckDBPyConnection, start_time_s: int | None, end_time_s: int | None = None,
                interval: str = "") -> PoolWindow:
    """Blocks, share, empty blocks and hashrate of every pool among the blocks with header time in
    (start, end]. `start` None: from the first block; `end` None: every block up to the tip, the
    window then ending at the tip's header time (header times are not monotone, so a block below the
    tip can carry a later time)."""
    lo = -(2**62) if start_time_s is None else start_time_s
    hi = 2**62 if end_time_s is None else end_time_s
    total, work, first_s, tip_s = con.execute(
        "SELECT count(*), sum(difficulty), min(time_s), (SELECT time_s FROM blocks ORDER BY height DESC LIMIT 1) "
        "FROM blocks WHERE time_s > ? AND time_s <= ?", [lo, hi]).fetchall()[0]
    end = end_time_s if end_time_s is not None else int(tip_s or 0)
    if not total:
        return PoolWindow(interval, start_time_s, end, _utc(end), 0, False, 0.0, [])
    start = start_time_s if start_time_s is not None else int(first_s) - 1
    network_ehs = float(work) * 2**32 / max(end - start, 1) / 1e18
    try:
        rows = con.execute(
            "SELECT p.pool_slug, any_value(p.pool_name), count(*), count(*) FILTER (WHERE b.tx_count = 1), "
            "count(*) FILTER (p.conflict) FROM blocks b JOIN block_pools p USING (height) "
            "WHERE b.time_s > ? AND b.time_s <= ? GROUP BY p.pool_slug ORDER BY count(*) DESC, p.pool_slug",
            [lo, hi]).fetchall()
    except duckdb.CatalogException:  # a read-only database from before pool attribution
        rows = []
    shares = []
    for slug, name, n, empty, conflicts in rows:
        low, high = poisson_bounds95(int(n))
        share = n / total
        shares.append(PoolShare(slug, name, int(n), 100.0 * share, int(empty), share * network_ehs,
                                network_ehs * low / total, network_ehs * high / total, int(conflicts)))
    return PoolWindow(interval, start_time_s, end, _utc(end), int(total), bool(rows), network_ehs, shares)


def _pool_slug(q: Query) -> str:
    if not q.cohort.startswith("pool:") or len(q.cohort) <= 5:
        raise UsageError(f"this series needs a pool cohort, got {q.cohort!r}", "pass --cohort pool:<slug>, e.g. pool:foundryusa")
    return q.cohort[5:]


_DAILY_POOL_SQL = """
SELECT d.day, {expr}
FROM daily_network d
LEFT JOIN (SELECT DATE '1970-01-01' + CAST(b.time_s // 86400 AS INTEGER) AS day, count(*) AS n
           FROM blocks b JOIN block_pools p USING (height) WHERE p.pool_slug = ? GROUP BY 1) x USING (day)
WHERE d.day >= coalesce(?, DATE '0001-01-01') AND d.day <= coalesce(?, DATE '9999-12-31') ORDER BY d.day
"""


def _pool_daily(con: duckdb.DuckDBPyConnection, q: Query, expr: str) -> list[tuple[date, float | None]]:
    sql = _DAILY_POOL_SQL.format(expr=expr)
    return [(d, None if v is None else float(v)) for d, v in con.execute(sql, [_pool_slug(q), q.start, q.end]).fetchall()]


@metric("pool_blocks", "blocks", "blocks of the UTC day attributed to the pool (--cohort pool:<slug>)", "pools", cohort=True)
def pool_blocks(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _pool_daily(con, q, "coalesce(x.n, 0)")


@metric("pool_share_pct", "%", "the pool's share of the UTC day's blocks (--cohort pool:<slug>)", "pools", cohort=True)
def pool_share_pct(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _pool_daily(con, q, "100.0 * coalesce(x.n, 0) / d.blocks")


@metric("pool_hashrate_ehs", "EH/s", "the pool's share of the UTC day's blocks × the day's block-count hashrate",
        "pools", cohort=True)
def pool_hashrate_ehs(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _pool_daily(con, q, "coalesce(x.n, 0) * 1.0 / d.blocks * d.hashrate_ehs")
