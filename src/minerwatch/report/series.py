"""Reading named series for reports: a metric's points up to a day, or the reason there are none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.errors import MinerwatchError
from minerwatch.metrics.registry import METRICS, Query, load_all

Points = list[tuple[date, float]]


@dataclass(frozen=True, slots=True)
class Read:
    points: Points                  # non-gap values, oldest first
    definition: str
    missing: str | None             # why there are no points


def read(con: duckdb.DuckDBPyConnection, name: str, end: date | None, start: date | None = None) -> Read:
    """Non-gap points of metric `name` in [start, end]; a missing series or table is a reason, not an error."""
    load_all()
    if name not in METRICS:
        return Read([], "", f"the series {name} is not available in this version of minerwatch")
    m = METRICS[name]
    try:
        rows = m.fn(con, Query(start, end))
    except (MinerwatchError, duckdb.Error):
        return Read([], m.definition, f"no data for {name} in this database (run `minerwatch sync`)")
    pts = sorted((d, float(v)) for d, v in rows
                 if v is not None and (end is None or d <= end) and (start is None or d >= start))
    return Read(pts, m.definition, None if pts else f"no data for {name} up to {end or 'now'}")
