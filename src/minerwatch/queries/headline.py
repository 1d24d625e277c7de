"""Today's headline figures: the latest value of each key metric, its change and its records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from minerwatch.errors import StoreError
from minerwatch.queries.series import Extreme, change_pct, full_history, has_metric
from minerwatch.metrics import registry, series_stats
from minerwatch.metrics.history import lacking_warning

# The figures the press quotes, in the order the overview shows them. Missing metrics are skipped.
HEADLINE_METRICS: tuple[str, ...] = (
    "hashprice_usd_per_ph_day", "hashvalue_btc_per_ph_day", "price_usd", "hashrate_ehs", "difficulty",
    "revenue_btc", "fees_btc", "miner_reserve_btc", "miner_outflow_btc", "puell_multiple", "mpi",
)
# "At or near a record low" means within 5 % of it, the band reporters use for "near lows".
NEAR_RECORD_PCT = 5.0


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure as every interface shows it (dashboard, API, Prometheus, the brief): what it is,
    its definition, the commands that reproduce it, and either a metric's latest value with its
    records or the brief's news sentence with the values behind it."""

    key: str                                   # the metric's name, or the brief's figure key
    title: str
    definition: str
    commands: tuple[str, ...] = ()             # `minerwatch …` commands that reproduce the figure
    unit: str = ""
    latest: Extreme | None = None              # the latest (day, value) of the metric
    change_30d_pct: float | None = None
    record_low: Extreme | None = None          # over the whole stored history
    record_high: Extreme | None = None
    sentence: str = ""                         # the news sentence, or "missing: <reason>"
    values: dict[str, object] = field(default_factory=dict)
    missing: str | None = None                 # why the figure has no value
    warnings: tuple[str, ...] = ()             # what the stored blocks cannot fully back

    @property
    def at_record_low(self) -> bool:
        return self.latest is not None and self.record_low is not None and self.latest.day == self.record_low.day

    @property
    def near_record_low(self) -> bool:
        if self.latest is None or self.record_low is None or self.record_low.value <= 0:
            return False
        return self.latest.value <= self.record_low.value * (1 + NEAR_RECORD_PCT / 100)


def figure(con: duckdb.DuckDBPyConnection, name: str) -> Figure | None:
    """The headline figure of metric `name`; None if it is not registered or has no data yet."""
    if not has_metric(name):
        return None
    try:
        points = full_history(con, name)
    except StoreError:
        return None
    last = series_stats.latest(points)
    if last is None:
        return None
    m = registry.get(name)
    warning = lacking_warning(con, name, m.history, last.day, last.day) if m.history else None
    return Figure(name, name, m.definition, (f"minerwatch metrics {name} --to {last.day}",), m.unit, last,
                  change_pct(points, 30), series_stats.record_low(points), series_stats.record_high(points),
                  warnings=(warning,) if warning else ())


def headline(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] = HEADLINE_METRICS) -> list[Figure]:
    """Figures of `names` that exist in this database, in order."""
    out = []
    for n in names:
        f = figure(con, n)
        if f is not None:
            out.append(f)
    return out


def latest_value(con: duckdb.DuckDBPyConnection, name: str) -> tuple[date, float] | None:
    f = figure(con, name)
    return None if f is None or f.latest is None else (f.latest.day, f.latest.value)
