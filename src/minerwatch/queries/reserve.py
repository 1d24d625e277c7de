"""Miner reserve broken down by the year in which its coins were mined (daily_miner_reserve_era, or
a miner entity's imported lake rows: metrics/miners.py cohort_eras), so that dormant 2009–2010
coinbases are visible apart from active miners."""

from __future__ import annotations

from datetime import date

import duckdb

from minerwatch.metrics.miners import SAT, cohort_eras
from minerwatch.queries.db import table_exists
from minerwatch.queries.intervals import Point


def reserve_by_era(con: duckdb.DuckDBPyConnection, cohort: str = "0hop", start: date | None = None,
                   end: date | None = None) -> dict[int, list[Point]]:
    """{era year: [(day, reserve BTC)]} for `cohort`, days in [start, end]; empty when not computed."""
    if not table_exists(con, "daily_miner_reserve_era"):
        return {}
    out: dict[int, list[Point]] = {}
    for d, year, sat in cohort_eras(con, cohort, start, end):
        out.setdefault(int(year), []).append((d, sat / SAT))
    return {year: out[year] for year in sorted(out)}
