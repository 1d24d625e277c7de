"""Ratios built on miner flows: Miner Position Index (both variants), outflow multiple, Miner Rolling
Inventory, miner supply ratio, and outflow in USD. All per UTC day, for any cohort."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from minerwatch.metrics.miners import SAT, daily_flows
from minerwatch.metrics.registry import Query, metric

_EPOCH = date(1970, 1, 1)


def _flows_with_context(con: duckdb.DuckDBPyConnection, cohort: str) -> list[tuple]:
    """(day, reserve_sat, outflow_sat, price_usd|None, revenue_sat, supply_sat) for every day with a block.
    Revenue = coinbase value of the day's blocks; supply = coins issued through the day's end."""
    flows = {r[0]: r for r in daily_flows(con, cohort)}
    ctx = con.execute("""
        WITH d AS (SELECT CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day,
                          sum(coinbase_value_sat) AS revenue, sum(subsidy_sat - unclaimed_sat) AS issued
                   FROM blocks GROUP BY 1)
        SELECT d.day, d.revenue, sum(d.issued) OVER (ORDER BY d.day) AS supply, p.price_usd
        FROM d LEFT JOIN prices p ON p.date = d.day ORDER BY d.day
    """).fetchall()
    return [(day, flows[day][1], flows[day][3], price, int(rev), int(supply))
            for day, rev, supply, price in ctx if day in flows]


def _window(rows: list[tuple], i: int, days: int) -> list[tuple]:
    """Rows whose day lies in the `days` calendar days ending at rows[i]'s day (days without blocks are absent)."""
    start = rows[i][0] - timedelta(days=days - 1)
    j = i
    while j > 0 and rows[j - 1][0] >= start:
        j -= 1
    return rows[j:i + 1]


def _clip(q: Query, out: list[tuple[date, float | None]]) -> list[tuple[date, float | None]]:
    return [(d, v) for d, v in out if (q.start is None or d >= q.start) and (q.end is None or d <= q.end)]


def mpi_rows(con: duckdb.DuckDBPyConnection, cohort: str, zscore: bool = False,
             usd: bool = True) -> list[tuple[date, float | None]]:
    """Outflow / its trailing 365-day mean (or the 365-day z-score); None until 365 days of history,
    or when a day in the window has no price (USD variants)."""
    rows = _flows_with_context(con, cohort)
    out: list[tuple[date, float | None]] = []
    first_day = rows[0][0] if rows else None
    for i, r in enumerate(rows):
        if (r[0] - first_day).days < 364:
            out.append((r[0], None))
            continue
        window = _window(rows, i, 365)
        vals = [w[2] / SAT * (w[3] if usd else 1.0) if (w[3] is not None or not usd) else None for w in window]
        # Days without a block in the window count as zero outflow.
        if any(v is None for v in vals):
            out.append((r[0], None))
            continue
        mean = sum(vals) / 365
        today = vals[-1]
        if zscore:
            var = (sum((v - mean) ** 2 for v in vals) + (365 - len(vals)) * mean ** 2) / 365
            out.append((r[0], (today - mean) / var ** 0.5 if var > 0 else None))
        else:
            out.append((r[0], today / mean if mean > 0 else None))
    return out


@metric("mpi", "ratio", "Miner Position Index (CryptoQuant): outflow USD / its 365-day moving average", "miners",
        cohort=True)
def mpi(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _clip(q, mpi_rows(con, q.cohort))


@metric("mpi_zscore", "z", "Miner Position Index, z-score variant: (outflow USD − 365-day mean) / 365-day std",
        "miners", cohort=True)
def mpi_zscore(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _clip(q, mpi_rows(con, q.cohort, zscore=True))


@metric("miner_outflow_multiple", "ratio", "Miner Outflow Multiple (Glassnode): outflow BTC / its 365-day moving average",
        "miners", cohort=True)
def miner_outflow_multiple(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _clip(q, mpi_rows(con, q.cohort, usd=False))


@metric("miner_outflow_usd", "USD", "outflow BTC × that day's price; None on a day without a price", "miners",
        cohort=True)
def miner_outflow_usd(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _clip(q, [(r[0], r[2] / SAT * r[3] if r[3] is not None else None) for r in _flows_with_context(con, q.cohort)])


@metric("miner_rolling_inventory", "ratio", "Miner Rolling Inventory (Coin Metrics MRI0HopAll30d): 30-day outflow / "
        "30-day miner revenue", "miners", cohort=True)
def miner_rolling_inventory(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    rows = _flows_with_context(con, q.cohort)
    out = []
    for i, r in enumerate(rows):
        w = _window(rows, i, 30)
        revenue = sum(x[4] for x in w)
        out.append((r[0], sum(x[2] for x in w) / revenue if revenue else None))
    return _clip(q, out)


@metric("miner_supply_ratio", "ratio", "miner reserve / coins issued so far (subsidies claimed through the day)",
        "miners", cohort=True)
def miner_supply_ratio(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _clip(q, [(r[0], r[1] / r[5] if r[5] else None) for r in _flows_with_context(con, q.cohort)])
