"""The capitulation watch on the whole mainnet history, one observation per difficulty period.

No database is needed: the shipped period-start headers (data/mainnet-period-starts-0-878976.csv)
give every period's hashrate (chainwork gained / seconds between two period starts) and difficulty,
the shipped daily prices its subsidy hashprice. The series are dated at each period's end, the day
the period's last block (and so its hashrate and the next retarget) became known, and go through the
same rules as the daily series of a database (metrics/capitulation.py). Averages over N days are
time-weighted over the periods they cover: the hashrate of a period holds from its start to its end,
so a 30-day average is the work of the last 30 days over 30 days — what the daily 30-day average of
the block-count hashrate estimates. MPI and the reserve need transactions: they are missing here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from minerwatch import consensus
from minerwatch.economics.catalog import read_user_text
from minerwatch.economics.network_efficiency import BreakevenModel, breakeven_model
from minerwatch.errors import UsageError
from minerwatch.metrics import capitulation as cap
from minerwatch.metrics.prices import SHIPPED_FILE, read_price_csv
from minerwatch.metrics.signals import RIBBON_DAYS, RibbonDay, RibbonSignal, hash_ribbon_signals

SHIPPED_HEADERS = "mainnet-period-starts-0-878976.csv"
DAY_S = 86_400
# An alarm within 45 days either side of a reported capitulation's defining retarget counts as
# flagging it: the ribbons' 30-day average lags the fall by weeks, and the retarget lags it too.
EVENT_WINDOW_DAYS = 45


@dataclass(frozen=True, slots=True)
class ReportedCapitulation:
    name: str
    retarget_day: date             # the difficulty drop the press reported it by
    retarget_pct: float


# Each named by the difficulty drop reported at the time, as the shipped headers give it (the drop
# of the period starting that day against the one before).
REPORTED = (
    ReportedCapitulation("late 2018", date(2018, 12, 3), -15.13),
    ReportedCapitulation("March 2020", date(2020, 3, 26), -15.95),
    ReportedCapitulation("2021 China ban", date(2021, 7, 3), -27.94),
    ReportedCapitulation("late 2022", date(2022, 12, 6), -7.32),
    ReportedCapitulation("after the 2024 halving", date(2024, 5, 9), -5.62),
)


@dataclass(frozen=True, slots=True)
class Period:
    start_height: int
    start_time_s: int
    end_time_s: int                # the next period's first block
    difficulty: float
    hashrate_hs: float
    next_change_pct: float | None  # the retarget at this period's end
    hashprice_usd_per_ph_day: float | None   # subsidy only, at the mean price of the period's days

    @property
    def end_day(self) -> date:
        return datetime.fromtimestamp(self.end_time_s, timezone.utc).date()


def read_period_starts(text: str, source: str) -> list[tuple[int, int, int, int]]:
    """(height, time s, bits, chainwork) of consecutive period starts, from a CSV with columns
    height,time,bits,chainwork_hex; anything else is a UsageError naming the line."""
    rows: list[tuple[int, int, int, int]] = []
    for i, r in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            rows.append((int(r["height"]), int(r["time"]), int(r["bits"], 16), int(r["chainwork_hex"], 16)))
        except (KeyError, TypeError, ValueError) as e:
            raise UsageError(f"{source} line {i}: not a period-start row ({e})",
                             "columns: height,time,bits,chainwork_hex (time in Unix seconds, bits and "
                             "chainwork in hex)") from e
        if rows[-1][0] != 2016 * (len(rows) - 1):
            raise UsageError(f"{source} line {i}: height {rows[-1][0]:,} is not the start of period "
                             f"{len(rows) - 1} ({2016 * (len(rows) - 1):,})",
                             "list the first block of every period from height 0, in order")
    return rows


def periods(starts: list[tuple[int, int, int, int]], prices: dict[date, float]) -> list[Period]:
    """Every complete period between two listed starts."""
    out: list[Period] = []
    for (h, t0, bits, c0), (_h1, t1, bits1, c1) in zip(starts, starts[1:]):
        if t1 <= t0:
            continue           # header times may step back; a period of 0 s has no hashrate (none on mainnet)
        d0 = datetime.fromtimestamp(t0, timezone.utc).date()
        d1 = datetime.fromtimestamp(t1, timezone.utc).date()
        day_prices = [prices[d] for d in (d0 + timedelta(days=k) for k in range((d1 - d0).days + 1)) if d in prices]
        diff = consensus.difficulty_from_bits(bits)
        subsidy_btc = sum(consensus.subsidy_sat(x) for x in range(h, h + 2016)) / 2016 / 1e8
        hp = (consensus.hashvalue_btc_per_ph_day(diff, subsidy_btc) * sum(day_prices) / len(day_prices)
              if day_prices else None)
        change = (consensus.difficulty_from_bits(bits1) / diff - 1) * 100
        out.append(Period(h, t0, t1, diff, (c1 - c0) / (t1 - t0), change, hp))
    return out


def trailing_mean(ps: list[Period], end_s: int, days: int, value: str) -> float | None:
    """Time-weighted mean of a period attribute over the `days` before `end_s`; None when the
    periods do not reach back that far."""
    lo = end_s - days * DAY_S
    if not ps or ps[0].start_time_s > lo:
        return None
    total = 0.0
    for p in ps:
        a, b = max(p.start_time_s, lo), min(p.end_time_s, end_s)
        if b > a:
            total += getattr(p, value) * (b - a)
    return total / (days * DAY_S)


def history_series(ps: list[Period]) -> dict[str, list[tuple[date, float | None]]]:
    """The watch's series at period resolution, each dated at the period's end."""
    out: dict[str, list[tuple[date, float | None]]] = {
        "hash_ribbon_spread_pct": [], "hashprice_usd_per_ph_day": [], "retarget_forecast_pct": [],
        "difficulty_ribbon_compression": []}
    for p in ps:
        d = p.end_day
        s30, s60 = (trailing_mean(ps, p.end_time_s, n, "hashrate_hs") for n in (30, 60))
        out["hash_ribbon_spread_pct"].append((d, (s30 / s60 - 1) * 100 if s30 and s60 else None))
        out["hashprice_usd_per_ph_day"].append((d, p.hashprice_usd_per_ph_day))
        out["retarget_forecast_pct"].append((d, p.next_change_pct))
        ribbon = [trailing_mean(ps, p.end_time_s, n, "difficulty") for n in RIBBON_DAYS]
        if all(r is not None for r in ribbon):
            vals = [r for r in ribbon if r is not None]
            mean = sum(vals) / len(vals)
            std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
            out["difficulty_ribbon_compression"].append((d, std / mean))
        else:
            out["difficulty_ribbon_compression"].append((d, None))
    return out


@dataclass(frozen=True, slots=True)
class EventRow:
    event: ReportedCapitulation
    ribbons_first: date | None     # first period end with the ribbons on inside the event's window
    watch_first: date | None       # first period end in the capitulation state inside it


@dataclass(frozen=True, slots=True)
class HistoryBacktest:
    first_day: date
    last_day: date
    ribbon_alarms: list[cap.Episode]        # runs of the ribbons on (the author's signal alone)
    watch_alarms: list[cap.Episode]         # runs of the capitulation state (ribbons + another family)
    events: list[EventRow]
    ribbon_alarms_between: int              # ribbon alarms that flag no reported capitulation, 2016 on
    watch_alarms_between: int
    model: BreakevenModel
    ribbon_signals: list[RibbonSignal]      # dated capitulation, recovery and buy (Edwards)


def _near(e: ReportedCapitulation, d: date) -> bool:
    return abs((d - e.retarget_day).days) <= EVENT_WINDOW_DAYS


def _first_in(states: list[tuple[date, str, int]], e: ReportedCapitulation) -> date | None:
    return next((d for d, s, _ in states if s == "capitulation" and _near(e, d)), None)


def _unmatched(alarms: list[cap.Episode], since: date) -> int:
    """Alarms from `since` on whose days touch no reported capitulation's window."""
    return sum(1 for a in alarms if a.end >= since
               and not any(a.start - timedelta(days=EVENT_WINDOW_DAYS) <= e.retarget_day
                           <= a.end + timedelta(days=EVENT_WINDOW_DAYS) for e in REPORTED))


def shipped_prices() -> dict[date, float]:
    """The shipped daily BTC/USD prices (data/btc-usd-daily-2012-2026.csv)."""
    text = resources.files("minerwatch").joinpath("data", SHIPPED_FILE).read_text(encoding="utf-8")
    return dict(read_price_csv(SHIPPED_FILE, text))


def load_periods(headers: Path | None = None) -> list[Period]:
    """Periods from the shipped headers (or the user's CSV of period starts) and shipped prices."""
    text = (read_user_text(headers, "period-start headers file") if headers is not None
            else resources.files("minerwatch").joinpath("data", SHIPPED_HEADERS).read_text(encoding="utf-8"))
    return periods(read_period_starts(text, headers.name if headers is not None else SHIPPED_HEADERS),
                   shipped_prices())


def _price_sma(prices: dict[date, float], day: date, n: int) -> float | None:
    window = [prices.get(day - timedelta(days=k)) for k in range(n)]
    return None if any(p is None for p in window) else sum(p for p in window if p is not None) / n


def ribbon_days(ps: list[Period], prices: dict[date, float]) -> list[RibbonDay]:
    """The ribbons' averages at each period end (EH/s), with the 10- and 20-day price averages of
    that day, for the dated capitulation, recovery and buy signals (metrics/signals.py)."""
    out = []
    for p in ps:
        s30, s60 = (trailing_mean(ps, p.end_time_s, n, "hashrate_hs") for n in (30, 60))
        if s30 and s60:
            out.append(RibbonDay(p.end_day, s30 / 1e18, s60 / 1e18, _price_sma(prices, p.end_day, 10),
                                 _price_sma(prices, p.end_day, 20)))
    return out


# The comparison starts where the ASIC catalog does: 2016 (the first model, the S9, is of 2016-06).
COMPARE_FROM = date(2016, 1, 1)


def history_backtest(ps: list[Period], model: BreakevenModel | None = None,
                     prices: dict[date, float] | None = None) -> HistoryBacktest:
    """Run the watch on the period series and match its alarms with the reported capitulations."""
    model = model or breakeven_model()
    prices = shipped_prices() if prices is None else prices
    defs = cap.signal_defs(model)
    series = {k: (v, None) for k, v in history_series(ps).items()}
    judged = cap.judge(defs, series, {}, model)
    states = cap.states(judged)
    ribbon = next(j for j in judged if j.defn.name == "hash_ribbons")
    ribbon_states = [(d, "capitulation" if on else "calm", int(on)) for d, on, _v, _t in ribbon.flags]
    ribbon_alarms, watch_alarms = cap.episodes(ribbon_states), cap.episodes(states)
    events = [EventRow(e, _first_in(ribbon_states, e), _first_in(states, e)) for e in REPORTED]
    return HistoryBacktest(ps[0].end_day, ps[-1].end_day, ribbon_alarms, watch_alarms, events,
                           _unmatched(ribbon_alarms, COMPARE_FROM), _unmatched(watch_alarms, COMPARE_FROM), model,
                           hash_ribbon_signals(ribbon_days(ps, prices)))
