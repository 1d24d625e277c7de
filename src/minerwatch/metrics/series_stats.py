"""Questions asked of any daily series: record low/high, drawdown from the high, rebound from the
low, change over N days, lowest since when, days below a threshold. Pure functions over the rows a
metric returns (a few thousand days: Python is fast enough and keeps the rules readable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

Rows = list[tuple[date, float | None]]


@dataclass(frozen=True, slots=True)
class Point:
    day: date
    value: float


@dataclass(frozen=True, slots=True)
class Move:
    """From an extreme (or an earlier day) to a later day."""
    start: Point
    end: Point
    change_pct: float            # (end / start − 1) × 100
    change_abs: float            # end − start, in the series' unit


@dataclass(frozen=True, slots=True)
class DaysBelow:
    threshold: float
    start: date | None
    end: date | None
    days_below: int
    days_with_data: int          # days with a value in the range: the denominator of share_pct
    share_pct: float | None
    first_day_below: date | None
    last_day_below: date | None


def _points(rows: Rows, start: date | None = None, end: date | None = None) -> list[Point]:
    return [Point(d, v) for d, v in rows
            if v is not None and (start is None or d >= start) and (end is None or d <= end)]


def _move(a: Point, b: Point) -> Move:
    pct = (b.value / a.value - 1) * 100 if a.value else float("nan")
    return Move(a, b, pct, b.value - a.value)


def record_low(rows: Rows, start: date | None = None, end: date | None = None) -> Point | None:
    """The lowest value in the range (the earliest day on a tie)."""
    pts = _points(rows, start, end)
    return min(pts, key=lambda p: (p.value, p.day)) if pts else None


def record_high(rows: Rows, start: date | None = None, end: date | None = None) -> Point | None:
    """The highest value in the range (the earliest day on a tie)."""
    pts = _points(rows, start, end)
    return min(pts, key=lambda p: (-p.value, p.day)) if pts else None


def latest(rows: Rows, as_of: date | None = None) -> Point | None:
    """The last value on or before `as_of`."""
    pts = _points(rows, None, as_of)
    return pts[-1] if pts else None


def drawdown_from_high(rows: Rows, as_of: date | None = None, start: date | None = None) -> Move | None:
    """From the record high (since `start`) to the value on `as_of`; change_pct ≤ 0."""
    now, high = latest(rows, as_of), record_high(rows, start, as_of)
    return None if now is None or high is None else _move(high, now)


def rebound_from_low(rows: Rows, as_of: date | None = None, start: date | None = None) -> Move | None:
    """From the record low (since `start`) to the value on `as_of`; change_pct ≥ 0."""
    now, low = latest(rows, as_of), record_low(rows, start, as_of)
    return None if now is None or low is None else _move(low, now)


def change_over_days(rows: Rows, days: int, as_of: date | None = None) -> Move | None:
    """From the value `days` days before `as_of` (or the last one before that) to the value on `as_of`."""
    now = latest(rows, as_of)
    if now is None:
        return None
    then = latest(rows, now.day - timedelta(days=days))
    return None if then is None else _move(then, now)


def lowest_since(rows: Rows, as_of: date | None = None) -> date | None:
    """The last day before `as_of` with a value at or below today's: 'lowest since DATE'.
    None if today's value is the lowest of the whole series (a record low)."""
    pts = _points(rows, None, as_of)
    if not pts:
        return None
    now = pts[-1]
    for p in reversed(pts[:-1]):
        if p.value <= now.value:
            return p.day
    return None


def highest_since(rows: Rows, as_of: date | None = None) -> date | None:
    """The last day before `as_of` with a value at or above today's; None for a record high."""
    pts = _points(rows, None, as_of)
    if not pts:
        return None
    now = pts[-1]
    for p in reversed(pts[:-1]):
        if p.value >= now.value:
            return p.day
    return None


def days_below(rows: Rows, threshold: float, start: date | None = None, end: date | None = None) -> DaysBelow:
    """How many days in [start, end] had a value strictly below `threshold`, and their share of the
    days that had a value (days without one are gaps, not counted either way)."""
    pts = _points(rows, start, end)
    below = [p for p in pts if p.value < threshold]
    share = 100.0 * len(below) / len(pts) if pts else None
    return DaysBelow(threshold, start, end, len(below), len(pts), share,
                     below[0].day if below else None, below[-1].day if below else None)
