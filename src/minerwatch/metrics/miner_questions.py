"""The questions the press asks of miner flows, answered from the daily series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.errors import UsageError
from minerwatch.metrics.miner_ratios import miner_outflow_usd
from minerwatch.metrics.miners import miner_outflow_btc
from minerwatch.metrics.registry import Query


@dataclass(frozen=True, slots=True)
class OutflowTotal:
    cohort: str
    start: date
    end: date
    outflow_btc: float
    outflow_usd: float | None      # None if any day with an outflow has no price
    days: int                      # days with blocks in the range
    days_without_price: int        # days with an outflow but no price


def outflow_between(con: duckdb.DuckDBPyConnection, start: date, end: date, cohort: str = "0hop") -> OutflowTotal:
    """Total outflow of a cohort over [start, end] (UTC days, inclusive), in BTC and at each day's price."""
    q = Query(start, end, cohort)
    btc = miner_outflow_btc(con, q)
    usd = dict(miner_outflow_usd(con, q))
    missing = sum(1 for d, v in btc if v and usd.get(d) is None)
    total_usd = None if missing else sum(v for v in usd.values() if v is not None)
    return OutflowTotal(cohort, start, end, sum(v or 0.0 for _, v in btc), total_usd, len(btc), missing)


def check_cohort(con: duckdb.DuckDBPyConnection, cohort: str) -> None:
    """Refuse a pool or label cohort that names nobody (its series would be all zeros, not an
    error); the hint lists the pools or labelled entities that do exist."""
    if cohort.startswith("pool:"):
        if con.execute("SELECT EXISTS (SELECT 1 FROM block_pools WHERE pool_slug = ?)", [cohort[5:]]).fetchone()[0]:
            return
        # The 12 pools with the most stored blocks: enough to spot a misspelt slug.
        known = [r[0] for r in con.execute(
            "SELECT pool_slug FROM block_pools GROUP BY pool_slug ORDER BY count(*) DESC, pool_slug LIMIT 12"
        ).fetchall()]
        message = f"no stored block is attributed to pool {cohort[5:]!r}"
        what, hint = "pools with stored blocks (most blocks first)", \
            "`minerwatch pools list --interval all` shows the pool slugs"
    elif cohort.startswith("label:"):
        if con.execute("SELECT EXISTS (SELECT 1 FROM labels WHERE entity = ?)", [cohort[6:]]).fetchone()[0]:
            return
        known = [r[0] for r in con.execute("SELECT DISTINCT entity FROM labels ORDER BY entity LIMIT 12").fetchall()]
        message = f"no label names the entity {cohort[6:]!r}"
        what, hint = "labelled entities", \
            "import labels with `minerwatch labels import FILE` (columns address,entity,category)"
    else:
        return
    prefix = cohort.partition(":")[0]
    listed = f"{what}: {', '.join(f'{prefix}:{k}' for k in known)}" if known else f"no {what} yet"
    raise UsageError(message, f"{listed}; {hint}")