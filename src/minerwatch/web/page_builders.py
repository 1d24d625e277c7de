"""What each dashboard page shows, built from the query layer into a page document (the JSON twin)."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import duckdb

from minerwatch.errors import StoreError, UsageError
from minerwatch.queries import block_series, headline, mining, series, signals
from minerwatch.queries import breakeven as breakeven_q
from minerwatch.queries.breakeven import median_machine_line, surface
from minerwatch.queries.intervals import Point, window_start
from minerwatch.web.charts import PageContext, day_s, era_chart, figure_doc, more_series, time_chart, words
from minerwatch.web.entity_builders import reserve_entities


def _fig(f: headline.Figure) -> dict[str, Any]:
    note = []
    if f.at_record_low:
        note.append("record low")
    elif f.near_record_low:
        note.append("near its record low")
    note += [words(w) for w in f.warnings]
    # The change is a number the browser writes (static/format.js: "−5.1 % over 30 days").
    return {**figure_doc(series.label(f.key), f.latest.value if f.latest else None, f.unit, f.key,
                         f.latest.day if f.latest else None, ", ".join(note)),
            "change_30d_pct": f.change_30d_pct}


# The capitulation watch names its signals by id (the CLI and the API keep them); a page shows words.
SIGNAL_LABELS = {
    "hash_ribbons": "Hash ribbons", "miner_position_index": "Miner Position Index",
    "reserve_near_record_low": "Miner reserve near its low", "hashprice_below_breakeven": "Hashprice below breakeven",
    "negative_retarget_forecast": "Difficulty forecast to fall", "difficulty_ribbon_compressed": "Difficulty ribbon compressed",
}


def signal_label(name: str) -> str:
    """A capitulation signal's name in words (a signal added later reads as its id in words)."""
    return SIGNAL_LABELS.get(name) or series.label(name).replace("_", " ").capitalize()


def _signal_on(s: signals.SignalState) -> str:
    if s.warming_up_until is not None:
        return f"warming up until {s.warming_up_until.isoformat()}"
    return "missing" if s.on is None else ("yes" if s.on else "no")


def capitulation_table(ctx: PageContext, with_episodes: bool = False) -> signals.Watch | None:
    assert ctx.con is not None
    w = signals.watch(ctx.con) if with_episodes else None
    cs = w.state if w is not None else signals.capitulation_state(ctx.con)
    ctx.figures.append(figure_doc("capitulation state", None, cs.state, day=cs.as_of,
                                  note=f"{cs.signals_on} of {cs.signals_with_data} signal families with data on"))
    ctx.tables.append({"id": "capitulation", "title": f"Capitulation watch: {cs.state}",
                       "columns": ["signal", "on", "value", "threshold", "unit", "since", "rule"],
                       "row_keys": [s.name for s in cs.signals],
                       "rows": [[signal_label(s.name), _signal_on(s), s.value, s.threshold, s.unit,
                                 s.since.isoformat() if s.since else None,
                                 words(s.missing or (f"{s.rule}; line: {s.basis}" if s.basis else s.rule))]
                                for s in cs.signals]})
    if w is not None:
        ctx.tables.append({"id": "episodes", "title": "Past capitulation episodes",
                           "columns": ["start", "end", "days on", "span, days", "most signal families on"],
                           "rows": [[e.start.isoformat(), e.end.isoformat(), e.days, e.span_days, e.max_signals_on]
                                    for e in w.episodes]})
    return w


def overview(ctx: PageContext) -> None:
    assert ctx.con is not None
    ctx.figures.extend(_fig(f) for f in headline.headline(ctx.con))
    capitulation_table(ctx)
    retarget_card(ctx)
    time_chart(ctx, "hashprice", "Hashprice", ["hashprice_usd_per_ph_day"], record_low=True, price=True)
    time_chart(ctx, "hashrate", "Network hashrate", ["hashrate_ehs_7d"], per_block=["hashrate_brk_ehs"],
               log_toggle=True)
    time_chart(ctx, "reserve", "Miner reserve", ["miner_reserve_btc"], record_low=True, price=True)
    catalog = series.catalog()
    ctx.tables.append({"id": "all-series", "title": "Every series",
                       "columns": ["series", "unit", "family", "definition"],
                       "links": {"series": "/series/"}, "link_keys": [m.name for m in catalog],
                       "rows": [[m.label, m.unit, m.family, words(m.definition)] for m in catalog]})


def _cohort_choice(ctx: PageContext) -> str | None:
    cohort = ctx.params.get("cohort")
    ctx.choices.append({"param": "cohort", "label": "cohort", "options": ["0hop", "1hop"],
                        "current": cohort or "0hop"})
    return cohort


def reserve(ctx: PageContext) -> None:
    cohort = _cohort_choice(ctx)
    chart = time_chart(ctx, "reserve", "Miner reserve", ["miner_reserve_btc"], cohort=cohort, record_low=True,
                       price=True)
    if ctx.con is not None and (cohort or "0hop") in ("0hop", "1hop"):
        era_chart(ctx, "reserve-by-era", "Miner reserve by era in which the coins were mined", cohort or "0hop")
    f = headline.figure(ctx.con, "miner_reserve_btc") if ctx.con is not None else None
    if f is not None:
        ctx.figures.append(_fig(f))
        if f.record_low:
            reserve_low(ctx, f, cohort, chart)
    more_series(ctx, ("miner_reserve", "miner_supply"))
    if ctx.con is not None:
        reserve_entities(ctx)


def reserve_low(ctx: PageContext, f: headline.Figure, cohort: str | None, chart: dict[str, Any] | None) -> None:
    """The reserve's record low, unless it is the first stored day: a cohort's balance starts near
    zero, so its all-time low is where the history starts, not news. Then the low of the trailing
    365 days is the figure (the capitulation watch's reserve signal reads the same window)."""
    assert ctx.con is not None and f.record_low is not None
    points = [(d, v) for d, v in series.full_history(ctx.con, "miner_reserve_btc", cohort or "0hop") if v is not None]
    if not points or f.record_low.day != points[0][0]:
        ctx.figures.append(figure_doc("record low", f.record_low.value, f.unit, f.key, f.record_low.day))
        return
    last = points[-1][0]
    year = [(d, v) for d, v in points if (last - d).days < 365]
    day, value = min(year, key=lambda p: (p[1], p[0]))
    ctx.figures.append(figure_doc("lowest in the last 365 days", value, f.unit, f.key, day,
                                  note=f"the all-time low is the first stored day, {points[0][0].isoformat()}, "
                                       "where the history starts"))
    if chart is not None:
        chart.pop("earlier_markers", None)
        chart["markers"] = [{"x": day_s(day), "y": value, "label": "lowest in 365 days", "day": day.isoformat()}] \
            if chart["x"] and chart["x"][0] <= day_s(day) <= chart["x"][-1] else []


def parse_since(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise UsageError(f"since={text!r} is not a date", "use YYYY-MM-DD, e.g. since=2024-04-20") from e


def check_params(con: duckdb.DuckDBPyConnection | None, params: dict[str, str]) -> None:
    """Refuse, before the page frame is sent, the parameters that are cheap to check (one EXISTS
    query at most): a date that is not one, a pool or label cohort that names nobody."""
    if params.get("since"):
        parse_since(params["since"])
    if con is not None and params.get("cohort"):
        series.check_cohort(con, params["cohort"])
    if con is not None and params.get("slug") and block_series.pool_name(con, params["slug"]) is None:
        raise UsageError(f"no stored block is attributed to a pool {params['slug']!r}",
                         "see /pools for the pools and their pages")


def _since(ctx: PageContext) -> date | None:
    text = ctx.params.get("since")
    if text:
        return parse_since(text)
    return window_start(ctx.interval, ctx.end) if ctx.end else None


def outflows(ctx: PageContext) -> None:
    cohort = _cohort_choice(ctx)
    time_chart(ctx, "flows", "Miner flows per day", ["miner_outflow_btc", "miner_inflow_btc", "miner_netflow_btc"],
               cohort=cohort, price=True)
    out = series.read_series(ctx.con, "miner_outflow_btc", "all", cohort, 10_000) \
        if ctx.con is not None and series.has_metric("miner_outflow_btc") else None
    if out is None:
        return
    since = _since(ctx)
    ctx.inputs.append({"param": "since", "label": "cumulative since", "type": "date",
                       "value": since.isoformat() if since else ""})
    price = dict(series.full_history(ctx.con, "price_usd")) if series.has_metric("price_usd") else {}
    total_btc = total_usd = 0.0
    unpriced = 0
    cum: list[Point] = []
    for d, v in out.points:
        if since is not None and d < since:
            continue
        total_btc += v or 0.0
        p = price.get(d)
        if v:
            if p is None:
                unpriced += 1
            else:
                total_usd += v * p
        cum.append((d, total_btc))
    label = f"since {since.isoformat()}" if since else "since the first stored day"
    time_chart(ctx, "cumulative", f"Cumulative miner outflow {label}", [], unit="BTC",
               extra=[("miner_outflow_btc", f"cumulative outflow {label}", cum)])
    ctx.figures.append(figure_doc(f"outflow {label}", total_btc, "BTC", "miner_outflow_btc"))
    ctx.figures.append(figure_doc(f"worth at each day's price {label}", total_usd if price else None, "USD",
                                  "miner_outflow_btc", note=f"{unpriced} days without a price" if unpriced else ""))
    more_series(ctx, ("miner_outflow", "miner_inflow", "miner_netflow", "miner_rolling", "mpi", "outflow"))


def _threshold(ctx: PageContext) -> tuple[float | None, str]:
    text = ctx.params.get("threshold")
    if text:
        try:
            value = float(text)
        except ValueError as e:
            raise UsageError(f"threshold={text!r} is not a number", "e.g. threshold=45 (USD/PH/day)") from e
        if not math.isfinite(value):
            raise UsageError("threshold must be finite", "e.g. threshold=45")
        return value, f"threshold {value:g}"
    if ctx.con is None:
        return None, ""
    m = surface(ctx.con).median_machine
    if m is None:
        return None, ""
    return m.breakeven_hashprice_usd_per_ph_day, f"breakeven of the median machine on {m.day}: {m.describe()}"


def hashprice(ctx: PageContext) -> None:
    threshold, label = _threshold(ctx)
    # Without a threshold of the reader's the line is the median machine's breakeven of each day, as
    # the capitulation watch draws it (a newer model lowers it); a 24h or 3d window spans a day or
    # two, so there it is the last day's level.
    daily = None
    if not ctx.params.get("threshold") and not ctx.per_block and threshold is not None:
        daily = median_machine_line(d for d, _ in series.read_series(
            ctx.con, "hashprice_usd_per_ph_day", ctx.interval, None, 10_000, ctx.end).points)
    ctx.inputs.append({"param": "threshold", "label": "threshold (USD/PH/day; empty: the median machine's breakeven)",
                       "type": "number", "value": f"{threshold:.4g}" if threshold is not None and daily is None else ""})
    th = [{"y": threshold, "label": label}] if threshold is not None and daily is None else []
    variants = [m.name for m in series.catalog() if m.name.startswith("hashprice_") and m.name != "hashprice_usd_per_ph_day"]
    chart = time_chart(ctx, "hashprice", "Hashprice", ["hashprice_usd_per_ph_day"] + variants, record_low=True,
                       thresholds=th, price=True,
                       extra=[("median_machine_breakeven_usd_per_ph_day", "median machine's breakeven", daily)]
                       if daily else None)
    time_chart(ctx, "hashvalue", "Hashvalue", [m.name for m in series.catalog() if m.name.startswith("hashvalue_")])
    f = headline.figure(ctx.con, "hashprice_usd_per_ph_day") if ctx.con is not None else None
    if f is not None:
        ctx.figures.append(_fig(f))
        if f.record_low:
            ctx.figures.append(figure_doc("record low", f.record_low.value, f.unit, f.key, f.record_low.day))
    if chart is not None and threshold is not None:
        s = series.read_series(ctx.con, "hashprice_usd_per_ph_day", ctx.interval, None, 10_000, ctx.end)
        # Each day against its own line: the reader's threshold, or that day's median machine.
        lines = dict(daily) if daily else {}
        pairs = [(v, lines.get(d) if daily else threshold) for d, v in s.points if v is not None]
        pairs = [(v, t) for v, t in pairs if t is not None]
        below = sum(1 for v, t in pairs if v < t)
        what = "the median machine's breakeven" if daily else f"{threshold:.4g}"
        ctx.figures.append(figure_doc(f"days below {what} in {ctx.interval}", float(below), "days",
                                      "hashprice_usd_per_ph_day",
                                      note=f"{below / len(pairs) * 100:.1f} % of {len(pairs)} days" if pairs else ""))
    more_series(ctx, ("hashprice", "hashvalue"))


def hashrate(ctx: PageContext) -> None:
    names = {m.name for m in series.catalog()}
    # Shortest window first (1, 7, 30, 60 days), then the other vendors' estimators.
    windows = {"hashrate_ehs": 1, "hashrate_ehs_7d": 7, "hashrate_ehs_30d": 30, "hashrate_ehs_60d": 60}
    estimators = sorted((n for n in names if n.startswith("hashrate") and not n.endswith(("_low95", "_high95"))),
                        key=lambda n: (windows.get(n, 1000), n))
    # The 7-day window is the usual smoother (one day's ±8 % is noise); a 24h or 3d window has one to
    # three days, so there the estimators with a value at every block are offered.
    if ctx.per_block:
        estimators = [n for n in estimators if block_series.has_block_series(n)]
    default = "hashrate_brk_ehs" if ctx.per_block else "hashrate_ehs_7d"
    chosen = ctx.params.get("estimator", default if default in estimators else "hashrate_ehs")
    daily_only = ctx.per_block and chosen in names and chosen not in estimators
    if daily_only:
        ctx.notes.append(f"{series.label(chosen)} is a daily series; in {ctx.interval} choose "
                         + " or ".join(series.label(n) for n in estimators) + ", or 1w and longer.")
    elif chosen not in estimators:
        raise UsageError(f"unknown estimator {chosen!r}",
                         "choose one of: " + (", ".join(estimators) or "(none computed yet)"))
    ctx.choices.append({"param": "estimator", "label": "estimator", "options": estimators,
                        "option_labels": [series.label(n) for n in estimators], "current": chosen})
    # The 95 % band is the estimator's own registered interval series (Byar's Poisson bounds), when it has one.
    band = [n for n in (f"{chosen}_low95", f"{chosen}_high95") if n in names]
    if len(band) < 2:
        band = []
    if not daily_only:
        time_chart(ctx, "hashrate", f"Network hashrate: {series.label(chosen).removeprefix('Hashrate, ')}",
                   [chosen] + band, note="dashed: 95 % interval (Poisson, from the window's block count)" if band else "",
                   log_toggle=True)
    time_chart(ctx, "difficulty", "Difficulty", ["difficulty"], log_toggle=True)
    # The ribbon is one picture: its averages from the shortest window to the longest (compression
    # marks miner stress); the registry's order is alphabetical (sma128 before sma14).
    ribbon = sorted((n for n in names if n.startswith("difficulty_sma")), key=lambda n: int(n.removeprefix("difficulty_sma")))
    time_chart(ctx, "difficulty-ribbon", "Difficulty ribbon", ribbon, log_toggle=True,
               labels={n: n.removeprefix("difficulty_sma") + "-day" for n in ribbon},
               note="averages of the daily difficulty over 14 to 200 days; when they bunch together, miners are under stress")
    retarget_card(ctx)
    more_series(ctx, ("difficulty",))


def retarget_card(ctx: PageContext) -> None:
    """The next difficulty adjustment as mempool.space shows it (progress, date, blocks left, expected
    change with its 95 % interval, the previous adjustment) and the next halving; BRK's pace
    (metrics/retarget.py), the one forecast of the dashboard, the CLI and /api/v1/difficulty."""
    if ctx.con is None or ctx.state.tip_height is None:
        return
    try:
        fc = mining.retarget_forecast(ctx.con)
    except StoreError:                    # the epoch's first block is not stored
        ctx.missing.append("retarget forecast")
        return
    h = mining.next_halving(ctx.con)
    ctx.cards.append({
        "id": "retarget", "title": "Next difficulty adjustment", "metric": "retarget_forecast_pct",
        "blocks_in_epoch": fc.blocks_in_epoch, "epoch_blocks": fc.blocks_in_epoch + fc.remaining_blocks,
        "progress_pct": fc.progress_pct, "remaining_blocks": fc.remaining_blocks,
        "next_retarget_height": fc.next_retarget_height, "estimated_time_s": fc.estimated_retarget_time_s,
        "change_pct": fc.change_pct, "change_low_pct": fc.change_low_pct, "change_high_pct": fc.change_high_pct,
        "previous_change_pct": fc.previous_change_pct, "mean_block_time_s": fc.mean_block_time_s,
        "difficulty": fc.current_difficulty, "tip_time_s": fc.tip_time_s,
        "halving": {"height": h.height, "blocks_remaining": h.blocks_remaining, "estimated_time_s": h.estimated_time_s,
                    "subsidy_btc_now": h.subsidy_btc_now, "subsidy_btc_after": h.subsidy_btc_after},
    })


def revenue(ctx: PageContext) -> None:
    time_chart(ctx, "revenue", "Miner revenue per day", ["revenue_btc", "fees_btc"])
    usd = [m.name for m in series.catalog() if m.name.startswith(("revenue_", "fees_")) and m.name.endswith("usd")]
    if usd:
        time_chart(ctx, "revenue-usd", "Miner revenue per day in USD", usd)
    rev = series.read_series(ctx.con, "revenue_btc", ctx.interval, None, 10_000, ctx.end) \
        if ctx.con is not None and series.has_metric("revenue_btc") and series.has_metric("fees_btc") else None
    if rev is not None:
        fees = dict(series.read_series(ctx.con, "fees_btc", ctx.interval, None, 10_000, ctx.end).points)
        share = [(d, (fees.get(d) or 0.0) / v * 100 if v else None) for d, v in rev.points]
        time_chart(ctx, "fee-share", "Fee share of revenue", [], unit="%",
                   extra=[("fee_share_pct", "fees / revenue", share)])
    more_series(ctx, ("revenue", "fees", "fee_", "subsidy", "thermocap"))


def pools(ctx: PageContext) -> None:
    if ctx.con is None or ctx.state.tip_time_s is None:
        return
    shares = mining.interval_pool_shares(ctx.con, ctx.interval)
    if not shares.attributed:
        ctx.missing.append("pool attribution")
        return
    ctx.figures.append(figure_doc(f"blocks in {ctx.interval}", float(shares.blocks), "blocks"))
    ctx.tables.append({"id": "pools", "title": f"Pools by blocks mined, {ctx.interval}",
                       "columns": ["rank", "pool", "blocks", "share", "hashrate", "95 % interval", "empty blocks"],
                       "units": [None, None, None, "%", "EH/s", None, None],
                       "links": {"pool": "/pools/"}, "link_keys": [p.slug for p in shares.pools],
                       "rows": [[i, p.name, p.blocks, round(p.share_pct, 2), p.hashrate_ehs,
                                 {"low": p.low95_ehs, "high": p.high95_ehs, "unit": "EH/s"}, p.empty_blocks]
                                for i, p in enumerate(shares.pools, start=1)]})
    top = shares.pools[:12]
    ctx.cards.append({"id": "pool-shares", "title": f"Share of blocks by pool, {ctx.interval}",
                      "rows": [{"slug": p.slug, "name": p.name, "share_pct": p.share_pct, "blocks": p.blocks}
                               for p in top],
                      "rest_pct": sum(p.share_pct for p in shares.pools[len(top):])})
    pool_share_history(ctx, [(p.slug, p.name) for p in shares.pools[:6] if p.slug != "unknown"])


SHARE_DAYS = 7     # a day's share of ~144 blocks is ±8 % noise for a 10 % pool; a week's is ±3 %


def pool_share_history(ctx: PageContext, pools: list[tuple[str, str]]) -> None:
    """Each pool's share of blocks over time: the trailing-7-day share of the daily pool_blocks over
    the daily blocks; in 24h and 3d, each pool's running count of blocks, block by block."""
    if ctx.con is None or not pools:
        return
    if ctx.per_block:
        found = block_series.pool_blocks_in_window(ctx.con, ctx.interval)
        counts = {slug: 0 for slug, _ in pools}
        x: list[int] = []
        cols: dict[str, list[float | None]] = {slug: [] for slug, _ in pools}
        for t, slug, _ in found:
            if slug in counts:
                counts[slug] += 1
            x.append(t)
            for s_, col in cols.items():
                col.append(float(counts[s_]))
        if x:
            ctx.charts.append({"id": "pool-share-history", "title": f"Blocks found in {ctx.interval}, running count",
                               "x_kind": "time", "x_step": "block", "unit": "blocks", "x": x,
                               "series": [{"metric": f"pool:{slug}", "label": name, "values": cols[slug]}
                                          for slug, name in pools],
                               "markers": [], "thresholds": [], "note": "One step per block.",
                               "definition": "blocks attributed to the pool since the window's start"})
        return
    all_blocks = dict(series.full_history(ctx.con, "blocks"))
    extra = []
    for slug, name in pools:
        mine = dict(series.full_history(ctx.con, "pool_blocks", f"pool:{slug}"))
        days = sorted(all_blocks)
        pts = []
        for i, d in enumerate(days):
            window = days[max(0, i - SHARE_DAYS + 1):i + 1]
            total = sum(all_blocks[w] or 0 for w in window)
            pts.append((d, sum(mine.get(w) or 0 for w in window) / total * 100 if total else None))
        start = window_start(ctx.interval, ctx.end) if ctx.end else None
        extra.append((f"pool:{slug}", name, [(d, v) for d, v in pts if start is None or d >= start]))
    time_chart(ctx, "pool-share-history", "Share of blocks over time, trailing 7 days", [], unit="%", extra=extra,
               note=f"share of the blocks of the {SHARE_DAYS} days up to each day (one day's share is noisy: "
                    "±8 % for a 10 % pool)")


def one_pool(ctx: PageContext) -> None:
    """One pool: its blocks, share and hashrate (with the Poisson interval) in the window, its share
    and hashrate over time, its latest blocks, and the reserve and flows of its coinbase cohort."""
    slug = ctx.params["slug"]
    if ctx.con is None:
        return
    name = block_series.pool_name(ctx.con, slug)
    if name is None:
        check_params(ctx.con, {"slug": slug})
        return
    shares = mining.interval_pool_shares(ctx.con, ctx.interval)
    p = next((x for x in shares.pools if x.slug == slug), None)
    ctx.figures.append(figure_doc(f"blocks in {ctx.interval}", float(p.blocks if p else 0), "blocks"))
    ctx.figures.append(figure_doc(f"share of blocks in {ctx.interval}", p.share_pct if p else 0.0, "%"))
    if p is not None:
        ctx.figures.append({**figure_doc(f"hashrate in {ctx.interval}", p.hashrate_ehs, "EH/s", "pool_hashrate_ehs",
                                         note=f"Poisson, from {p.blocks} blocks"),
                            "low": p.low95_ehs, "high": p.high95_ehs})
    pool_share_history(ctx, [(slug, name)])
    cohort = f"pool:{slug}"
    time_chart(ctx, "pool-hashrate", f"{name}: hashrate", ["pool_hashrate_ehs"], cohort=cohort)
    time_chart(ctx, "pool-reserve", f"{name}: reserve of its coinbase cohort", ["miner_reserve_btc"], cohort=cohort,
               price=True)
    time_chart(ctx, "pool-flows", f"{name}: flows of its coinbase cohort",
               ["miner_outflow_btc", "miner_inflow_btc", "miner_netflow_btc"], cohort=cohort)
    recent = block_series.pool_recent_blocks(ctx.con, slug)
    ctx.tables.append({"id": "pool-blocks", "title": f"{name}: latest blocks",
                       "columns": ["height", "time (UTC)", "transactions", "fees"],
                       "units": [None, "time", None, "BTC"],
                       "rows": [[h, t, n, f / 1e8] for h, t, n, f in recent]})


def _number(ctx: PageContext, param: str, default: float, low: float, high: float, example: str) -> float:
    text = ctx.params.get(param, "")
    if text == "":
        return default
    try:
        value = float(text)
    except ValueError as e:
        raise UsageError(f"{param}={text!r} is not a number", f"e.g. {param}={example}") from e
    if not (math.isfinite(value) and low <= value <= high):
        raise UsageError(f"{param}={text!r} is outside [{low:g}, {high:g}]", f"e.g. {param}={example}")
    return value


def calculator(ctx: PageContext, pue: float, fee: float) -> None:
    """Breakeven, margin and cost per BTC of one machine (a catalog model, or a typed efficiency) at
    the reader's power price, PUE and pool fee, at today's stored hashprice."""
    assert ctx.con is not None
    catalog = breakeven_q.machines()
    model = ctx.params.get("machine", "")
    typed = ctx.params.get("efficiency_j_per_th", "")
    by_name = {a.model: a for a in catalog}
    if model and model not in by_name:
        raise UsageError(f"machine={model!r} is not in the catalog", "choose one of: " + ", ".join(by_name))
    # A typed efficiency wins over the model: it is the more specific of the two.
    eff = _number(ctx, "efficiency_j_per_th", by_name[model].efficiency_j_per_th if model else 20.0, 1.0, 500.0, "17.5")
    power = _number(ctx, "power_usd_per_kwh", 0.05, 0.0, 2.0, "0.06")
    calc = breakeven_q.calculate(ctx.con, eff, power, pue, fee, model if model and not typed else None)
    ctx.inputs += [
        {"param": "machine", "label": "machine", "type": "select", "value": model,
         "options": [{"value": "", "label": "typed efficiency"}] +
                    [{"value": a.model, "label": f"{a.model} ({a.efficiency_j_per_th:.1f} J/TH)"} for a in catalog]},
        {"param": "efficiency_j_per_th", "label": "efficiency (J/TH)", "type": "number", "value": typed,
         "placeholder": f"{eff:g}"},
        {"param": "power_usd_per_kwh", "label": "power price (USD/kWh)", "type": "number",
         "value": ctx.params.get("power_usd_per_kwh", ""), "placeholder": f"{power:g}"},
        {"param": "pue", "label": "PUE", "type": "number", "value": ctx.params.get("pue", ""), "placeholder": f"{pue:g}"},
        {"param": "pool_fee_pct", "label": "pool fee (%)", "type": "number", "value": ctx.params.get("pool_fee_pct", ""),
         "placeholder": f"{fee:g}"},
    ]
    if calc is None:
        return
    r = calc.result
    what = calc.machine or f"{eff:g} J/TH"
    ctx.cards.append({
        "id": "calculator", "title": f"{what} at ${power:g}/kWh, PUE {pue:g}, pool fee {fee:g} %",
        "market_date": calc.market_date.isoformat(), "efficiency_j_per_th": eff,
        "hashprice_usd_per_ph_day": r.hashprice_usd_per_ph_day,
        "breakeven_hashprice_usd_per_ph_day": r.breakeven_hashprice_usd_per_ph_day,
        "margin_usd_per_ph_day": r.margin_usd_per_ph_day, "margin_pct": r.margin_pct,
        "energy_cost_usd_per_ph_day": r.energy_cost_usd_per_ph_day,
        "breakeven_power_usd_per_kwh": r.breakeven_power_usd_per_kwh, "cost_per_btc_usd": r.cost_per_btc_usd,
    })


def breakeven(ctx: PageContext) -> None:
    if ctx.con is None:
        return
    try:
        # An empty field of the calculator's form means the default.
        pue = float(ctx.params.get("pue") or "1.0")
        fee = float(ctx.params.get("pool_fee_pct") or "0")
    except ValueError as e:
        raise UsageError("pue and pool_fee_pct must be numbers", "e.g. ?pue=1.1&pool_fee_pct=2") from e
    if not (1.0 <= pue <= 3.0 and 0.0 <= fee < 100.0):
        raise UsageError("pue must be in [1, 3] and pool_fee_pct in [0, 100)", "e.g. ?pue=1.1&pool_fee_pct=2")
    s = surface(ctx.con, pue, fee)
    if s.hashprice_usd_per_ph_day is None:
        ctx.missing.append("hashprice_usd_per_ph_day")
        return
    calculator(ctx, pue, fee)
    ctx.figures.append(figure_doc("hashprice used", s.hashprice_usd_per_ph_day, "USD/PH/day",
                                  "hashprice_usd_per_ph_day", s.market_date))
    m = s.median_machine
    ctx.figures.append(figure_doc("median machine's breakeven", m.breakeven_hashprice_usd_per_ph_day if m else None,
                                  "USD/PH/day", day=s.market_date, note=m.describe() if m else "no catalog model yet"))
    ctx.figures.append(figure_doc(f"mean energy cost, {s.fleet_mix}", s.fleet_mix_mean_cost_usd_per_ph_day,
                                  "USD/PH/day", note="docs/economics.md"))
    ctx.figures.append(figure_doc(f"hashrate at a loss, {s.fleet_mix}", s.fleet_mix_share_at_loss_pct, "%"))
    n = len(s.power_prices_usd_per_kwh)
    rows = []
    series_out = []
    for i, e in enumerate(s.efficiencies_j_per_th):
        cells = s.cells[i * n:(i + 1) * n]
        rows.append([f"{e:g} J/TH"] + [round(c.margin_usd_per_ph_day, 2) for c in cells])
        series_out.append({"metric": "margin_usd_per_ph_day", "label": f"{e:g} J/TH",
                           "values": [c.margin_usd_per_ph_day for c in cells]})
    ctx.tables.append({"id": "surface", "title": "Margin, USD per PH/s per day (energy only), by efficiency × power price",
                       "columns": ["efficiency"] + [f"{p:g} USD/kWh" for p in s.power_prices_usd_per_kwh],
                       "rows": rows, "signed": True})
    ctx.charts.append({"id": "surface", "title": "Margin by machine class over power price", "x_kind": "number",
                       "x_label": "power price", "x_unit": "USD/kWh", "unit": "USD/PH/day",
                       "x": list(s.power_prices_usd_per_kwh),
                       "series": series_out, "markers": [], "thresholds": [{"y": 0.0, "label": "breakeven"}],
                       "note": "", "definition": "hashprice × (1 − pool fee) − E × 24 × power price × PUE"})
    # The interval sets how far back the hashprice is drawn against the network's breakeven line: the
    # median machine of each day (it steps when a newer model becomes the median), as the capitulation
    # watch draws it; a 24h or 3d window spans one or two days, so there it is the last day's level.
    line = [] if ctx.per_block else median_machine_line(
        d for d, _ in series.read_series(ctx.con, "hashprice_usd_per_ph_day", ctx.interval, None, 10_000, ctx.end).points)
    level = [{"y": m.breakeven_hashprice_usd_per_ph_day, "label": "median machine's breakeven"}] \
        if ctx.per_block and m is not None else []
    time_chart(ctx, "hashprice-vs-cost", "Hashprice against the median machine's breakeven",
               ["hashprice_usd_per_ph_day"], thresholds=level,
               extra=[("median_machine_breakeven_usd_per_ph_day", "median machine's breakeven", line)] if line else None)


def signals_page(ctx: PageContext) -> None:
    if ctx.con is None:
        return
    w = capitulation_table(ctx, with_episodes=True)
    ribbons = time_chart(ctx, "hash-ribbons", "Hash ribbons (30- and 60-day hashrate averages)",
                         ["hashrate_ehs_30d", "hashrate_ehs_60d"],
                         note="capitulation while the 30-day average is below the 60-day (Edwards' signals: ▼ red "
                              "capitulation, ▲ grey recovery, ▲ green buy); shaded: the capitulation watch's past episodes")
    puell = time_chart(ctx, "puell", "Puell Multiple", ["puell_multiple"], price=True,
                       thresholds=[{"y": 0.5, "label": "0.5 (historical bottoms)"},
                                   {"y": 4.0, "label": "4 (historical tops)"}])
    if ribbons is not None and not ctx.per_block:
        ribbons["markers"] += [{"x": day_s(r.day), "y": r.sma30_ehs, "label": r.kind, "kind": r.kind}
                               for r in signals.ribbon_signals(ctx.con) if ribbons["x"][0] <= day_s(r.day) <= ribbons["x"][-1]]
    for chart in (ribbons, puell):
        if chart is not None and w is not None:
            chart["bands"] = [{"from": day_s(e.start), "to": day_s(e.end) + 86_400, "label": "capitulation episode"}
                              for e in w.episodes if day_s(e.end) >= chart["x"][0] and day_s(e.start) <= chart["x"][-1]]
    time_chart(ctx, "mpi", "Miner Position Index", ["mpi"], thresholds=[{"y": 2.0, "label": "2: heavy selling"}])
    more_series(ctx, ("puell", "mpi", "hash_ribbon", "difficulty_ribbon", "thermocap", "price_sma"))


def one_series(ctx: PageContext) -> None:
    name = ctx.params["name"]
    if ctx.con is not None and not series.has_metric(name):
        raise UsageError(f"no metric named {name!r}", "see /api/v1/metrics for the list")
    time_chart(ctx, "series", series.label(name), [name], cohort=ctx.params.get("cohort"), record_low=True)
    f = headline.figure(ctx.con, name) if ctx.con is not None else None
    if f is not None:
        ctx.figures.append(_fig(f))


