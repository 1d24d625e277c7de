"""Capitulation watch: six stress signals read from other metrics by name, one state, and a backtest.

Each signal reads one registered series (never a table), so a series that is not built yet, or has
no data in this database, shows as missing instead of as calm; one that needs history it does not
have yet says until when it warms up.

The rules (`judge`, `states`, `episodes`) take series, not a database: the same rules run on the
daily series of a synced database and on the period-level series of the whole mainnet history
(metrics/capitulation_history.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from minerwatch.economics.network_efficiency import BreakevenModel, breakeven_model
from minerwatch.errors import StoreError
from minerwatch.metrics.registry import Query, metric, read
from minerwatch.metrics.signals import RibbonDay, hash_ribbon_days, hash_ribbon_signals

MPI_HEAVY_SELLING = 2.0            # CryptoQuant: an MPI above 2 reads as heavy miner selling
RESERVE_NEAR_LOW_PCT = 1.0         # within 1 % of the lowest reserve of the trailing year
RESERVE_WINDOW_DAYS = 365
RIBBON_COMPRESSED = 0.02           # difficulty ribbon: stddev / mean of its seven averages ≤ 2 %
EPISODE_MERGE_DAYS = 7             # capitulation runs fewer than 7 days apart are one episode

# Families: signals that measure the same thing count once. The hash ribbons, the retarget forecast
# and the difficulty ribbon all read block arrivals (a retarget is set by the last 2,016 arrivals,
# the ribbon averages those retargets), so together they are one piece of evidence, not three.
BLOCK_ARRIVALS = "block arrivals"
MINER_COINS = "miner coins"        # MPI and the reserve both read the 0-hop cohort's outflows
REVENUE = "revenue"

Series = list[tuple[date, float | None]]
Flag = tuple[date, bool, float, float]          # day, on, value, threshold that day


@dataclass(frozen=True, slots=True)
class SignalDef:
    name: str
    series: str                    # the metric the signal reads
    family: str                    # signals of one family count once
    unit: str                      # of value and threshold, as people write it
    rule: str                      # human sentence: when the signal is on
    test: Callable[[float, float], bool]            # (value, threshold) → on
    threshold: Callable[[date], float | None]       # the line on a day; None: no line yet that day
    warmup: tuple[str, int] | None = None           # (series whose first day starts the clock, days to wait)
    shown: Callable[[float], float] = lambda v: v   # value → the number people read in `unit`


def _const(x: float) -> Callable[[date], float]:
    return lambda _d: x


def signal_defs(model: BreakevenModel) -> tuple[SignalDef, ...]:
    """The six signals; the hashprice line is `model`'s median machine on each day."""
    def breakeven_on(d: date) -> float | None:
        m = model.at(d)
        return m.breakeven_hashprice_usd_per_ph_day if m is not None else None

    return (
        # Charles Edwards, "Hash Ribbons & Bitcoin Bottoms", Capriole Investments, 2019: capitulation
        # from the day the 30-day hashrate average crosses below the 60-day until it crosses back
        # above. He sets no minimum gap, so neither does this: 0 is the crossing itself.
        SignalDef("hash_ribbons", "hash_ribbon_spread_pct", BLOCK_ARRIVALS, "%",
                  "30-day hashrate average below the 60-day (hash ribbons, Edwards 2019: from the cross "
                  "below to the cross back above)", lambda v, t: v < t, _const(0.0), ("hashrate_ehs", 59)),
        SignalDef("miner_position_index", "mpi", MINER_COINS, "× its 365-day average",
                  "Miner Position Index above 2 (outflow USD > 2 × its 365-day average)", lambda v, t: v > t,
                  _const(MPI_HEAVY_SELLING), ("miner_outflow_usd", 364)),
        SignalDef("reserve_near_record_low", "miner_reserve_btc", MINER_COINS, "% above its 365-day low",
                  f"0-hop miner reserve within {RESERVE_NEAR_LOW_PCT:g} % of its lowest of the last 365 days",
                  lambda v, t: v <= t, _const(RESERVE_NEAR_LOW_PCT), ("miner_reserve_btc", RESERVE_WINDOW_DAYS)),
        SignalDef("hashprice_below_breakeven", "hashprice_usd_per_ph_day", REVENUE, "USD/PH/day",
                  "hashprice below the energy breakeven of the network's median machine that day "
                  + (f"(ASIC catalog, adoption lag {model.adoption_lag_months} months, "
                     f"{model.power_usd_per_kwh:g} USD/kWh)" if model.mix is None else "(the given fleet mix)"),
                  lambda v, t: v < t, breakeven_on),
        SignalDef("negative_retarget_forecast", "retarget_forecast_pct", BLOCK_ARRIVALS, "%",
                  "next difficulty adjustment forecast below 0 %", lambda v, t: v < t, _const(0.0)),
        SignalDef("difficulty_ribbon_compressed", "difficulty_ribbon_compression", BLOCK_ARRIVALS, "%",
                  "difficulty ribbon compressed: stddev / mean of its 14…200-day averages ≤ 2 %",
                  lambda v, t: v <= t, _const(RIBBON_COMPRESSED), ("difficulty", 199), lambda v: v * 100),
    )


@dataclass(frozen=True, slots=True)
class SignalState:
    """One signal on the as-of day: its value, threshold, and since when it has been on (or off)."""

    name: str
    series: str
    family: str
    rule: str
    unit: str                      # of `value` and `threshold`
    on: bool | None                # None: missing or warming up
    value: float | None            # for the reserve: percent above its lowest of the trailing 365 days
    threshold: float | None        # the line on `day` (the hashprice's moves with the median machine)
    day: date | None               # the day the value is from (the last day ≤ as-of with data)
    since: date | None             # first day of the current on/off run
    warming_up_until: date | None  # the signal needs more history: its first value comes on this day
    basis: str | None              # what the threshold stands for (the hashprice's median machine)
    missing: str | None            # why there is no value


@dataclass(frozen=True, slots=True)
class RibbonDates:
    """The hash ribbons' latest dates on or before the as-of day (Edwards: capitulation, recovery,
    then the buy once the 10-day price average is above the 20-day); None: not yet."""

    capitulation: date | None = None
    recovery: date | None = None
    buy: date | None = None
    day: date | None = None                # the averages' last day
    sma30_ehs: float | None = None
    sma60_ehs: float | None = None


@dataclass(frozen=True, slots=True)
class CapitulationState:
    state: str                     # capitulation | watch | calm | unknown
    as_of: date | None
    signals_on: int                # families with a signal on: one family counts once
    signals_with_data: int         # families with a signal that has data
    signals: tuple[SignalState, ...]
    hash_ribbons: RibbonDates = RibbonDates()


def ribbon_dates(days: list[RibbonDay]) -> RibbonDates:
    """The last capitulation, recovery and buy of the ribbons, and their last averages."""
    last = {e.kind: e.day for e in hash_ribbon_signals(days)}
    end = days[-1] if days else None
    return RibbonDates(last.get("capitulation"), last.get("recovery"), last.get("buy"),
                       end.day if end else None, end.sma30_ehs if end else None, end.sma60_ehs if end else None)


@dataclass(frozen=True, slots=True)
class Episode:
    start: date
    end: date
    days: int                      # days in capitulation within [start, end]
    max_signals_on: int

    @property
    def span_days(self) -> int:
        return (self.end - self.start).days + 1


def reserve_distance(points: Series) -> Series:
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


def flags(defn: SignalDef, points: Series) -> list[Flag]:
    """(day, on, value, threshold) for every day with a value and a threshold."""
    out: list[Flag] = []
    for d, v in points:
        if v is None:
            continue
        t = defn.threshold(d)
        if t is not None:
            out.append((d, defn.test(v, t), v, t))
    return out


@dataclass(frozen=True, slots=True)
class Judged:
    """One signal's flags over the whole history read, or why it has none."""

    defn: SignalDef
    flags: list[Flag]
    missing: str | None
    warming_up_until: date | None


def judge(defs: tuple[SignalDef, ...], series: Mapping[str, tuple[Series, str | None]],
          first_days: Mapping[str, date | None], model: BreakevenModel) -> list[Judged]:
    """Every signal's flags from its series (`series[name] = (points, missing)`); `first_days` gives
    the first day of each warm-up base series, for a signal that has no value yet."""
    out: list[Judged] = []
    for defn in defs:
        pts, missing = series.get(defn.series, ([], f"no data for {defn.series}"))
        if defn.name == "reserve_near_record_low":
            pts = reserve_distance(pts)
        fl = [] if missing else flags(defn, pts)
        warm: date | None = None
        if not fl and defn.warmup is not None:
            # No value yet while the history it needs is there only in part: warming up, not missing.
            base = first_days.get(defn.warmup[0])
            warm = base + timedelta(days=defn.warmup[1]) if base is not None else None
        if not fl and not missing and defn.family == REVENUE and any(v is not None for _, v in pts):
            warm = model.first_day()        # hashprice days before the first median machine
        if not fl and missing is None and warm is None:
            missing = f"not enough {defn.series} history for this signal"
        out.append(Judged(defn, fl, missing, warm))
    return out


def _since(fl: list[Flag]) -> date:
    last = fl[-1][1]
    since = fl[-1][0]
    for d, on, _, _ in reversed(fl):
        if on != last:
            break
        since = d
    return since


def state_of(families_on: set[str], families_with_data: set[str], ribbon_on: bool) -> str:
    """capitulation: the hash ribbons on and a signal of another family on (the ribbons are the
    established capitulation signal; evidence from outside block arrivals keeps a month of noisy
    arrivals from calling it alone); watch: any signal on; calm: none; unknown: no data."""
    if not families_with_data:
        return "unknown"
    if ribbon_on and families_on - {BLOCK_ARRIVALS}:
        return "capitulation"
    return "watch" if families_on else "calm"


def state_at(judged: list[Judged], as_of: date | None, model: BreakevenModel) -> CapitulationState:
    """Every signal at its last day ≤ `as_of` (flags already cut there) and the state they add up to."""
    signals: list[SignalState] = []
    for j in judged:
        d = j.defn
        basis = None
        if d.family == REVENUE and model.mix is None:
            m = model.at(j.flags[-1][0] if j.flags else (as_of or date.today()))
            basis = m.describe() if m is not None else None
        if not j.flags:
            warm = j.warming_up_until
            signals.append(SignalState(d.name, d.series, d.family, d.rule, d.unit, None, None, None, None, None,
                                       warm, basis, None if warm else j.missing))
            continue
        day, on, v, t = j.flags[-1]
        signals.append(SignalState(d.name, d.series, d.family, d.rule, d.unit, on, d.shown(v), d.shown(t), day,
                                   _since(j.flags), None, basis, None))
    fam_on = {s.family for s in signals if s.on}
    fam_data = {s.family for s in signals if s.on is not None}
    days = [s.day for s in signals if s.day is not None]
    return CapitulationState(state_of(fam_on, fam_data, bool(signals[0].on)), max(days) if days else None,
                             len(fam_on), len(fam_data), tuple(signals))


def states(judged: list[Judged]) -> list[tuple[date, str, int]]:
    """(day, state, families on) for every day on which at least one signal has a value."""
    per_day: dict[date, dict[str, tuple[str, bool]]] = {}
    for j in judged:
        for d, on, _v, _t in j.flags:
            per_day.setdefault(d, {})[j.defn.name] = (j.defn.family, on)
    out = []
    for d in sorted(per_day):
        today = per_day[d]
        fam_on = {f for f, on in today.values() if on}
        ribbon_on = today.get("hash_ribbons", ("", False))[1]
        out.append((d, state_of(fam_on, {f for f, _ in today.values()}, ribbon_on), len(fam_on)))
    return out


def episodes(states_: list[tuple[date, str, int]]) -> list[Episode]:
    """Past capitulation episodes: runs of observations in capitulation, merging runs < 7 days
    apart. An observation stands for the days since the one before it (one day in a daily series, a
    difficulty period in a period-level one), so an episode starts the day after the last
    observation that was not in capitulation."""
    out: list[Episode] = []
    prev: date | None = None
    prev_in = False
    for d, state, n_on in states_:
        start = prev + timedelta(days=1) if prev is not None else d
        prev = d
        was_in, prev_in = prev_in, state == "capitulation"
        if state != "capitulation":
            continue
        covered = (d - start).days + 1
        if out and (was_in or (start - out[-1].end) < timedelta(days=EPISODE_MERGE_DAYS)):
            last = out[-1]
            out[-1] = Episode(last.start, d, last.days + covered, max(last.max_signals_on, n_on))
        else:
            out.append(Episode(start, d, covered, n_on))
    return out


# ---- on a database ------------------------------------------------------------------------------

def _judge_db(con: duckdb.DuckDBPyConnection, end: date | None, model: BreakevenModel) -> list[Judged]:
    defs = signal_defs(model)
    series: dict[str, tuple[Series, str | None]] = {}
    first_days: dict[str, date | None] = {}
    for defn in defs:
        r = read(con, defn.series, Query(None, end))
        series[defn.series] = ([], r.missing) if r.missing else (r.points, None)
    for defn in defs:
        if defn.warmup is None or defn.warmup[0] in first_days:
            continue
        pts = series[defn.series][0]
        if defn.warmup[0] == defn.series:
            first_days[defn.series] = next((d for d, v in pts if v is not None), None)
        elif not any(v is not None for _, v in pts):
            # Only a signal with no value yet needs its base series: when did that history begin?
            b = read(con, defn.warmup[0], Query(None, end))
            first_days[defn.warmup[0]] = None if b.missing else next((d for d, v in b.points if v is not None), None)
    return judge(defs, series, first_days, model)


def capitulation_state(con: duckdb.DuckDBPyConnection, as_of: date | None = None,
                       model: BreakevenModel | None = None) -> CapitulationState:
    """Every signal at its last day ≤ `as_of` (default: latest), and the state they add up to."""
    model = model or breakeven_model()
    st = state_at(_judge_db(con, as_of, model), as_of, model)
    try:
        days = hash_ribbon_days(con, Query(None, as_of))
    except (duckdb.Error, StoreError):
        return st          # no daily network table in this database: no ribbon dates
    return CapitulationState(st.state, st.as_of, st.signals_on, st.signals_with_data, st.signals,
                             ribbon_dates(days))


def daily_states(con: duckdb.DuckDBPyConnection, end: date | None = None,
                 model: BreakevenModel | None = None) -> list[tuple[date, str, int]]:
    """(day, state, families on) for every day on which at least one signal has a value."""
    return states(_judge_db(con, end, model or breakeven_model()))


@metric("capitulation_signals_on", "count",
        "number of capitulation-watch signals on that day, a family counting once (block arrivals: hash "
        "ribbons, retarget forecast, difficulty ribbon; miner coins: MPI, reserve near low; revenue: hashprice "
        "below the median machine's breakeven)", "signals")
def capitulation_signals_on(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return [(d, float(n)) for d, _, n in daily_states(con, q.end) if q.start is None or d >= q.start]
