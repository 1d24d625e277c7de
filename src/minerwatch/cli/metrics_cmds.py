"""`minerwatch metrics`, `calc hashprice`, `prices import|fetch`, `pools update|list`."""

from __future__ import annotations

import argparse
import csv
import difflib
import math
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from minerwatch.cli.common import add_db_arg, db_path, print_json
from minerwatch.cli.market_args import add_market_args, market_inputs
from minerwatch.cli.subsidy_args import add_subsidy_args, resolve_subsidy
from minerwatch.errors import StoreError, UsageError
from minerwatch.metrics import registry
from minerwatch.metrics.hashprice import calc_hashprice
from minerwatch.metrics.miner_questions import check_cohort
from minerwatch.store import connect

FORMATS = ("table", "csv", "json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metrics", help="read any daily series (`--list` names them all)")
    p.add_argument("name", nargs="?", help="metric name, e.g. hashprice_usd_per_ph_day")
    p.add_argument("--list", action="store_true", help="list every metric with its unit and definition")
    p.add_argument("--from", dest="start", type=_date, default=None, help="first UTC day (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", type=_date, default=None, help="last UTC day (YYYY-MM-DD)")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--cohort", default=None, help="for cohort series: 0hop | 1hop | pool:<slug> | label:<entity> | entity:<id> (a miner entity "
                        "of the imported lake results: `minerwatch miners entities`)")
    add_db_arg(p)
    p.set_defaults(func=cmd_metrics)

    calc = sub.choices.get("calc")
    if calc is None:
        calc = sub.add_parser("calc", help="what-if calculators: the market you give, else the database's at its tip")
        calc_sub = calc.add_subparsers(dest="calc_command", metavar="CALC")
    else:  # another command module created `calc` first: add to its sub-commands
        calc_sub = next(a for a in calc._actions if isinstance(a, argparse._SubParsersAction))
    p = calc_sub.add_parser("hashprice", help="hashprice and hashvalue from difficulty, price, subsidy and fees")
    add_market_args(p, price_dest="price_usd")
    add_subsidy_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_calc_hashprice)

    prices = sub.add_parser("prices", help="the daily BTC/USD history that values USD figures")
    prices_sub = prices.add_subparsers(dest="prices_command", metavar="PRICES")
    p = prices_sub.add_parser("import", help="replace or extend daily prices from a CSV (date,price_usd)")
    p.add_argument("file", type=Path)
    add_db_arg(p)
    p.set_defaults(func=cmd_prices_import)
    p = prices_sub.add_parser("fetch", help="fetch today's spot price, and with --since the days before it, from "
                                            "public exchange APIs (network access)")
    p.add_argument("--exchanges", default="coinbase,kraken,bitstamp",
                   help="comma-separated: coinbase, kraken, bitstamp, gemini (default: the three US exchanges)")
    p.add_argument("--since", type=_date, metavar="DATE",
                   help="also every day from DATE (YYYY-MM-DD) to yesterday: the open of each exchange's daily "
                        "candle, averaged (coinbase, kraken, bitstamp)")
    p.add_argument("--store", action="store_true", help="write the averages as the days' prices in the database")
    add_db_arg(p)
    p.set_defaults(func=cmd_prices_fetch)

    pools = sub.add_parser("pools", help="mining-pool attribution (mempool.space's pools-v2.json)")
    pools_sub = pools.add_subparsers(dest="pools_command", metavar="POOLS")
    p = pools_sub.add_parser("update", help="swap in a newer pools-v2.json and re-attribute what changes")
    p.add_argument("file", type=Path)
    add_db_arg(p)
    p.set_defaults(func=cmd_pools_update)
    p = pools_sub.add_parser("list", help="pool shares and hashrate over a window")
    p.add_argument("--interval", default="1w", help="24h, 3d, 1w, 1m, 3m, 6m, 1y, 2y, 3y or all (default 1w)")
    p.add_argument("--json", action="store_true")
    add_db_arg(p)
    p.set_defaults(func=cmd_pools_list)


def finite_float(text: str) -> float:
    """An argparse type: a number; float() alone would also take "nan" and "inf" (and "1e999")."""
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from e
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from e


def _open_read(args: argparse.Namespace) -> duckdb.DuckDBPyConnection:
    path = db_path(args)
    if not path.exists():
        raise StoreError(f"no database at {path}", "run `minerwatch sync` (or `minerwatch demo`) first, or pass --db")
    return connect(path, read_only=True)


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:.6g}" if abs(v) < 1e15 else f"{v:.6e}"


def cmd_metrics(args: argparse.Namespace) -> int:
    if args.list or not args.name:
        metrics = sorted(registry.load_all().values(), key=lambda m: (m.family, m.name))
        if args.format == "json":
            print_json([{"metric": m.name, "unit": m.unit, "family": m.family, "cohort": m.cohort,
                         "definition": m.definition} for m in metrics])
        else:
            width = max(len(m.name) for m in metrics)
            for m in metrics:
                print(f"{m.name:<{width}}  {m.unit:<11} {m.definition}")
        return 0
    m = _metric_named(args.name)
    if args.start and args.end and args.start > args.end:
        raise UsageError(f"--from {args.start} is after --to {args.end}", "give the earlier day with --from")
    if args.cohort is not None and not m.cohort:
        raise UsageError(f"{m.name} has no cohorts", "leave out --cohort; `minerwatch metrics --list --format json` "
                         "marks the series that take one (\"cohort\": true)")
    q = registry.Query(args.start, args.end, args.cohort or "0hop")
    if m.cohort:
        _check_cohort_syntax(q.cohort)
    con = _open_read(args)
    try:
        if m.cohort:
            _check_cohort_known(con, q.cohort)
        r = registry.read(con, m.name, q)
    finally:
        con.close()
    if r.unavailable:
        raise StoreError(f"the database has no table for {m.name}",
                         "run `minerwatch sync` once with this version to migrate and compute the metrics")
    rows = r.points
    for w in r.warnings:   # stderr: the table or CSV on stdout stays pipeable
        print(f"warning: {w}", file=sys.stderr)
    if args.format == "json":
        print_json({"metric": m.name, "unit": m.unit, "definition": m.definition,
                    **({"cohort": q.cohort} if m.cohort else {}), "rows": registry.rows_as_dicts(rows),
                    "warnings": list(r.warnings)})
    elif args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["date", m.name])
        for d, v in rows:
            w.writerow([d.isoformat(), "" if v is None else repr(v)])
    else:
        print(f"{m.name} ({m.unit}): {m.definition}")
        for d, v in rows:
            print(f"{d.isoformat()}  {_fmt(v)}")
    return 0


def _metric_named(name: str) -> registry.Metric:
    """registry.get, with close spellings added to the hint when its prefix match finds none
    (e.g. "hashprce_usd_per_ph_day")."""
    metrics = registry.load_all()
    if name in metrics:
        return metrics[name]
    close = [m for m in metrics if name.split("_")[0] in m]
    close += [m for m in difflib.get_close_matches(name, list(metrics), n=5, cutoff=0.6) if m not in close]
    raise UsageError(f"no metric named {name!r}",
                     "run `minerwatch metrics --list`" + (f"; did you mean: {', '.join(close[:8])}" if close else ""))


def _check_cohort_syntax(cohort: str) -> None:
    if cohort not in ("0hop", "1hop") and not (cohort.startswith(("pool:", "label:", "entity:"))
                                              and cohort.partition(":")[2]):
        raise UsageError(f"unknown cohort {cohort!r}", "use 0hop, 1hop, pool:<slug>, label:<entity> or entity:<id>")


def _check_cohort_known(con: duckdb.DuckDBPyConnection, cohort: str) -> None:
    """check_cohort, translating a database without pool or label tables."""
    try:
        check_cohort(con, cohort)
    except duckdb.CatalogException as e:
        raise StoreError("the database has no pool or label tables yet",
                         "run `minerwatch sync` once with this version to migrate") from e


def cmd_calc_hashprice(args: argparse.Namespace) -> int:
    inputs = market_inputs(args, price_dest="price_usd")
    if inputs.difficulty is None or inputs.price_usd is None:
        lacking = " and ".join(f"--{n}" for n, v in (("difficulty", inputs.difficulty), ("price", inputs.price_usd))
                               if v is None)
        raise UsageError(f"no {lacking} given" + (f", and {inputs.missing}" if inputs.missing else ""),
                         "give --difficulty 149.3T --price 86075, or sync a database (or build the demo's): "
                         "its tip's difficulty, price and fees are the defaults")
    subsidy = resolve_subsidy(args)
    r = calc_hashprice(inputs.difficulty, inputs.price_usd, subsidy.btc, inputs.fees_btc_per_block)
    out: dict[str, Any] = asdict(r) | subsidy.as_fields() | inputs.as_fields()
    out["definition"] = "Hashrate Index: (subsidy + fees per block) × 86,400 × 1e15 / (difficulty × 2^32) BTC per PH/s per day"
    if args.json:
        print_json(out)
    else:
        print(f"hashprice  {r.hashprice_usd_per_ph_day:,.2f} USD/PH/day  ({r.hashprice_usd_per_th_day:.5f} USD/TH/day)")
        print(f"hashvalue  {r.hashvalue_btc_per_ph_day:.8f} BTC/PH/day  ({r.hashvalue_sat_per_th_day:.2f} sat/TH/day)")
        print(f"implied hashrate  {r.implied_hashrate_ehs:,.1f} EH/s at difficulty {r.difficulty:.4g}")
        print(f"subsidy  {subsidy.btc:g} BTC" + (f" at height {subsidy.height:,}" if subsidy.height is not None else "")
              + f" ({subsidy.source})")
        for name, source in inputs.sources.items():
            print(f"{name.replace('_', ' ')}  from {source}")
    return 0


def cmd_prices_import(args: argparse.Namespace) -> int:
    from minerwatch.metrics import prices
    from minerwatch.metrics.network import first_height_on_or_after

    con = connect(db_path(args))
    try:
        result = prices.import_prices(con, args.file)
        height = first_height_on_or_after(con, result.first_date) if result.first_date else None
        if height is not None:
            registry.refresh_all(con, height)  # every USD figure from that day on
    finally:
        con.close()
    days = "1 day" if result.rows == 1 else f"{result.rows} days"
    print(f"imported {days} ({result.first_date} … {result.last_date}) from {args.file}")
    return 0


def cmd_prices_fetch(args: argparse.Namespace) -> int:
    from minerwatch.feeds.spot import fetch_spot_usd

    exchanges = [e.strip() for e in args.exchanges.split(",") if e.strip()]
    if args.since is not None:
        return _prices_since(args, exchanges)
    quote = fetch_spot_usd(exchanges)
    if args.store:
        from minerwatch.metrics import prices
        from minerwatch.metrics.network import first_height_on_or_after

        con = connect(db_path(args))
        try:
            prices.ensure_default_prices(con, 0)
            prices.upsert_prices(con, [(quote.day, quote.price_usd)], quote.source)
            height = first_height_on_or_after(con, quote.day)
            if height is not None:
                registry.refresh_all(con, height)
        finally:
            con.close()
    print_json(quote.as_dict())
    return 0


def _prices_since(args: argparse.Namespace, exchanges: list[str]) -> int:
    """`prices fetch --since DATE`: every day from DATE to today, stored with --store."""
    from datetime import datetime, timezone

    from minerwatch.metrics import prices
    from minerwatch.metrics.network import first_height_on_or_after

    today = datetime.now(timezone.utc).date()
    if args.since > today:
        raise UsageError(f"--since {args.since} is in the future", f"give a day up to {today}")
    quotes = prices.fetch_missing_prices(args.since, today, prices.LivePrices(tuple(exchanges)))
    if args.store:
        con = connect(db_path(args))
        try:
            result = prices.store_quotes(con, quotes)
            height = first_height_on_or_after(con, result.first_date) if result.first_date else None
            if height is not None:
                registry.refresh_all(con, height)   # every USD figure from the first day written on
        finally:
            con.close()
    print_json([q.as_dict() for q in quotes])
    return 0


def cmd_pools_update(args: argparse.Namespace) -> int:
    from minerwatch.metrics.pool_share import update_pool_list

    con = connect(db_path(args))
    try:
        result = update_pool_list(con, args.file)
    finally:
        con.close()
    print(f"pool list {result.old_version} → {result.new_version}: {result.blocks_changed} of "
          f"{result.blocks_checked} blocks re-attributed")
    return 0


def cmd_pools_list(args: argparse.Namespace) -> int:
    from minerwatch.queries.mining import interval_pool_shares

    con = _open_read(args)
    try:
        window = interval_pool_shares(con, args.interval)
    except duckdb.CatalogException as e:
        raise StoreError("the database has no pool attribution yet", "run `minerwatch sync` with this version") from e
    finally:
        con.close()
    if args.json:
        print_json(window.as_dict())
        return 0
    print(f"{window.blocks} blocks, {window.interval} to {window.end_time_utc}; network {window.network_hashrate_ehs:.2f} EH/s")
    for s in window.pools:
        print(f"{s.name:<24} {s.blocks:>6} {s.share_pct:6.2f} %  {s.hashrate_ehs:8.2f} EH/s "
              f"[{s.low95_ehs:.2f}, {s.high95_ehs:.2f}]")
    return 0


