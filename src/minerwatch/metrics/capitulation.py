"""Capitulation watch: six stress signals read from other metrics by name, one state, and a backtest.

Each signal reads one registered series (never a table), so a series that is not built yet, or has
no data in this database, shows as missing instead of as calm.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from minerwatch.economics.surface import DEFAULT_MIX, MixClass, median_breakeven_hashprice
from minerwatch.metrics.registry import Query, metric, read

MPI_HEAVY_SELLING = 2.0            # CryptoQuant: an MPI above 2 reads as heavy miner selling
RESERVE_NEAR_LOW_PCT = 1.0         # within 1 % of the lowest reserve of the trailing year
RESERVE_WINDOW_DAYS = 365
RIBBON_COMPRESSED = 0.02           # difficulty ribbon: stddev / mean of its seven averages ≤ 2 %
EPISODE_MERGE_DAYS = 7             # capitulation runs fewer than 7 days apart are one episode

Series = list[tuple[date, float | None]]


@dataclass(frozen=True, slots=True)
class SignalDef:
    name: str
    series: str                    # the metric the signal reads
    threshold: float
    rule: str                      # human sentence: when the signal is on
    test: Callable[[float, float], bool]   # (value, threshold) → on


def _signal_defs(mix: tuple[MixClass, ...]) -> tuple[SignalDef, ...]:
    return (
        SignalDef("hash_ribbons", "hash_ribbon_spread_pct", 0.0,
                  "30-day hashrate average below the 60-day (spread < 0 %)", lambda v, t: v < t),
        SignalDef("miner_position_index", "mpi", MPI_HEAVY_SELLING,
                  "Miner Position Index above 2 (outflow USD > 2 × its 365-day average)", lambda v, t: v > t),
        SignalDef("reserve_near_record_low", "miner_reserve_btc", RESERVE_NEAR_LOW_PCT,
                  f"0-hop miner reserve within {RESERVE_NEAR_LOW_PCT:g} % of its lowest of the last 365 days",
                  lambda v, t: v <= t),
        SignalDef("hashprice_below_breakeven", "hashprice_usd_per_ph_day", median_breakeven_hashprice(mix),
                  "hashprice below the energy breakeven of the median unit of network hashrate (fleet mix)",
                  lambda v, t: v < t),
        SignalDef("negative_retarget_forecast", "retarget_forecast_pct", 0.0,
                  "next difficulty adjustment forecast below 0 %", lambda v, t: v < t),
        SignalDef("difficulty_ribbon_compressed", "difficulty_ribbon_compression", RIBBON_COMPRESSED,
                  "difficulty ribbon compressed: stddev / mean of its 14…200-day averages ≤ 2 %",
                  lambda v, t: v <= t),
    )


@dataclass(frozen=True, slots=True)
class SignalState:
    """One signal on the as-of day: its value, threshold, and since when it has been on (or off)."""

    name: str
    series: str
    rule: str
    on: bool | None                # None: missing
    value: float | None            # for the reserve: percent above its lowest of the trailing 365 days
    threshold: float
    day: date | None               # the day the value is from (the last day ≤ as-of with data)
    since: date | None             # first day of the current on/off run
    missing: str | None            # why there is no value


@dataclass(frozen=True, slots=True)
class CapitulationState:
    state: str                     # capitulation | watch | calm | unknown
    as_of: date | None
    signals_on: int
    signals_with_data: int
    signals: tuple[SignalState, ...]


@dataclass(frozen=True, slots=True)
class Episode:
    start: date
    end: date
    days: int                      # days in capitulation state within [start, end]
    max_signals_on: int


def _reserve_distance(points: Series) -> Series:
    """Percent above the lowest reserve of the trailing 365 days (today included); None until the
    window is covered. Not the all-time low: the 0-hop reserve's all-time low is its first day
    (50 BTC on 2009-01-03), so an all-time record could never be near."""
    out: Series = []
    window: deque[tuple[date, float]] = deque()     # increasing values: the front is the window's low
    first = points[0][0] if points else None
    for d, v in points:
        if v is None:
            out.append((d, None))
            continue
        while window and window[-1][1] >= v:
            window.pop()
        window.append((d, v))
        while (d - window[0][0]).days >= RESERVE_WINDOW_DAYS:
            window.popleft()
        low = window[0][1]
        enough = first is not None and (d - first).days >= RESERVE_WINDOW_DAYS
        out.append((d, (v / low - 1) * 100 if enough and low > 0 else None))
    return out


def _flags(defn: SignalDef, points: Series) -> list[tuple[date, bool, float]]:
    return [(d, defn.test(v, defn.threshold), v) for d, v in points if v is not None]


def _daily_flags(con: duckdb.DuckDBPyConnection, end: date | None, mix: tuple[MixClass, ...]
                 ) -> list[tuple[SignalDef, list[tuple[date, bool, float]], str | None]]:
    out = []
    for defn in _signal_defs(mix):
        r = read(con, defn.series, Query(None, end))
        pts, missing = ([], r.missing) if r.missing else (r.points, None)
        if defn.name == "reserve_near_record_low":
            pts = _reserve_distance(pts)
            if not missing and not any(v is not None for _, v in pts):
                missing = f"less than {RESERVE_WINDOW_DAYS} days of miner_reserve_btc history"
        out.append((defn, _flags(defn, pts), missing))
    return out


def _since(flags: list[tuple[date, bool, float]]) -> date:
    last = flags[-1][1]
    since = flags[-1][0]
    for d, on, _ in reversed(flags):
        if on != last:
            break
        since = d
    return since


def _state(on: int, with_data: int, ribbon_on: bool) -> str:
    """capitulation: hash ribbons on and at least one more signal on; watch: any signal on; calm: none."""
    if with_data == 0:
        return "unknown"
    if ribbon_on and on >= 2:
        return "capitulation"
    return "watch" if on else "calm"


def capitulation_state(con: duckdb.DuckDBPyConnection, as_of: date | None = None,
                       mix: tuple[MixClass, ...] = DEFAULT_MIX) -> CapitulationState:
    """Every signal at its last day ≤ `as_of` (default: latest), and the state they add up to."""
    signals: list[SignalState] = []
    for defn, flags, missing in _daily_flags(con, as_of, mix):
        if not flags:
            signals.append(SignalState(defn.name, defn.series, defn.rule, None, None, defn.threshold, None, None,
                                       missing or f"not enough {defn.series} history for this signal"))
            continue
        d, on, v = flags[-1]
        signals.append(SignalState(defn.name, defn.series, defn.rule, on, v, defn.threshold, d, _since(flags), None))
    n_on = sum(1 for s in signals if s.on)
    with_data = sum(1 for s in signals if s.on is not None)
    days = [s.day for s in signals if s.day is not None]
    return CapitulationState(_state(n_on, with_data, bool(signals[0].on)), max(days) if days else None, n_on,
                             with_data, tuple(signals))


def daily_states(con: duckdb.DuckDBPyConnection, end: date | None = None,
                 mix: tuple[MixClass, ...] = DEFAULT_MIX) -> list[tuple[date, str, int]]:
    """(day, state, signals on) for every day on which at least one signal has a value."""
    per_day: dict[date, dict[str, bool]] = {}
    for defn, flags, _ in _daily_flags(con, end, mix):
        for d, on, _v in flags:
            per_day.setdefault(d, {})[defn.name] = on
    out = []
    for d in sorted(per_day):
        today = per_day[d]
        n_on = sum(today.values())
        out.append((d, _state(n_on, len(today), today.get("hash_ribbons", False)), n_on))
    return out


def episodes(states: list[tuple[date, str, int]]) -> list[Episode]:
    """Past capitulation episodes: runs of capitulation days, merging runs < 7 days apart."""
    out: list[Episode] = []
    for d, state, n_on in states:
        if state != "capitulation":
            continue
        if out and (d - out[-1].end) < timedelta(days=EPISODE_MERGE_DAYS):
            last = out[-1]
            out[-1] = Episode(last.start, d, last.days + 1, max(last.max_signals_on, n_on))
        else:
            out.append(Episode(d, d, 1, n_on))
    return out


@metric("capitulation_signals_on", "count",
        "number of capitulation-watch signals on that day (of six: hash ribbons, MPI, reserve near low, "
        "hashprice below median breakeven, negative retarget forecast, difficulty-ribbon compression)",
        "signals")
def capitulation_signals_on(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return [(d, float(n)) for d, _, n in daily_states(con, q.end) if q.start is None or d >= q.start]
