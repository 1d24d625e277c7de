"""Any registered metric as a daily series over an interval, with the records users ask about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.errors import StoreError, UsageError
from minerwatch.metrics import registry, series_stats
from minerwatch.metrics.registry import in_words as in_words, label as label  # re-exported: the words pages show
from minerwatch.metrics.miner_questions import check_cohort as check_cohort  # re-exported: pages check a cohort before sending their frame
from minerwatch.metrics.lake_entities import is_entity
from minerwatch.queries.entities import LakeSource, lake_source
from minerwatch.queries.intervals import MAX_POINTS_DEFAULT, Point, downsample, parse_interval, window_start


@dataclass(frozen=True, slots=True)
class MetricInfo:
    name: str
    unit: str
    definition: str
    family: str
    cohort: bool
    label: str = ""               # the name a person reads (the dashboard shows it; the id stays here)
    short_unit: str = ""          # the unit as written after a number ("" for difficulty, ratios)


# (day, value) of a latest value or a record: the network metrics' own type, so that every interface
# agrees on ties (earliest day) and gaps (skipped).
Extreme = series_stats.Point


@dataclass(frozen=True, slots=True)
class Series:
    """A metric's points within an interval, downsampled, plus all-history records."""

    info: MetricInfo
    interval: str
    cohort: str | None
    points: list[Point]           # after downsampling
    step_days: int                # days per point (1 = not downsampled)
    raw_point_count: int          # days in the window before downsampling
    latest: Extreme | None        # last non-gap value of the whole history
    record_low: Extreme | None    # over the whole history, not just the window
    record_high: Extreme | None
    warnings: tuple[str, ...] = ()  # values in the window that the stored blocks cannot fully back
    # A miner entity's series (entity:<id>) comes from imported lake results, not this database's own
    # sync: which lake, engine and version computed it, and when it was imported. None otherwise.
    source: LakeSource | None = None


def catalog() -> list[MetricInfo]:
    """Every registered metric, sorted by family then name."""
    metrics = registry.load_all()
    infos = [MetricInfo(m.name, m.unit, m.definition, m.family, m.cohort, m.label, m.short_unit) for m in metrics.values()]
    return sorted(infos, key=lambda i: (i.family, i.name))


def has_metric(name: str) -> bool:
    return name in registry.load_all()


# A page reads the same series several times (figure, chart, signal). While a reader keeps one
# read-only connection open on an unchanging file, each series is computed once: `remember(con)`
# turns this on for that connection; any other connection (or `forget()`) clears it.
_memo: dict[tuple[str, str], list[Point]] = {}
_memo_con: list[duckdb.DuckDBPyConnection] = []


def remember(con: duckdb.DuckDBPyConnection) -> None:
    """Memoize full histories read on `con` (read-only, file unchanged) until `forget()`."""
    if not _memo_con or _memo_con[0] is not con:
        forget()
        _memo_con.append(con)


def forget() -> None:
    _memo.clear()
    _memo_con.clear()


def full_history(con: duckdb.DuckDBPyConnection, name: str, cohort: str = "0hop") -> list[Point]:
    """Every stored day of metric `name`, oldest first (gaps as None)."""
    memo = bool(_memo_con) and _memo_con[0] is con
    if memo and (name, cohort) in _memo:
        return _memo[(name, cohort)]
    points = _compute_history(con, name, cohort)
    if memo:
        _memo[(name, cohort)] = points
    return points


def _compute_history(con: duckdb.DuckDBPyConnection, name: str, cohort: str) -> list[Point]:
    registry.get(name)            # an unknown name is the caller's error, with close names in the hint
    r = registry.read(con, name, registry.Query(None, None, cohort))
    if r.unavailable:
        # The metric's table is not there yet: the database predates it or was never refreshed.
        raise StoreError(f"metric {name} has no data in this database", "run `minerwatch sync` to compute it")
    return r.points


def _extremes(points: list[Point]) -> tuple[Extreme | None, Extreme | None, Extreme | None]:
    """(latest, lowest, highest) non-gap values; ties go to the earliest day."""
    return series_stats.latest(points), series_stats.record_low(points), series_stats.record_high(points)


def window(points: list[Point], interval: str, end: date | None) -> list[Point]:
    """The points of `interval` ending on `end` (default: the series' last day)."""
    if not points:
        return []
    last = end or points[-1][0]
    start = window_start(interval, last)
    return [p for p in points if (start is None or p[0] >= start) and p[0] <= last]


def read_series(con: duckdb.DuckDBPyConnection, name: str, interval: str = "1y", cohort: str | None = None,
                max_points: int = MAX_POINTS_DEFAULT, end: date | None = None) -> Series:
    """Metric `name` over `interval` ending on `end` (default: its last day), downsampled to at most
    `max_points`, with its all-history latest value and records."""
    parse_interval(interval)
    metric = registry.get(name)
    if cohort is not None and not metric.cohort:
        raise UsageError(f"metric {name} has no cohorts", "drop the cohort parameter")
    effective_cohort = (cohort or "0hop") if metric.cohort else None
    if effective_cohort is not None:
        # A pool or label nobody matches sums to zeros, which reads as "they hold nothing": refuse it.
        check_cohort(con, effective_cohort)
    points = full_history(con, name, effective_cohort or "0hop")
    latest, low, high = _extremes(points)
    in_window = window(points, interval, end)
    sampled, step = downsample(in_window, max_points)
    info = MetricInfo(metric.name, metric.unit, metric.definition, metric.family, metric.cohort,
                      metric.label, metric.short_unit)
    warnings = registry.warnings_for(con, metric, in_window[0][0], in_window[-1][0]) if in_window else ()
    source = lake_source(con) if effective_cohort is not None and is_entity(effective_cohort) else None
    return Series(info, interval, effective_cohort, sampled, step, len(in_window), latest, low, high, warnings,
                  source)


def change_pct(points: list[Point], days: int) -> float | None:
    """Percent change of the latest value over `days` days (None without data on both ends)."""
    move = series_stats.change_over_days(points, days)
    return None if move is None or move.change_pct != move.change_pct else move.change_pct
