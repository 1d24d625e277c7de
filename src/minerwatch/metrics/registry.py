"""The catalogue of named series that `minerwatch metrics`, the API and the dashboard read.

A metric module declares each series once with @metric; docs/metrics.md must define every name
(tests/test_metrics_documented.py fails otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from minerwatch.errors import StoreError, UsageError
from minerwatch.metrics.history import History, lacking_warning


@dataclass(frozen=True, slots=True)
class Query:
    """What a caller asks of a series: a date range and, for cohort series, which cohort."""

    start: date | None = None
    end: date | None = None
    cohort: str = "0hop"          # 0hop | 1hop | pool:<slug> | label:<entity>


# A series function returns rows of (UTC day, value); None marks a gap (e.g. no price that day).
SeriesFn = Callable[[duckdb.DuckDBPyConnection, Query], list[tuple[date, float | None]]]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    unit: str
    definition: str               # one sentence; the full formula lives in docs/metrics.md
    family: str
    fn: SeriesFn
    cohort: bool = False          # True if the series depends on Query.cohort
    history: History | None = None  # what an estimator reads before each value (None: the day alone)


METRICS: dict[str, Metric] = {}


def metric(name: str, unit: str, definition: str, family: str, cohort: bool = False,
           history: History | None = None) -> Callable[[SeriesFn], SeriesFn]:
    """Register a daily series under `name`."""

    def register(fn: SeriesFn) -> SeriesFn:
        if name in METRICS:
            raise ValueError(f"metric {name} registered twice")
        METRICS[name] = Metric(name, unit, definition, family, fn, cohort, history)
        return fn

    return register


# ---- the one reader ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Read:
    """A series as every interface reads it: its days, why it has no value, what the database lacks."""

    name: str
    unit: str
    definition: str
    points: list[tuple[date, float | None]]     # every stored day in the range, oldest first; None = gap
    missing: str | None = None                  # why there is no value at all
    unavailable: bool = False                   # the series, or its table, is not in this database
    warnings: tuple[str, ...] = ()              # values the stored blocks cannot fully back

    @property
    def values(self) -> list[tuple[date, float]]:
        """The points that are not gaps."""
        return [(d, v) for d, v in self.points if v is not None]


def read(con: duckdb.DuckDBPyConnection, name: str, q: Query = Query()) -> Read:
    """Metric `name` over `q`: never an error for a series that is not there (unknown here, or its
    table not built: `missing` says so and `unavailable` is set); a bad cohort is a UsageError."""
    metrics = load_all()
    if name not in metrics:
        return Read(name, "", "", [], f"the series {name} is not available in this version of minerwatch", True)
    m = metrics[name]
    try:
        rows = m.fn(con, q)
    except (duckdb.Error, StoreError):
        # The metric exists but its table was never built here (a database not synced that far).
        return Read(name, m.unit, m.definition, [], f"no data for {name} in this database (run `minerwatch sync`)",
                    True)
    points = sorted(((_day(d), None if v is None else float(v)) for d, v in rows
                     if (q.end is None or _day(d) <= q.end) and (q.start is None or _day(d) >= q.start)),
                    key=lambda p: p[0])
    missing = None
    if not any(v is not None for _, v in points):
        # The table is there but holds no value yet (e.g. no price before 2010): not a sync problem.
        missing = f"no data for {name}" + (f" up to {q.end}" if q.end else "")
    warning = lacking_warning(con, name, m.history, q.start, q.end) if m.history and points else None
    return Read(name, m.unit, m.definition, points, missing, False, (warning,) if warning else ())


def _day(d: object) -> date:
    if isinstance(d, datetime):
        return d.date()
    if isinstance(d, date):
        return d
    return date.fromisoformat(str(d)[:10])


# Incremental upkeep of derived tables: fn(con, from_height) recomputes everything that depends on
# blocks at height ≥ from_height (a new batch, or the fork point of a reorg), nothing earlier.
RefreshFn = Callable[[duckdb.DuckDBPyConnection, int], None]
REFRESHERS: list[tuple[int, str, RefreshFn]] = []


def refresher(order: int) -> Callable[[RefreshFn], RefreshFn]:
    """Register a derived-table refresher; lower `order` runs first (prices 10, network 20,
    revenue/hashprice 30, miner flows 40, signals 50, economics 60)."""

    def register(fn: RefreshFn) -> RefreshFn:
        REFRESHERS.append((order, f"{fn.__module__}.{fn.__name__}", fn))
        return fn

    return register


def refresh_all(con: duckdb.DuckDBPyConnection, from_height: int) -> None:
    """Bring every derived table up to date with the blocks table, from `from_height` on."""
    load_all()
    seen: set[str] = set()
    for _, key, fn in sorted(REFRESHERS, key=lambda r: (r[0], r[1])):
        if key not in seen:
            seen.add(key)
            fn(con, from_height)


def load_all() -> dict[str, Metric]:
    """Import every metric module so that all series are registered."""
    import importlib
    import pkgutil

    import minerwatch.metrics as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "registry":
            importlib.import_module(f"minerwatch.metrics.{info.name}")
    return METRICS


def get(name: str) -> Metric:
    """The metric called `name`, or a UsageError listing close names."""
    metrics = load_all()
    if name not in metrics:
        close = [m for m in metrics if name.split("_")[0] in m][:8]
        raise UsageError(f"no metric named {name!r}",
                         "run `minerwatch metrics --list`" + (f"; did you mean: {', '.join(close)}" if close else ""))
    return metrics[name]


def rows_as_dicts(rows: list[tuple[date, float | None]]) -> list[dict[str, Any]]:
    return [{"date": d.isoformat(), "value": v} for d, v in rows]
