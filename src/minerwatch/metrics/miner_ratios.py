"""Ratios built on miner flows: Miner Position Index (both variants), outflow multiple, Miner Rolling
Inventory, miner supply ratio, and outflow in USD. All per UTC day, for any cohort."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb

from minerwatch.metrics.miners import SAT, cohort_days
from minerwatch.metrics.registry import Query, metric

_EPOCH = date(1970, 1, 1)


def _flows_with_context(con: duckdb.DuckDBPyConnection, cohort: str) -> list[tuple]:
    """(day, reserve_sat, outflow_sat, price_usd|None, revenue_sat, supply_sat) for every day with a block.
    Revenue = coinbase value of the day's blocks; supply = coins issued through the day's end.
    Every cohort reads its stored daily rows."""
    flows = {r[0]: (r[1], r[3]) for r in cohort_days(con, cohort)}
    ctx = con.execute("""
        WITH d AS (SELECT CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day,
                          sum(coinbase_value_sat) AS revenue, sum(subsidy_sat - unclaimed_sat) AS issued
                   FROM blocks GROUP BY 1)
        SELECT d.day, d.revenue, sum(d.issued) OVER (ORDER BY d.day) AS supply, p.price_usd
        FROM d LEFT JOIN prices p ON p.date = d.day ORDER BY d.day
    """).fetchall()
    return [(day, flows[day][0], flows[day][1], price, int(rev), int(supply))
            for day, rev, supply, price in ctx if day in flows]


def _dense(rows: list[tuple], value: Callable[[tuple], float | None]) -> tuple[date, list[float | None]]:
    """One value per calendar day from the first row's day to the last's; a day without blocks is 0."""
    first = rows[0][0]
    out: list[float | None] = [0.0] * ((rows[-1][0] - first).days + 1)
    for r in rows:
        out[(r[0] - first).days] = value(r)
    return first, out


def _trailing(rows: list[tuple], value: Callable[[tuple], float | None], days: int
              ) -> list[tuple[date, float | None, float | None, float | None]]:
    """(day, today's value, mean, population std) over the `days` calendar days ending at each row's
    day (days before the first block count as 0); mean and std None if a value in the window is None.
    Rolling sums keep it O(days of history)."""
    if not rows:
        return []
    first, dense = _dense(rows, value)
    s = s2 = 0.0
    nones = 0
    stats: list[tuple[float | None, float | None]] = []
    for i, v in enumerate(dense):
        if v is None:
            nones += 1
        else:
            s, s2 = s + v, s2 + v * v
        if i >= days:
            old = dense[i - days]
            if old is None:
                nones -= 1
            else:
                s, s2 = s - old, s2 - old * old
        if nones:
            stats.append((None, None))
        else:
            mean = s / days
            stats.append((mean, max(s2 / days - mean * mean, 0.0) ** 0.5))
    return [(r[0], dense[(r[0] - first).days], *stats[(r[0] - first).days]) for r in rows]


def _clip(q: Query, out: list[tuple[date, float | None]]) -> list[tuple[date, float | None]]:
    return [(d, v) for d, v in out if (q.start is None or d >= q.start) and (q.end is None or d <= q.end)]


def mpi_rows(con: duckdb.DuckDBPyConnection, cohort: str, zscore: bool = False,
             usd: bool = True) -> list[tuple[date, float | None]]:
    """Outflow / its trailing 365-day mean (or the 365-day z-score); None while the window reaches
    before the first stored day, or (USD variants) when a day in the window has no price."""
    rows = _flows_with_context(con, cohort)
    if not rows:
        return []
    first_day = rows[0][0]

    def value(r: tuple) -> float | None:
        if not usd:
            return r[2] / SAT
        return r[2] / SAT * r[3] if r[3] is not None else None

    out: list[tuple[date, float | None]] = []
    for day, today, mean, std in _trailing(rows, value, 365):
        if (day - first_day).days < 364 or mean is None or today is None:
            out.append((day, None))
        elif zscore:
            out.append((day, (today - mean) / std if std > 0 else None))
        else:
            out.append((day, today / mean if mean > 0 else None))
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
    outflow = _trailing(rows, lambda r: float(r[2]), 30)
    revenue = _trailing(rows, lambda r: float(r[4]), 30)
    return _clip(q, [(o[0], o[2] / v[2] if v[2] else None) for o, v in zip(outflow, revenue)])


@metric("miner_supply_ratio", "ratio", "miner reserve / coins issued so far (subsidies claimed through the day)",
        "miners", cohort=True)
def miner_supply_ratio(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _clip(q, [(r[0], r[1] / r[5] if r[5] else None) for r in _flows_with_context(con, q.cohort)])
