"""`minerwatch calc breakeven|fleet|surface|underwater|scenario`, `alerts run`, `brief`."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from minerwatch.cli.common import add_db_arg, db_path, default_db_path, print_json
from minerwatch.cli.market_args import MarketInputs, add_market_args, market_inputs
from minerwatch.cli.metrics_cmds import finite_float
from minerwatch.cli.subsidy_args import Subsidy, add_subsidy_args, resolve_subsidy
from minerwatch.economics.breakeven import Market, Site, breakeven, energy_breakeven, market_from_chain
from minerwatch.economics.catalog import load_catalog
from minerwatch.economics.fleet import fleet_economics, load_fleet
from minerwatch.economics.scenarios import Scenario, price_path, project, runway
from minerwatch.economics.network_efficiency import median_machine_on
from minerwatch.economics.surface import (DEFAULT_EFFICIENCIES_J_PER_TH, DEFAULT_MIX_NAME,
                                          DEFAULT_POWER_PRICES_USD_PER_KWH, cost_surface, load_mix, network_cost,
                                          surface_chart)
from minerwatch.errors import UsageError


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as e:
        raise UsageError(f"{text!r} is not a comma-separated list of numbers", "e.g. 0.03,0.05,0.07") from e
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{text!r} holds a number that is not finite", "e.g. 0.03,0.05,0.07")
    return values


def _iso(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise UsageError(f"{text!r} is not a date", "use YYYY-MM-DD") from e


def _add_market_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("market (a hashprice, or difficulty + price [+ fees]; "
                             "what is not given comes from the database's tip when there is one)")
    g.add_argument("--hashprice-usd-per-ph-day", type=finite_float, help="hashprice, USD per PH/s per day")
    add_market_args(g)
    add_subsidy_args(p, g)


NO_MARKET_HINT = ("give --hashprice-usd-per-ph-day, or --difficulty and --price (and --fees-btc-per-block); "
                  "with a synced database (or the demo's) they default to its tip's")


def market_from_args(args: argparse.Namespace, required: bool = True
                     ) -> tuple[Market | None, Subsidy | None, MarketInputs | None]:
    """The market the user described — a hashprice (and optional price), or difficulty and price,
    each defaulting to the database's at its tip — the subsidy behind it (None when the hashprice
    was given) and where each input came from. No market (None) only when not `required`."""
    if args.hashprice_usd_per_ph_day is not None:
        if args.difficulty is not None:
            raise UsageError("give either --hashprice-usd-per-ph-day or --difficulty, not both",
                             "the hashprice already includes the difficulty")
        return Market(args.hashprice_usd_per_ph_day, args.price), None, None
    inputs = market_inputs(args)
    if inputs.difficulty is None or inputs.price_usd is None:
        if not required:
            return None, None, inputs
        lacking = " and ".join(n for n, v in (("difficulty", inputs.difficulty), ("BTC price", inputs.price_usd))
                               if v is None)
        raise UsageError(f"no market: no {lacking} given" + (f", and {inputs.missing}" if inputs.missing else ""),
                         NO_MARKET_HINT)
    subsidy = resolve_subsidy(args)
    market = market_from_chain(inputs.difficulty, inputs.price_usd, inputs.fees_btc_per_block, subsidy.btc)
    return market, subsidy, inputs


def _print_subsidy(subsidy: Subsidy | None, inputs: MarketInputs | None = None) -> None:
    if inputs is not None:
        for name, source in inputs.sources.items():
            print(f"{name.replace('_', ' ')} from {source}")
    if subsidy is not None:
        print(f"subsidy {subsidy.btc:g} BTC" + (f" at height {subsidy.height:,}" if subsidy.height is not None else "")
              + f" ({subsidy.source})")


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    cells = [[_fmt(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, tuple | list):
        return ", ".join(str(x) for x in v) or "none"
    if isinstance(v, float):
        if abs(v) >= 1e12:            # difficulty: 149.30T reads better than 149,300,000,000,000.00
            return f"{v / 1e12:,.2f}T"
        # Prices per kWh (0.072) and hashvalue (0.00042) need their significant digits; USD do not.
        return f"{v:.6g}" if abs(v) < 1 else f"{v:,.2f}"
    return str(v)


def _print_pairs(d: dict[str, Any]) -> None:
    width = max(len(k) for k in d)
    for k, v in d.items():
        print(f"{k.ljust(width)}  {_fmt(v)}")


def cmd_breakeven(args: argparse.Namespace) -> int:
    market, subsidy, inputs = market_from_args(args, required=False)
    site = Site(args.power_usd_per_kwh, args.pue, args.pool_fee_pct)
    if market is None:
        # The energy cost and the hashprice that pays it need no market; what it pays does.
        out: dict[str, Any] = asdict(energy_breakeven(args.efficiency_j_per_th, site)) | {
            "breakeven_power_usd_per_kwh": None,
            "note": "the breakeven power price, margin and cost per BTC need a hashprice: " + NO_MARKET_HINT
                    + (f" ({inputs.missing})" if inputs is not None and inputs.missing else "")}
    else:
        out = asdict(breakeven(args.efficiency_j_per_th, site, market))
        if out["cost_per_btc_usd"] is None:
            out["note"] = "cost_per_btc_usd needs the BTC price: add --price"
    if args.json:
        print_json(out | (subsidy.as_fields() if subsidy is not None else {})
                   | (inputs.as_fields() if inputs is not None and market is not None else {}))
    else:
        _print_pairs(out)
        _print_subsidy(subsidy, inputs if market is not None else None)
    return 0


def cmd_fleet(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.asic_file, include_f2pool=args.f2pool)
    if args.list_models:
        rows = [{"model": a.model, "manufacturer": a.manufacturer, "hashrate_ths": a.hashrate_ths,
                 "power_w": a.power_w, "efficiency_j_per_th": round(a.efficiency_j_per_th, 2),
                 "released": a.released, "source": a.source}
                for a in sorted(catalog.values(), key=lambda a: a.efficiency_j_per_th)]
        print_json(rows) if args.json else _print_table(rows)
        return 0
    if args.fleet is None:
        raise UsageError("no fleet file given", "minerwatch calc fleet FLEET.toml --difficulty … --price …")
    fleet = load_fleet(args.fleet, catalog)
    market, subsidy, inputs = market_from_args(args)
    assert market is not None   # required
    lines, whole = fleet_economics(fleet, market)
    rows = [asdict(x) for x in [*lines, whole]]
    if args.json:
        print_json({"models": rows[:-1], "fleet": rows[-1]} | ({"subsidy": asdict(subsidy)} if subsidy else {})
                   | (inputs.as_fields() if inputs is not None else {}))
    else:
        keys = ("model", "hashrate_ths", "efficiency_j_per_th", "revenue_usd_per_day", "cost_usd_per_day",
                "profit_usd_per_day", "breakeven_hashprice_usd_per_ph_day", "breakeven_power_usd_per_kwh",
                "cost_per_btc_energy_usd", "cost_per_btc_usd", "shutoff_price_usd")
        _print_table([{k: r[k] for k in keys} for r in rows])
        _print_subsidy(subsidy, inputs)
    return 0


def cmd_surface(args: argparse.Namespace) -> int:
    market, subsidy, inputs = market_from_args(args)
    assert market is not None   # required
    effs = _floats(args.efficiencies) if args.efficiencies else DEFAULT_EFFICIENCIES_J_PER_TH
    prices = _floats(args.power_prices) if args.power_prices else DEFAULT_POWER_PRICES_USD_PER_KWH
    cells = cost_surface(effs, prices, market, args.pue, args.pool_fee_pct)
    net = network_cost(load_mix(args.mix), market, args.pue)
    mix_name = DEFAULT_MIX_NAME if args.mix is None else f"fleet mix {args.mix}"
    # The median machine of the market's day: the database's tip day, else today (a market given by hand).
    day = inputs.day if inputs is not None and inputs.day is not None else datetime.now(timezone.utc).date()
    median = median_machine_on(day)
    if args.json:
        print_json({"hashprice_usd_per_ph_day": market.hashprice_usd_per_ph_day, "price_usd": market.price_usd,
                    "cells": [asdict(c) for c in cells], "chart": surface_chart(cells, effs, prices),
                    "median_machine": asdict(median) if median is not None else None,
                    "fleet_mix": {"name": mix_name} | asdict(net)}
                   | ({"subsidy": asdict(subsidy)} if subsidy else {}) | (inputs.as_fields() if inputs else {}))
        return 0
    print(f"margin, USD per PH/s per day, at hashprice {market.hashprice_usd_per_ph_day:.2f}"
          f" (rows J/TH, columns USD/kWh)")
    n = len(prices)
    _print_table([{"J/TH": e, **{f"{c.power_usd_per_kwh:g}": c.margin_usd_per_ph_day for c in cells[i * n:(i + 1) * n]}}
                  for i, e in enumerate(effs)])
    print()
    print(f"median machine's breakeven on {day}: " + (
        f"{median.breakeven_hashprice_usd_per_ph_day:,.2f} USD/PH/day, {median.describe()}, PUE 1 "
        "(the capitulation watch's line; docs/economics.md)" if median is not None else "none (no catalog model yet)"))
    print(f"{mix_name}:")
    usd_day = (lambda v: f"{v:,.2f} USD/PH/day")
    _print_pairs({"  mean efficiency": f"{net.mean_efficiency_j_per_th:.2f} J/TH",
                  "  mean energy cost": usd_day(net.energy_cost_usd_per_ph_day),
                  "  mean energy cost per BTC": f"${net.cost_per_btc_usd:,.0f}" if net.cost_per_btc_usd else None,
                  "  hashrate at a loss": f"{net.share_at_loss_pct:.1f} %",
                  "  median class's breakeven": usd_day(net.median_class_breakeven_usd_per_ph_day),
                  "  classes at a loss": net.classes_at_loss})
    _print_subsidy(subsidy, inputs)
    return 0


def cmd_underwater(args: argparse.Namespace) -> int:
    from minerwatch.economics.underwater import UNDERWATER_POWER_PRICES_USD_PER_KWH, sentence, underwater

    prices = _floats(args.power_prices) if args.power_prices else UNDERWATER_POWER_PRICES_USD_PER_KWH
    if not all(p > 0 for p in prices):
        raise UsageError(f"power prices {args.power_prices} must all be positive", "e.g. 0.03,0.05,0.07,0.1")
    rows = underwater(args.hashprice_usd_per_ph_day, prices, load_catalog(args.asic_file, args.f2pool).values())
    if args.json:
        print_json({"hashprice_usd_per_ph_day": args.hashprice_usd_per_ph_day, "rows": [asdict(u) for u in rows]})
        return 0
    print(f"At {args.hashprice_usd_per_ph_day:,.2f} USD/PH/day, power alone costs more than the hashprice for machines")
    for u in rows:
        print(f"  {sentence(u)}: {', '.join(u.underwater) or 'none'}")
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.asic_file)
    fleet = load_fleet(args.fleet, catalog)
    inputs = market_inputs(args)
    if inputs.difficulty is None or (inputs.price_usd is None and not args.price_path):
        raise UsageError("a scenario starts from a difficulty and a price"
                         + (f" ({inputs.missing})" if inputs.missing else ""),
                         "add --difficulty and --price (with --price-change-pct-per-month) or --price-path, and "
                         "--fees-btc-per-block; with a synced database they default to its tip's")
    path = _floats(args.price_path) if args.price_path else price_path(inputs.price_usd, args.price_change_pct_per_month,
                                                                       args.months)
    start = _iso(args.start + "-01") if args.start else date.today().replace(day=1)
    subsidy = resolve_subsidy(args)
    halving_month = args.halving_month if args.halving_month is not None else _halving_month(subsidy, start,
                                                                                              args.months)
    s = Scenario(start, args.months, inputs.difficulty, inputs.fees_btc_per_block, subsidy.btc, path,
                 args.difficulty_growth_pct_per_month, halving_month)
    months = project(fleet, s)
    r = runway(months, args.treasury_btc, args.treasury_cash_usd, args.hodl)
    rows = [asdict(m) for m in months]
    if args.json:
        print_json({"months": rows, "runway": asdict(r), "subsidy": asdict(subsidy), "halving_month": halving_month}
                   | inputs.as_fields())
        return 0
    _print_table(rows)
    print()
    _print_subsidy(subsidy, inputs)
    if halving_month is not None:
        print(f"subsidy halved from month {halving_month} ({rows[halving_month]['month']})")
    print(f"treasury runway: {'beyond ' + str(args.months) + ' months' if r.months_covered is None else str(r.months_covered) + ' months (cannot pay in ' + str(r.runs_out) + ')'}")
    return 0


def _halving_month(subsidy: Subsidy, start: date, months: int) -> int | None:
    """The month of the projection in which the next halving falls (600 s a block from the subsidy's
    height), when it falls inside it; a halving before the start halves every month."""
    if subsidy.next_halving_time_s is None:
        return None       # a given subsidy: halvings only with --halving-month
    when = datetime.fromtimestamp(subsidy.next_halving_time_s, timezone.utc)
    m = (when.year - start.year) * 12 + when.month - start.month
    return max(m, 0) if m < months else None


def cmd_alerts_run(args: argparse.Namespace) -> int:
    from minerwatch.alerts.engine import raise_if_failed, run_rules
    from minerwatch.alerts.rules import load_rules
    from minerwatch.alerts.state import beside_rules_path, default_state_path, load_state, save_state
    from minerwatch.queries.db import connect_readonly

    ruleset = load_rules(args.rules)
    state_path = args.state or default_state_path(args.rules, db_path(args), default_db_path().parent)
    earlier = beside_rules_path(args.rules)
    # Earlier versions kept the state beside the rules: carry it over once, so nothing fires twice.
    state = load_state(earlier if not args.state and not state_path.exists() and earlier.exists() else state_path)
    with connect_readonly(db_path(args)) as con:
        outcomes, new_state, errors = run_rules(con, ruleset, state, args.as_of)
    save_state(state_path, new_state)
    if args.json:
        print_json({"state_file": str(state_path), "outcomes": [asdict(o) for o in outcomes], "errors": errors})
    else:
        _print_table([{"rule": o.rule, "condition": o.condition, "day": o.day, "value": o.value,
                       "fired": "FIRED" if o.fired else "", "note": o.note} for o in outcomes])
    raise_if_failed(errors)
    return 0


def cmd_brief(args: argparse.Namespace) -> int:
    from minerwatch.queries.db import connect_readonly, db_state
    from minerwatch.report.brief import build_brief, default_as_of
    from minerwatch.report.render import as_json, as_markdown, as_text

    with connect_readonly(db_path(args)) as con:
        as_of = args.as_of or default_as_of(con)
        if as_of is None:
            raise UsageError("the database holds no daily data yet", "run `minerwatch sync` (or `minerwatch demo`) first")
        brief = build_brief(con, as_of, args.since, args.hashprice_threshold)
        state = db_state(con)
    if args.format == "json":
        print_json(as_json(brief, state.network, state.simulated))
    else:
        print((as_markdown if args.format == "markdown" else as_text)(brief, state.network, state.simulated))
    return 0


def register(sub: Any) -> None:
    calc = sub.choices.get("calc")
    if calc is None:
        calc = sub.add_parser("calc", help="what-if calculators: the market you give, else the database's at its tip")
        calc_sub = calc.add_subparsers(dest="calc_command", metavar="CALC")
    else:
        # Another command module created `calc` first: add to its sub-commands.
        calc_sub = next(a for a in calc._actions if isinstance(a, argparse._SubParsersAction))

    p = calc_sub.add_parser("breakeven", help="breakeven hashprice, power price and cost per BTC of one machine class")
    p.add_argument("--efficiency-j-per-th", type=finite_float, required=True, help="machine efficiency, J/TH")
    p.add_argument("--power-usd-per-kwh", type=finite_float, required=True, help="power price, USD/kWh")
    p.add_argument("--pue", type=finite_float, default=1.0, help="facility power / machine power (default 1.0)")
    p.add_argument("--pool-fee-pct", type=finite_float, default=0.0, help="pool fee, percent of revenue (default 0)")
    _add_market_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_breakeven)

    p = calc_sub.add_parser("fleet", help="daily revenue, cost, profit and breakevens of a fleet file")
    p.add_argument("fleet", type=Path, nargs="?", help="fleet file (TOML, see docs/economics.md)")
    p.add_argument("--asic-file", type=Path, help="CSV of your own models (model,manufacturer,hashrate_ths,power_w)")
    p.add_argument("--f2pool", action="store_true", help="also load F2Pool's 2020 model list")
    p.add_argument("--list-models", action="store_true", help="print the machine catalog and exit")
    _add_market_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fleet)

    p = calc_sub.add_parser("surface", help="margin and cost per BTC over efficiency × power price; network cost")
    p.add_argument("--efficiencies", help="J/TH values, comma-separated")
    p.add_argument("--power-prices", help="USD/kWh values, comma-separated")
    p.add_argument("--pue", type=finite_float, default=1.0)
    p.add_argument("--pool-fee-pct", type=finite_float, default=0.0)
    p.add_argument("--mix", type=Path, help="fleet mix CSV (efficiency_j_per_th,share_pct,power_usd_per_kwh,label) instead of the "
                        "assumed late-2025 one, for the mix's mean cost and share at a loss")
    _add_market_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_surface)

    p = calc_sub.add_parser("underwater", help="which catalog machines lose money on power at a hashprice")
    p.add_argument("--hashprice-usd-per-ph-day", type=finite_float, required=True, help="hashprice, USD per PH/s per day")
    p.add_argument("--power-prices", help="USD/kWh values, comma-separated (default 0.03,0.05,0.07,0.1: the brief's)")
    p.add_argument("--asic-file", type=Path, help="CSV of your own models (model,manufacturer,hashrate_ths,power_w)")
    p.add_argument("--f2pool", action="store_true", help="also load F2Pool's 2020 model list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_underwater)

    p = calc_sub.add_parser("scenario", help="monthly projection of hashprice and fleet profit; treasury runway")
    p.add_argument("fleet", type=Path, help="fleet file (TOML)")
    p.add_argument("--asic-file", type=Path)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--start", help="first month, YYYY-MM (default: this month)")
    p.add_argument("--price-path", help="BTC price per month, USD, comma-separated (the last repeats)")
    p.add_argument("--price-change-pct-per-month", type=finite_float, default=0.0)
    p.add_argument("--difficulty-growth-pct-per-month", type=finite_float, default=0.0)
    p.add_argument("--halving-month", type=int, help="month index (0 = first) from which the subsidy halves")
    p.add_argument("--treasury-btc", type=finite_float, default=0.0)
    p.add_argument("--treasury-cash-usd", type=finite_float, default=0.0)
    p.add_argument("--hodl", action="store_true", help="keep mined BTC instead of selling it each month")
    _add_market_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_scenario)

    alerts = sub.add_parser("alerts", help="alert rules on metrics and the capitulation state")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", metavar="ALERTS")
    p = alerts_sub.add_parser("run", help="evaluate the rules once; deliver each crossing once")
    p.add_argument("rules", type=Path, help="rules file (TOML, see docs/economics.md)")
    add_db_arg(p)
    p.add_argument("--state", type=Path, help="state file (default: one per rules file and database in the "
                                              "data directory, alerts/RULES-<hash>.state.json beside the default database)")
    p.add_argument("--as-of", type=_iso, help="judge the values of this day (default: the latest)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_alerts_run)

    p = sub.add_parser("brief", help="the news-style miner summary, every figure sourced")
    add_db_arg(p)
    p.add_argument("--since", type=_iso, help="count miner outflows from this day (default: 30 days before --as-of)")
    p.add_argument("--as-of", type=_iso, help="the day the brief is written for (default: the last day with blocks)")
    p.add_argument("--hashprice-threshold", type=finite_float,
                   help="USD/PH/day for the 2021/2022 days-below count (default: today's hashprice)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.set_defaults(func=cmd_brief)
