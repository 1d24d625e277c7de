"""Miner reserve broken down by the year in which its coins were mined (daily_miner_reserve_era),
so that dormant 2009–2010 coinbases are visible apart from active miners."""

from __future__ import annotations

from datetime import date

import duckdb

from minerwatch.queries.db import table_exists
from minerwatch.queries.intervals import Point


def reserve_by_era(con: duckdb.DuckDBPyConnection, cohort: str = "0hop", start: date | None = None,
                   end: date | None = None) -> dict[int, list[Point]]:
    """{era year: [(day, reserve BTC)]} for `cohort`, days in [start, end]; empty when not computed."""
    if not table_exists(con, "daily_miner_reserve_era"):
        return {}
    rows = con.execute(
        """SELECT era_year, day, reserve_sat / 1e8 FROM daily_miner_reserve_era
           WHERE cohort = ? AND (? IS NULL OR day >= ?) AND (? IS NULL OR day <= ?)
           ORDER BY era_year, day""",
        [cohort, start, start, end, end]).fetchall()
    out: dict[int, list[Point]] = {}
    for year, d, btc in rows:
        out.setdefault(int(year), []).append((d, float(btc)))
    return out
