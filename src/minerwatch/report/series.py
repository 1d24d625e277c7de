"""Reading named series for reports: a metric's points up to a day, or the reason there are none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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


def on_or_before(points: Points, day: date) -> tuple[date, float] | None:
    """The last point on or before `day`."""
    best = None
    for d, v in points:
        if d > day:
            break
        best = (d, v)
    return best


def change_pct(points: Points, days: int) -> tuple[float, date] | None:
    """Percent change from the last point ≥ `days` before the latest to the latest, and that start day."""
    if not points:
        return None
    end_d, end_v = points[-1]
    start = on_or_before(points, end_d - timedelta(days=days))
    if start is None or start[1] == 0:
        return None
    return (end_v / start[1] - 1) * 100, start[0]
