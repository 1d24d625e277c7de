"""The questions the press asks of miner flows, answered from the daily series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.errors import UsageError
from minerwatch.metrics import lake_entities
from minerwatch.metrics.registry import Query, read


@dataclass(frozen=True, slots=True)
class OutflowTotal:
    cohort: str
    start: date                    # as asked
    end: date
    outflow_btc: float
    outflow_usd: float | None      # None if any day with an outflow has no price
    days: int                      # days with blocks in the range
    days_without_price: int        # days with an outflow but no price
    # The first day in the range with a value: later than `start` when the stored chain begins after
    # it, and every statement of the total names this day, not days the database never saw.
    first_day_with_data: date | None


def outflow_between(con: duckdb.DuckDBPyConnection, start: date, end: date, cohort: str = "0hop") -> OutflowTotal:
    """Total outflow of a cohort over [start, end] (UTC days, inclusive), in BTC and at each day's price;
    the series are read by name, as `minerwatch metrics` reads them."""
    q = Query(start, end, cohort)
    btc = read(con, "miner_outflow_btc", q).points
    usd = dict(read(con, "miner_outflow_usd", q).points)
    missing = sum(1 for d, v in btc if v and usd.get(d) is None)
    total_usd = None if missing else sum(v for v in usd.values() if v is not None)
    first = next((d for d, v in btc if v is not None), None)
    return OutflowTotal(cohort, start, end, sum(v or 0.0 for _, v in btc), total_usd, len(btc), missing, first)


def check_cohort(con: duckdb.DuckDBPyConnection, cohort: str) -> None:
    """Refuse a pool or label cohort that names nobody (its series would be all zeros, not an
    error), or an entity the imported lake results do not hold; the hint lists those that do exist."""
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
    elif lake_entities.is_entity(cohort):
        lake_entities.check_entity(con, cohort)
        return
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