"""Named daily series with hand-picked values, for tests of code that reads metrics by name.

The capitulation watch, the alerts and the brief read other metrics only through the registry, so
their tests put known values under the documented names (stored in a real DuckDB table) instead of
building a chain whose metrics happen to come out right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import duckdb
import pytest

from minerwatch.metrics import registry


def days(start: date, values: Sequence[float | None]) -> list[tuple[date, float | None]]:
    """Consecutive days from `start` carrying `values`."""
    return [(start + timedelta(days=i), v) for i, v in enumerate(values)]


def _reader(name: str) -> registry.SeriesFn:
    def fn(con: duckdb.DuckDBPyConnection, q: registry.Query) -> list[tuple[date, float | None]]:
        return con.execute(
            "SELECT day, value FROM hand_series WHERE name = ? AND day >= coalesce(?, DATE '0001-01-01') "
            "AND day <= coalesce(?, DATE '9999-12-31') ORDER BY day", [name, q.start, q.end]).fetchall()
    return fn


def install(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch,
            series: Mapping[str, Sequence[tuple[date, float | None]]]) -> None:
    """Store `series` in the table hand_series and register a reader under each name (for this test)."""
    registry.load_all()       # every real module first, so none registers late over ours
    con.execute("CREATE TABLE IF NOT EXISTS hand_series (name VARCHAR, day DATE, value DOUBLE)")
    for name, points in series.items():
        # One statement per series: DuckDB's executemany costs ~2 ms a row.
        con.execute("INSERT INTO hand_series SELECT ?, unnest(?::DATE[]), unnest(?::DOUBLE[])",
                    [name, [d for d, _ in points], [v for _, v in points]])
        old = registry.METRICS.get(name)
        monkeypatch.setitem(registry.METRICS, name, registry.Metric(
            name, old.unit if old else "x", old.definition if old else "hand-filled", old.family if old else "test",
            _reader(name)))
