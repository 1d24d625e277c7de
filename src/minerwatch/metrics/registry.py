"""The catalogue of named series that `minerwatch metrics`, the API and the dashboard read.

A metric module declares each series once with @metric; docs/metrics.md must define every name
(tests/test_metrics_documented.py fails otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from minerwatch.errors import StoreError, UsageError
from minerwatch.metrics.coverage import start_warning, usd_warning
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

    @property
    def label(self) -> str:
        """The series' name as a person reads it (the id stays in the API, the CLI and tooltips)."""
        return LABELS.get(self.name, self.name)

    @property
    def short_unit(self) -> str:
        """The unit as written after a number ("" for a pure number such as difficulty or a ratio)."""
        return SHORT_UNITS.get(self.unit, self.unit)


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
    return Read(name, m.unit, m.definition, points, missing, False,
                warnings_for(con, m, q.start, q.end) if points else ())


def warnings_for(con: duckdb.DuckDBPyConnection, m: Metric, start: date | None, end: date | None) -> tuple[str, ...]:
    """What every reader says beside the values of `m` in [start, end]: an estimator whose window
    reaches below the first stored height, a series that cannot start at genesis here (a pruned
    node), USD figures whose prices stop before the chain."""
    found = (lacking_warning(con, m.name, m.history, start, end) if m.history else None,
             start_warning(con, m.name, m.family), usd_warning(con, m.unit, end))
    return tuple(w for w in found if w)


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


# ---- words for people -------------------------------------------------------------------------
# Every registered series has a name here (tests/test_metric_labels.py fails otherwise): the
# dashboard, the charts' text alternatives and the figures show these, never the ids.
LABELS: dict[str, str] = {
    "capitulation_signals_on": "Capitulation signals on",
    "puell_multiple": "Puell Multiple",
    "puell_multiple_with_fees": "Puell Multiple with fees",
    "thermocap_usd": "Thermocap",
    "thermocap_with_fees_usd": "Thermocap with fees",
    "price_sma10_usd": "BTC price, 10-day average",
    "price_sma20_usd": "BTC price, 20-day average",
    "hash_ribbon_spread_pct": "Hash ribbon spread (30-day over 60-day)",
    "hashrate_ehs": "Hashrate, 1-day",
    "hashrate_ehs_7d": "Hashrate, 7-day",
    "hashrate_ehs_30d": "Hashrate, 30-day",
    "hashrate_ehs_60d": "Hashrate, 60-day",
    "hashrate_ehs_low95": "Hashrate, 1-day, 95 % low",
    "hashrate_ehs_high95": "Hashrate, 1-day, 95 % high",
    "hashrate_ehs_7d_low95": "Hashrate, 7-day, 95 % low",
    "hashrate_ehs_7d_high95": "Hashrate, 7-day, 95 % high",
    "hashrate_ehs_30d_low95": "Hashrate, 30-day, 95 % low",
    "hashrate_ehs_30d_high95": "Hashrate, 30-day, 95 % high",
    "hashrate_ehs_60d_low95": "Hashrate, 60-day, 95 % low",
    "hashrate_ehs_60d_high95": "Hashrate, 60-day, 95 % high",
    "hashrate_brk_ehs": "Hashrate, trailing 24 h (BRK)",
    "hashrate_chainwork_ehs": "Hashrate, last 120 blocks (Bitcoin Core)",
    "blocks": "Blocks per day",
    "difficulty": "Difficulty",
    "difficulty_close": "Difficulty at day's end",
    "difficulty_sma14": "Difficulty, 14-day average",
    "difficulty_sma25": "Difficulty, 25-day average",
    "difficulty_sma40": "Difficulty, 40-day average",
    "difficulty_sma60": "Difficulty, 60-day average",
    "difficulty_sma90": "Difficulty, 90-day average",
    "difficulty_sma128": "Difficulty, 128-day average",
    "difficulty_sma200": "Difficulty, 200-day average",
    "difficulty_ribbon_compression": "Difficulty ribbon compression",
    "retarget_forecast_pct": "Next difficulty adjustment forecast",
    "hashprice_usd_per_ph_day": "Hashprice",
    "hashvalue_btc_per_ph_day": "Hashvalue",
    "hashprice_usd_per_th_day": "Hashprice per TH/s",
    "hashvalue_sat_per_th_day": "Hashvalue per TH/s",
    "hashprice_brk_usd_per_ph_day": "Hashprice (BRK)",
    "hashvalue_brk_btc_per_ph_day": "Hashvalue (BRK)",
    "hashprice_cm_usd_per_ph_day": "Hashprice (Coin Metrics)",
    "hashprice_subsidy_usd_per_ph_day": "Hashprice, subsidy only",
    "hashvalue_subsidy_btc_per_ph_day": "Hashvalue, subsidy only",
    "hashvalue_cm_btc_per_ph_day": "Hashvalue (Coin Metrics)",
    "miner_reserve_btc": "Miner reserve",
    "miner_inflow_btc": "Miner inflow",
    "miner_outflow_btc": "Miner outflow",
    "miner_netflow_btc": "Miner netflow",
    "miner_internal_btc": "Moved between miners' own scripts",
    "miner_outflow_tx_count": "Outflow transactions",
    "miner_largest_outflow_btc": "Largest single outflow",
    "miner_to_exchange_btc": "Miner to exchange",
    "miner_reserve_2009_2010_btc": "Miner reserve mined 2009–2010",
    "miner_reserve_since_2011_btc": "Miner reserve mined from 2011",
    "mpi": "Miner Position Index",
    "mpi_zscore": "Miner Position Index (z-score)",
    "miner_outflow_multiple": "Miner Outflow Multiple",
    "miner_outflow_usd": "Miner outflow in USD",
    "miner_rolling_inventory": "Miner Rolling Inventory",
    "miner_supply_ratio": "Miner supply ratio",
    "pool_blocks": "Pool blocks",
    "pool_share_pct": "Pool share of blocks",
    "pool_hashrate_ehs": "Pool hashrate",
    "price_usd": "BTC price",
    "revenue_btc": "Miner revenue",
    "subsidy_btc": "Subsidy",
    "fees_btc": "Fees",
    "fees_paid_btc": "Fees paid",
    "unclaimed_btc": "Unclaimed reward",
    "revenue_usd": "Miner revenue in USD",
    "fees_usd": "Fees in USD",
    "fee_share_pct": "Fee share of revenue",
}

# A unit as written after a number: difficulty and ratios are pure numbers ("153.1 T", "1.8").
SHORT_UNITS: dict[str, str] = {"difficulty": "", "ratio": "", "count": "", "z": "σ", "transactions": "tx"}


def label(name: str) -> str:
    """The display name of series `name` (the id itself for a name not registered)."""
    return LABELS.get(name, name)


_ID = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\bmpi\b")


def in_words(text: str) -> str:
    """`text` with every registered series id in it replaced by the series' display name (for notes
    and rules written for the CLI, which name series by id)."""
    return _ID.sub(lambda m: LABELS.get(m.group(0), m.group(0)), text)
