"""The one interval vocabulary (mempool.space's) and server-side downsampling."""

from __future__ import annotations

import math
from datetime import date, timedelta

from minerwatch.errors import UsageError

# Days each interval covers, ending on the last stored day (not the wall clock: a database synced
# last month still shows a full "1m"). 1m/3m/6m are 30/91/182 days, as mempool.space counts them.
INTERVAL_DAYS: dict[str, int | None] = {
    "24h": 1, "3d": 3, "1w": 7, "1m": 30, "3m": 91, "6m": 182,
    "1y": 365, "2y": 730, "3y": 1095, "all": None,
}
INTERVALS: tuple[str, ...] = tuple(INTERVAL_DAYS)

# 500 points is about one per pixel column of a chart; a full daily history (~6,200 days) becomes
# buckets of 13 days.
MAX_POINTS_DEFAULT = 500
MAX_POINTS_LIMIT = 10_000

Point = tuple[date, float | None]


def parse_interval(text: str) -> str:
    """`text` if it is in the vocabulary, else a UsageError listing the choices."""
    if text not in INTERVAL_DAYS:
        raise UsageError(f"unknown interval {text!r}", "use one of: " + ", ".join(INTERVALS))
    return text


def window_start(interval: str, end: date) -> date | None:
    """First day of `interval` ending on `end` (inclusive); None for the whole history."""
    days = INTERVAL_DAYS[parse_interval(interval)]
    return None if days is None else end - timedelta(days=days - 1)


def parse_max_points(value: int) -> int:
    if not 2 <= value <= MAX_POINTS_LIMIT:
        raise UsageError(f"max_points must be between 2 and {MAX_POINTS_LIMIT}", "e.g. max_points=500")
    return value


def downsample(points: list[Point], max_points: int = MAX_POINTS_DEFAULT) -> tuple[list[Point], int]:
    """At most `max_points` points: the mean of each run of `step` consecutive days, dated by the
    run's first day (gaps ignored; a run of gaps stays a gap). Returns (points, step_days)."""
    if len(points) <= max_points:
        return points, 1
    step = math.ceil(len(points) / max_points)
    out: list[Point] = []
    for i in range(0, len(points), step):
        chunk = points[i:i + step]
        values = [v for _, v in chunk if v is not None]
        out.append((chunk[0][0], sum(values) / len(values) if values else None))
    return out, step
