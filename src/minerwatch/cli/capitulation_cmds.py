"""`minerwatch capitulation`: the watch today, its past episodes, and its backtest on mainnet history."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from minerwatch.cli.common import add_db_arg, db_path, print_json
from minerwatch.cli.metrics_cmds import finite_float
from minerwatch.economics.catalog import load_catalog
from minerwatch.economics.network_efficiency import (DEFAULT_ADOPTION_LAG_MONTHS, DEFAULT_POWER_USD_PER_KWH,
                                                     BreakevenModel, breakeven_model)
from minerwatch.economics.surface import load_mix
from minerwatch.errors import UsageError


def _iso(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise UsageError(f"{text!r} is not a date", "use YYYY-MM-DD") from e


def _with_unit(v: float, unit: str) -> str:
    """−0.05 %, 32.49 USD/PH/day, 0.94 × its 365-day average: the number the way people write it."""
    text = f"{v:,.2f}".replace("-", "−")
    return f"{text} {unit}" if unit else text


def _model(args: argparse.Namespace) -> BreakevenModel:
    catalog = load_catalog(args.asic_file).values() if args.asic_file is not None else None
    return breakeven_model(args.adoption_lag_months, args.power_usd_per_kwh, catalog,
                           mix=load_mix(args.mix) if args.mix is not None else None)


def _episode_line(e: Any, what: str) -> str:
    return (f"  {e.start} … {e.end}: {e.days} days on within a span of {e.span_days} days"
            + (f", up to {e.max_signals_on} {what} on" if what else ""))


def _print_state(st: Any, eps: list[Any] | None) -> None:
    print(f"capitulation watch: {st.state.upper()} as of {st.as_of or '-'}"
          f" ({st.signals_on} of {st.signals_with_data} signal families with data on; a family counts once)")
    for s in st.signals:
        head = f"{s.name} ({s.family})"
        if s.warming_up_until is not None:
            print(f"  [warming] {head}: warming up until {s.warming_up_until} (needs more history) — {s.rule}")
        elif s.on is None:
            print(f"  [missing] {head}: {s.missing}")
        else:
            basis = f", {s.basis}" if s.basis else ""
            print(f"  [{'  ON   ' if s.on else '  off  '}] {head}: {_with_unit(s.value, s.unit)} on {s.day}"
                  f" (threshold {_with_unit(s.threshold, s.unit)}{basis}; {'on' if s.on else 'off'} since {s.since})"
                  f" — {s.rule}")
    if eps is not None:
        print(f"past episodes ({len(eps)}):")
        for e in eps:
            print(_episode_line(e, "signal families"))
    r = st.hash_ribbons
    if r.day is not None:
        print(f"hash ribbons (Edwards) on {r.day}: 30-day {r.sma30_ehs:,.2f} EH/s, 60-day {r.sma60_ehs:,.2f} EH/s;"
              f" last capitulation {r.capitulation or '-'}, recovery {r.recovery or '-'}, buy {r.buy or '-'}")


def _print_history(b: Any) -> None:
    m = b.model
    line = ("the given fleet mix" if m.mix is not None else
            f"the median machine from the ASIC catalog, adoption lag {m.adoption_lag_months} months, "
            f"{m.power_usd_per_kwh:g} USD/kWh")
    print(f"capitulation watch on mainnet history, one observation per difficulty period "
          f"({b.first_day} … {b.last_day}); hashprice line: {line}")
    rows = [("reported capitulation", "difficulty drop", "hash ribbons on", "capitulation state")]
    for r in b.events:
        drop = f"{_with_unit(r.event.retarget_pct, '%')} on {r.event.retarget_day}"
        rows.append((r.event.name, drop, str(r.ribbons_first or "no"), str(r.watch_first or "no")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)))
    flagged_r = sum(1 for r in b.events if r.ribbons_first)
    flagged_w = sum(1 for r in b.events if r.watch_first)
    print(f"flagged: hash ribbons {flagged_r} of {len(b.events)}, capitulation state {flagged_w} of {len(b.events)}")
    print(f"alarms since 2016 that flag none of these: hash ribbons {b.ribbon_alarms_between}, "
          f"capitulation state {b.watch_alarms_between}")
    for title, alarms in (("hash-ribbon alarms since 2016", b.ribbon_alarms),
                          ("capitulation-state alarms since 2016", b.watch_alarms)):
        since = [a for a in alarms if a.end >= date(2016, 1, 1)]
        print(f"{title} ({len(since)}):")
        for a in since:
            print(_episode_line(a, ""))
    print("hash-ribbon recoveries and buys since 2016 (buy: the 10-day price average above the 20-day):")
    for s in b.ribbon_signals:
        if s.kind != "capitulation" and s.day >= date(2016, 1, 1):
            print(f"  {s.kind} {s.day}")


def cmd_capitulation(args: argparse.Namespace) -> int:
    model = _model(args)
    if args.backtest_history:
        from minerwatch.metrics.capitulation_history import history_backtest, load_periods

        b = history_backtest(load_periods(args.headers), model)
        if args.json:
            out = asdict(b)
            out["model"] = {"adoption_lag_months": model.adoption_lag_months,
                            "power_usd_per_kwh": model.power_usd_per_kwh, "fleet_mix": args.mix is not None}
            for key in ("ribbon_alarms", "watch_alarms"):
                for a, e in zip(out[key], getattr(b, key)):
                    a["span_days"] = e.span_days
            print_json(out)
        else:
            _print_history(b)
        return 0
    if args.headers is not None:
        raise UsageError("--headers goes with --backtest-history", "add --backtest-history, or drop --headers")
    from minerwatch.metrics.capitulation import capitulation_state, daily_states, episodes
    from minerwatch.queries.db import connect_readonly

    with connect_readonly(db_path(args)) as con:
        st = capitulation_state(con, args.as_of, model)
        eps = episodes(daily_states(con, args.as_of, model)) if args.backtest else None
    if args.json:
        out = asdict(st)
        if eps is not None:
            out["episodes"] = [asdict(e) | {"span_days": e.span_days} for e in eps]
        print_json(out)
        return 0
    _print_state(st, eps)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("capitulation", help="capitulation watch: six signals, one state, past episodes")
    add_db_arg(p)
    p.add_argument("--as-of", type=_iso, help="evaluate on this day (default: the latest stored)")
    p.add_argument("--adoption-lag-months", type=int, default=DEFAULT_ADOPTION_LAG_MONTHS,
                   help="months after its release at which a catalog model becomes the network's median machine "
                        f"(default {DEFAULT_ADOPTION_LAG_MONTHS})")
    p.add_argument("--power-usd-per-kwh", type=finite_float, default=DEFAULT_POWER_USD_PER_KWH,
                   help=f"power price of the median machine, USD/kWh (default {DEFAULT_POWER_USD_PER_KWH:g})")
    p.add_argument("--asic-file", type=Path,
                   help="CSV of more models (model,manufacturer,hashrate_ths,power_w,released as YYYY-MM) for the "
                        "median machine")
    p.add_argument("--mix", type=Path, help="one network fleet mix CSV for every date instead of the catalog")
    p.add_argument("--backtest", action="store_true", help="also list past capitulation episodes")
    p.add_argument("--backtest-history", action="store_true",
                   help="run the watch on mainnet's history, one observation per difficulty period, from the "
                        "shipped headers and prices (no database needed)")
    p.add_argument("--headers", type=Path,
                   help="with --backtest-history: a CSV of period-start headers (height,time,bits,chainwork_hex) "
                        "instead of the shipped one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_capitulation)
