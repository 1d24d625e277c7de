"""`labels import` and `miners outflow|reserve`: label sets and the questions asked of miner flows."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date
from pathlib import Path

from minerwatch.cli.common import add_db_arg, add_network_arg, db_path, print_json
from minerwatch.errors import UsageError
from minerwatch.metrics import series_stats as st
from minerwatch.metrics.labels import import_labels
from minerwatch.metrics.miner_questions import check_cohort, outflow_between
from minerwatch.metrics.miners import miner_reserve_btc, refresh_miner_flows
from minerwatch.metrics.registry import Query
from minerwatch.networks import get_network
from minerwatch.queries import entities as entities_q
from minerwatch.store import bind_network, connect, get_meta, transaction


def _day(text: str) -> date:
    """An argparse type: a UTC day as YYYY-MM-DD, with a message that says so."""
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from e


def _days(text: str) -> int:
    """An argparse type: a window of at least one day."""
    try:
        n = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from e
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} days: the window must be at least 1 day")
    return n


def _count(text: str) -> int:
    """An argparse type: how many to list, at least one."""
    try:
        n = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from e
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: list at least 1")
    return n


def btc_text(value_btc: float) -> str:
    """BTC as people read it, without trailing zeros: two decimals from 100 BTC up (a reserve of
    thousands), four from 1 BTC (an entity holding 4.9998 BTC is not "5.00 BTC"), to the satoshi below."""
    a = abs(value_btc)
    digits = 2 if a >= 100 else 4 if a >= 1 else 8
    text = f"{value_btc:,.{digits}f}"
    return (text.rstrip("0").rstrip(".") if digits > 2 else text) + " BTC"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("labels", help="user label sets (address → entity, category)")
    lsub = p.add_subparsers(dest="labels_command", metavar="ACTION")
    imp = lsub.add_parser("import", help="load a CSV (address,entity,category) as a new label-set version")
    add_db_arg(imp)
    add_network_arg(imp)
    imp.add_argument("file", type=Path)
    imp.add_argument("--name", default="default", help="label-set name (default: default)")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_labels_import)

    p = sub.add_parser("miners", help="miner flows: outflow totals and where the reserve stands")
    msub = p.add_subparsers(dest="miners_command", metavar="ACTION")
    out = msub.add_parser("outflow", help="total outflow between two dates, in BTC and USD")
    res = msub.add_parser("reserve", help="the reserve now: record low/high, lowest since, change over N days")
    for q in (out, res):
        add_db_arg(q)
        q.add_argument("--cohort", default="0hop",
                       help="0hop | 1hop | pool:<slug> | label:<entity> | entity:<id> (default 0hop)")
        q.add_argument("--json", action="store_true")
    out.add_argument("--from", dest="start", type=_day, required=True, help="first UTC day")
    out.add_argument("--to", dest="end", type=_day, help="last UTC day (default: the last stored)")
    out.set_defaults(func=cmd_outflow)
    res.add_argument("--as-of", type=_day, help="UTC day (default: the last stored)")
    res.add_argument("--days", type=_days, default=30, help="window of the change figure (default 30)")
    res.set_defaults(func=cmd_reserve)
    ent = msub.add_parser("entities", help="the miner entities of the imported lake results: size, reserve, seed",
                          description="List the miner entities (scripts co-spent with a coinbase's, docs/lake.md) "
                                      "that `minerwatch lake import` loaded, each a cohort entity:<height>.<vout> "
                                      "named after the first coinbase output paid to it.")
    add_db_arg(ent)
    ent.add_argument("--by", choices=entities_q.ORDERS, default="reserve",
                     help="largest first by reserve (BTC held now) or by scripts (default reserve)")
    ent.add_argument("--limit", type=_count, default=20, help="how many to list (default 20, at most 1000)")
    ent.add_argument("--json", action="store_true")
    ent.set_defaults(func=cmd_entities)


def cmd_labels_import(args: argparse.Namespace) -> int:
    # '@' and '+' build the version string (name@hash, versions joined by '+'): a name with
    # either, or none at all, could not be told apart in daily_miner_flows.
    if not args.name.strip() or any(c in args.name for c in "@+") or args.name != args.name.strip():
        raise UsageError(f"label-set name {args.name!r} cannot be used",
                         "use a non-empty name without '@', '+' or surrounding spaces, e.g. --name exchanges")
    path = db_path(args)
    con = connect(path)
    network = get_network(args.network or get_meta(con, "network") or "mainnet")
    bind_network(con, network.name, path)  # labels of one network must not land in another's database
    # Days changed are counted on 0hop and 1hop (a label import also makes the label cohorts' rows).
    flows_sql = "SELECT day, cohort, to_exchange_sat FROM daily_miner_flows WHERE cohort IN ('0hop', '1hop')"
    before = {(d, c): v for d, c, v in con.execute(flows_sql).fetchall()}
    with transaction(con):  # a bad file leaves the previous label set and flows as they were
        result = import_labels(con, args.file, args.name, network)
        refresh_miner_flows(con, 0)
    after = {(d, c): v for d, c, v in con.execute(flows_sql).fetchall()}
    changed = sorted(k for k in after if (after[k] or 0) != (before.get(k) or 0))
    report = {**asdict(result), "labels_version": get_meta(con, "labels_version"),
              "days_changed": len(changed),
              "to_exchange_btc_before": sum(v or 0 for k, v in before.items() if k[1] == "0hop") / 1e8,
              "to_exchange_btc_after": sum(v or 0 for k, v in after.items() if k[1] == "0hop") / 1e8}
    if args.json:
        print_json(report)
    else:
        print(f"label set {result.label_set}: {result.rows} labels, version {result.version}")
        print(f"miner → exchange flow (0-hop, all days): {report['to_exchange_btc_before']:,.8f} BTC → "
              f"{report['to_exchange_btc_after']:,.8f} BTC; {len(changed)} day(s) changed")
    return 0


def cmd_outflow(args: argparse.Namespace) -> int:
    con = connect(db_path(args), read_only=True)
    end = args.end or con.execute("SELECT max(CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE)) FROM blocks"
                                  ).fetchone()[0]
    if end is None:
        raise UsageError("the database holds no blocks", "run `minerwatch sync` first")
    if args.start > end:
        raise UsageError(f"--from {args.start} is after --to {end}", "give a first day on or before the last")
    check_cohort(con, args.cohort)
    first, last = con.execute("SELECT min(CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE)), "
                              "max(CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE)) FROM blocks").fetchone()
    if args.start > last or end < first:
        raise UsageError(f"no stored block between {args.start} and {end}",
                         f"the stored blocks run from {first} to {last}")
    total = outflow_between(con, args.start, end, args.cohort)
    # A --from before the first stored block sums from that block's day: the statement says so
    # rather than claim days the database never saw.
    since = total.first_day_with_data or args.start
    out = {**asdict(total), "first_day_with_data": since,
           "definition": "sum of miner_outflow_btc over the days; USD at each day's price",
           "reproduce": f"minerwatch metrics miner_outflow_btc --cohort {args.cohort} --from {args.start} --to {end}"}
    if args.json:
        print_json(out)
    else:
        usd = f"${total.outflow_usd:,.0f}" if total.outflow_usd is not None else \
            f"USD unknown ({total.days_without_price} day(s) without a price)"
        start = f"{since} (the first day with data; asked from {args.start})" if since > args.start else f"{since}"
        print(f"{args.cohort} miners sent {btc_text(total.outflow_btc)} out between {start} and {end} ({usd})")
    return 0


def cmd_reserve(args: argparse.Namespace) -> int:
    con = connect(db_path(args), read_only=True)
    check_cohort(con, args.cohort)
    rows = miner_reserve_btc(con, Query(cohort=args.cohort))
    now = st.latest(rows, args.as_of)
    if now is None:
        if args.as_of is not None and any(v is not None for _, v in rows):
            first = min(d for d, v in rows if v is not None)
            raise UsageError(f"no miner reserve on or before {args.as_of}", f"the first stored day is {first}")
        raise UsageError("no miner reserve stored", "run `minerwatch sync` first")
    low, high = st.record_low(rows, None, now.day), st.record_high(rows, None, now.day)
    change = st.change_over_days(rows, args.days, now.day)
    out = {
        "cohort": args.cohort, "day": now.day, "reserve_btc": now.value,
        "record_low_btc": low.value, "record_low_day": low.day, "is_record_low": low.day == now.day,
        "lowest_since": st.lowest_since(rows, now.day),
        "record_high_btc": high.value, "record_high_day": high.day,
        f"change_{args.days}d_btc": change.change_abs if change else None,
        f"change_{args.days}d_pct": change.change_pct if change else None,
        "reproduce": f"minerwatch metrics miner_reserve_btc --cohort {args.cohort}",
    }
    if args.json:
        print_json(out)
    else:
        _print_reserve(args.cohort, now.day, now.value, out, args.days)
    return 0


def _print_reserve(cohort: str, day: date, reserve_btc: float, out: dict, days: int) -> None:
    """What `miners reserve --json` says, in sentences."""
    standing = " — a record low" if out["is_record_low"] else " — a record high" if out["record_high_day"] == day else ""
    print(f"{cohort} miner reserve on {day}: {btc_text(reserve_btc)}{standing}")
    print(f"  record low  {btc_text(out['record_low_btc'])} on {out['record_low_day']}")
    print(f"  record high {btc_text(out['record_high_btc'])} on {out['record_high_day']}")
    if out["lowest_since"] is not None:
        print(f"  lowest since {out['lowest_since']} (the last day it held as little or less)")
    change, pct = out[f"change_{days}d_btc"], out[f"change_{days}d_pct"]
    if change is None:
        print(f"  change over {days} days: unknown (no value {days} days before)")
    else:
        sign = "+" if change >= 0 else "-"
        # A change from nothing (a cohort that held no coins N days before) has no percentage.
        known = pct is not None and pct == pct and abs(pct) != float("inf")
        print(f"  change over {days} days: {sign}{btc_text(abs(change))}" + (f" ({pct:+.1f} %)" if known else ""))


def cmd_entities(args: argparse.Namespace) -> int:
    con = connect(db_path(args), read_only=True)
    found = entities_q.list_entities(con, args.by, args.limit)
    if args.json:
        print_json(asdict(found))
        return 0
    print(f"{found.total:,} miner entities, from {found.source.describe()}")
    shown = "reserve" if found.order == "reserve" else "size"
    print(f"the {len(found.entities):,} largest by {shown}:")
    print(f"  {'entity':<18} {'scripts':>8} {'reserve':>18}  {'since':<10}  first coinbase output")
    for e in found.entities:
        seed = f"block {e.seed_height:,} output {e.seed_vout}" + (f", mined by {e.seed_pool}" if e.seed_pool else "")
        if e.labels:
            seed += "; labelled " + ", ".join(e.labels)
        since = e.reserve_day.isoformat() if e.reserve_day else "-"
        print(f"  {e.cohort:<18} {e.scripts:>8,} {btc_text(e.reserve_btc):>18}  {since:<10}  {seed}")
    print("series: minerwatch miners reserve --cohort ENTITY; "
          "minerwatch metrics miner_outflow_btc --cohort ENTITY")
    return 0
