"""The brief: the weekly miner story, every figure with its definition and the command that reproduces it.

A figure whose series is missing says so; nothing is estimated to fill a gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from minerwatch.economics.catalog import load_catalog
from minerwatch.economics.network_efficiency import median_machine_on
from minerwatch.economics.underwater import UNDERWATER_POWER_PRICES_USD_PER_KWH, sentence, underwater
from minerwatch.metrics.capitulation import capitulation_state
from minerwatch.metrics.miner_questions import outflow_between
from minerwatch.metrics import series_stats as stats
from minerwatch.metrics.registry import Query, Read
from minerwatch.queries.headline import Figure
from minerwatch.metrics.registry import read as read_series

HASHPRICE_WEEKS = 4                            # "hashprice fell X % in four weeks"
PRICE_DAYS = 30
LOWEST_SINCE_MIN_DAYS = 30                     # "lowest since" only when the last lower day is a month back
BRIEF_POWER_PRICES_USD_PER_KWH = UNDERWATER_POWER_PRICES_USD_PER_KWH
HARD_YEARS = (2021, 2022)                      # the China ban (2021) and the bear market (2022)


@dataclass(frozen=True, slots=True)
class Brief:
    as_of: date
    since: date
    figures: tuple[Figure, ...]


def btc(x: float) -> str:
    return f"{x:,.2f} BTC"


def usd(x: float) -> str:
    """Dollars the way a newsroom writes them: $1.23 billion, $456.8 million, $86,075."""
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if abs(x) >= scale:
            return f"${x / scale:,.2f} {word}"
    return f"${x:,.0f}" if abs(x) >= 1000 else f"${x:,.2f}"


def num(x: float) -> str:
    """1,234.5 for everyday sizes; 3 significant digits below 10 (2009's hashrate is 4.7e-09 EH/s)."""
    return f"{x:,.1f}" if abs(x) >= 10 else f"{x:.3g}"


def moved(pct: float) -> str:
    return f"{'up' if pct >= 0 else 'down'} {abs(pct):.1f} %"


Points = list[tuple[date, float]]


def _read(con: duckdb.DuckDBPyConnection, name: str, end: date | None, start: date | None = None) -> Read:
    """Metric `name` in [start, end] through the one reader (its `values` are the days with a value)."""
    return read_series(con, name, Query(start, end))


def _rows(points: Points) -> stats.Rows:
    return [(d, v) for d, v in points]


def _change(points: Points, days: int) -> stats.Move | None:
    """Change over `days` (series_stats' rule: from the last value on or before `days` earlier)."""
    m = stats.change_over_days(_rows(points), days)
    return None if m is None or math.isnan(m.change_pct) else m


def _metrics_cmd(name: str, start: date | None, end: date) -> str:
    return f"minerwatch metrics {name}" + (f" --from {start}" if start else "") + f" --to {end}"


def _missing(key: str, title: str, reason: str, definition: str, commands: tuple[str, ...]) -> Figure:
    return Figure(key, title, definition, commands, sentence=f"missing: {reason}", missing=reason)


def outflow_figure(con: duckdb.DuckDBPyConnection, since: date, as_of: date) -> Figure:
    cmds = (_metrics_cmd("miner_outflow_btc", since, as_of), _metrics_cmd("miner_outflow_usd", since, as_of))
    out = _read(con, "miner_outflow_btc", as_of, since)
    if out.missing:
        defn = f"0-hop miner outflow: {out.definition}; summed over the UTC days {since} … {as_of}"
        return _missing("miner_outflow", "Miner outflow", out.missing, defn, cmds)
    # The sum `minerwatch miners outflow` prints, from the first day with data when `since` is earlier.
    total = outflow_between(con, since, as_of)
    first = total.first_day_with_data or since
    defn = f"0-hop miner outflow: {out.definition}; summed over the UTC days {first} … {as_of}"
    start = f"{first} (the first day with data; asked from {since})" if first > since else f"{first}"
    s = f"Miners moved {btc(total.outflow_btc)} out of their wallets from {start} to {as_of}"
    vals: dict[str, object] = {"outflow_btc": total.outflow_btc, "days": total.days,
                               "first_day_with_data": first.isoformat()}
    if total.outflow_usd is None:
        s += f"; its USD value is missing (no price on {total.days_without_price} of the {total.days} days)."
        vals["outflow_usd"] = None
    else:
        s += f", worth {usd(total.outflow_usd)} at each day's price."
        vals["outflow_usd"] = total.outflow_usd
    return Figure("miner_outflow", "Miner outflow", defn + "; USD: each day's outflow × that day's price", cmds,
                  sentence=s, values=vals)


def reserve_figure(con: duckdb.DuckDBPyConnection, as_of: date) -> Figure:
    cmds = (_metrics_cmd("miner_reserve_btc", None, as_of),)
    r = _read(con, "miner_reserve_btc", as_of)
    defn = f"0-hop miner reserve: {r.definition}"
    if r.missing:
        return _missing("miner_reserve", "Miner reserve", r.missing, defn, cmds)
    d, v = r.values[-1]
    earlier = r.values[:-1]
    since = stats.lowest_since(_rows(r.values))
    low = stats.record_low(_rows(earlier)) or stats.Point(d, v)
    vals: dict[str, object] = {"reserve_btc": v, "day": d.isoformat(), "record_low_btc": min(low.value, v),
                               "record_low": bool(earlier) and since is None}
    s = f"The miner reserve stands at {btc(v)} on {d}"
    if not earlier:
        s += " (the first stored day: no record to compare with)."
    elif since is None:
        s += (f", a record low (the previous low was {btc(low.value)} on {low.day}, "
              f"in {len(r.values):,} days of history).")
    elif (d - since).days >= LOWEST_SINCE_MIN_DAYS:
        s += f", its lowest since {since} ({btc(dict(r.values)[since])})."
        vals["lowest_since"] = since.isoformat()
    else:
        ch = _change(r.values, PRICE_DAYS)
        first = " (the first stored day)" if low.day == r.values[0][0] else ""
        s += ((f", {moved(ch.change_pct)} over {PRICE_DAYS} days (from {ch.start.day})" if ch else "")
              + f"; its record low is {btc(low.value)} on {low.day}{first}.")
        if ch:
            vals["change_pct_30d"] = ch.change_pct
    return Figure("miner_reserve", "Miner reserve", defn, cmds, sentence=s, values=vals)


def hashprice_figures(con: duckdb.DuckDBPyConnection, as_of: date, threshold: float | None
                      ) -> tuple[Figure, Figure, Read]:
    name = "hashprice_usd_per_ph_day"
    h = _read(con, name, as_of)
    defn = f"{name}: {h.definition}"
    cmd_all = _metrics_cmd(name, None, as_of)
    if h.missing:
        return (_missing("hashprice", "Hashprice", h.missing, defn, (cmd_all,)),
                _missing("hashprice_days_below", "Hashprice in hard years", h.missing, defn, (cmd_all,)), h)
    d, v = h.values[-1]
    vals: dict[str, object] = {"hashprice_usd_per_ph_day": v, "day": d.isoformat()}
    s = f"Hashprice is ${v:,.2f}/PH/day on {d}"
    ch = _change(h.values, HASHPRICE_WEEKS * 7)
    if ch is not None:
        s += f", {moved(ch.change_pct)} over the last {HASHPRICE_WEEKS} weeks (from {ch.start.day})"
        vals["change_pct_4w"] = ch.change_pct
    rec = stats.record_low(_rows(h.values)) or stats.Point(d, v)
    low_d, low_v = rec.day, rec.value
    if low_d == d:
        s += "; an all-time low in the stored history."
    elif low_v == v:
        s += f"; level with its record low, first reached on {low_d}."
    else:
        s += f"; the record low is ${low_v:,.2f}/PH/day on {low_d}."
    vals["record_low"] = low_v == v
    # The line the capitulation watch draws that day (its hashprice signal prints it with its basis).
    m = median_machine_on(d)
    if m is not None:
        s += (f" The median machine's breakeven that day is ${m.breakeven_hashprice_usd_per_ph_day:,.2f}/PH/day: "
              f"the {m.describe()}, energy only.")
        vals["median_machine_breakeven_usd_per_ph_day"] = m.breakeven_hashprice_usd_per_ph_day
        vals["median_machine"] = m.model
    now = Figure("hashprice", "Hashprice", defn, (_metrics_cmd(name, d - timedelta(days=HASHPRICE_WEEKS * 7), d), cmd_all)
                 + ((f"minerwatch capitulation --as-of {d}",) if m is not None else ()),
                 sentence=s, values=vals, warnings=h.warnings)

    t = v if threshold is None else threshold
    parts, no_data = [], []
    counts: dict[str, object] = {"threshold_usd_per_ph_day": t}
    for year in HARD_YEARS:
        db = stats.days_below(_rows(h.values), t, date(year, 1, 1), date(year, 12, 31))
        if not db.days_with_data:
            no_data.append(str(year))
            counts[str(year)] = None
            continue
        parts.append(f"{db.days_below} of {db.days_with_data} days in {year}")
        counts[str(year)] = {"days_below": db.days_below, "days_with_data": db.days_with_data}
    label = "today's level" if threshold is None else "the threshold"
    level = f"${t:,.2f}/PH/day ({label})"
    if parts:
        s2 = f"Hashprice was below {level} on " + " and ".join(parts)
        s2 += f" (no data for {' or '.join(no_data)})." if no_data else "."
    else:
        s2 = (f"How often hashprice was below {level} in {' and '.join(no_data)} is unknown: "
              "the database holds no hashprice for those years.")
    hard = Figure("hashprice_days_below", "Hashprice in hard years",
                  f"{defn}; days counted where the daily value is strictly below the threshold",
                  tuple(_metrics_cmd(name, date(y, 1, 1), date(y, 12, 31)) for y in HARD_YEARS),
                  sentence=s2, values=counts)
    return now, hard, h


def _change_figure(con: duckdb.DuckDBPyConnection, as_of: date, key: str, title: str, name: str, days: int,
                   fmt: str) -> Figure:
    r = _read(con, name, as_of)
    defn = f"{name}: {r.definition}"
    if r.missing:
        return _missing(key, title, r.missing, defn, (_metrics_cmd(name, as_of - timedelta(days=days), as_of),))
    d, v = r.values[-1]
    vals: dict[str, object] = {name: v, "day": d.isoformat()}
    s = fmt.format(value=num(v), day=d)
    ch = _change(r.values, days)
    if ch is not None:
        s += f", {moved(ch.change_pct)} over {days} days (from {ch.start.day})."
        vals[f"change_pct_{days}d"] = ch.change_pct
    else:
        s += f" (fewer than {days} days of history: no change to report)."
    return Figure(key, title, defn, (_metrics_cmd(name, d - timedelta(days=days), d),), sentence=s, values=vals,
                  warnings=r.warnings)


def underwater_figure(hashprice: Read, as_of: date) -> Figure:
    defn = ("a machine is underwater when its energy cost per PH/s per day, E J/TH × 24 h × power price "
            "(PUE 1, no pool fee), exceeds the hashprice; models from the shipped nominal-spec catalog")
    if hashprice.missing:
        return _missing("underwater", "Machines underwater", hashprice.missing, defn,
                        ("minerwatch calc underwater --hashprice-usd-per-ph-day …",))
    d, hp = hashprice.values[-1]
    rows = underwater(hp, BRIEF_POWER_PRICES_USD_PER_KWH, load_catalog().values())
    vals: dict[str, object] = {f"{u.power_usd_per_kwh:g}": {"max_efficiency_j_per_th": u.breakeven_efficiency_j_per_th,
                                                            "underwater": list(u.underwater)} for u in rows}
    s = (f"At ${hp:,.2f}/PH/day ({d}), power alone costs more than the hashprice for machines "
         + "; ".join(sentence(u) for u in rows) + ".")
    # Four decimals: the command's breakeven efficiencies then round to the figure's.
    return Figure("underwater", "Machines underwater", defn,
                  (f"minerwatch calc underwater --hashprice-usd-per-ph-day {hp:.4f} --power-prices "
                   + ",".join(f"{p:g}" for p in BRIEF_POWER_PRICES_USD_PER_KWH),), sentence=s, values=vals)


def capitulation_figure(con: duckdb.DuckDBPyConnection, as_of: date) -> Figure:
    st = capitulation_state(con, as_of)
    defn = ("capitulation when the hash ribbons and a signal of another family are on (a family counts once); "
            "watch when any is on "
            "(docs/economics.md)")
    cmds = (f"minerwatch capitulation --as-of {as_of}",)
    if st.state == "unknown":
        return _missing("capitulation", "Capitulation watch", "none of the six signals has data", defn, cmds)
    on = [f"{s.name.replace('_', ' ')} (since {s.since})" for s in st.signals if s.on]
    warming = [f"{s.name.replace('_', ' ')} (until {s.warming_up_until})" for s in st.signals
               if s.warming_up_until is not None]
    missing = [s.name.replace("_", " ") for s in st.signals if s.on is None and s.warming_up_until is None]
    s = (f"Capitulation watch: {st.state} — {st.signals_on} of {st.signals_with_data} signal families with data "
         "are on" + (": " + ", ".join(on) if on else "") + "."
         + (f" Warming up: {', '.join(warming)}." if warming else "")
         + (f" Missing: {', '.join(missing)}." if missing else ""))
    return Figure("capitulation", "Capitulation watch", defn, cmds, sentence=s,
                  values={"state": st.state, "signals_on": st.signals_on, "signals_with_data": st.signals_with_data})


def default_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last UTC day with blocks (else hashrate, else hashprice); None for an empty database."""
    for name in ("blocks", "hashrate_ehs", "hashprice_usd_per_ph_day"):
        r = _read(con, name, None)
        if r.values:
            return r.values[-1][0]
    return None


def build_brief(con: duckdb.DuckDBPyConnection, as_of: date, since: date | None = None,
                hashprice_threshold: float | None = None) -> Brief:
    """Every figure of the brief as of `as_of`, outflows counted from `since` (default: 30 days before)."""
    since = since or as_of - timedelta(days=30)
    hp_now, hp_hard, hp = hashprice_figures(con, as_of, hashprice_threshold)
    figures = (
        outflow_figure(con, since, as_of),
        reserve_figure(con, as_of),
        hp_now,
        hp_hard,
        _change_figure(con, as_of, "price", "BTC price", "price_usd", PRICE_DAYS, "BTC is {value} USD on {day}"),
        _change_figure(con, as_of, "hashrate", "Hashrate", "hashrate_ehs_7d", PRICE_DAYS,
                       "Network hashrate averaged {value} EH/s over the 7 days to {day}"),
        underwater_figure(hp, as_of),
        capitulation_figure(con, as_of),
    )
    return Brief(as_of, since, figures)
