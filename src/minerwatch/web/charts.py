"""Chart documents for the dashboard: aligned, downsampled daily series with markers and thresholds.

A chart is {"id", "title", "unit", "x": [unix s], "series": [{"label", "metric", "values"}],
"markers": [{"x", "y", "label"}], "thresholds": [{"y", "label"}], "note", "x_kind"}: exactly what
static/app.js hands to the charting library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import duckdb

from minerwatch.errors import StoreError, UsageError
from minerwatch.queries import block_series, series
from minerwatch.queries.db import DbState
from minerwatch.queries.reserve import reserve_by_era
from minerwatch.queries.intervals import MAX_POINTS_DEFAULT, MAX_POINTS_LIMIT, Point, downsample, window_start


_POWER_OF_TEN = re.compile(r"\b1e(\d+)\b")
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def words(text: str) -> str:
    """Text written for the CLI (definitions, rules, warnings) as a page shows it: series by name,
    not id, and powers of ten as 10¹⁵, not 1e15."""
    return _POWER_OF_TEN.sub(lambda m: "10" + m.group(1).translate(_SUPERSCRIPT), series.in_words(text))


def day_s(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


@dataclass
class PageContext:
    """What a page builder reads (connection, state, parameters) and writes (the page document)."""

    con: duckdb.DuckDBPyConnection | None
    state: DbState
    interval: str
    end: date | None                      # last stored day: every chart's window ends here
    params: dict[str, str]
    figures: list[dict[str, Any]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    choices: list[dict[str, Any]] = field(default_factory=list)   # {"param", "options", "current"}: links
    cards: list[dict[str, Any]] = field(default_factory=list)     # widgets: {"id": "retarget", …}
    inputs: list[dict[str, Any]] = field(default_factory=list)    # {"param", "label", "type", "value"}: a form
    missing: list[str] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)

    @property
    def ready(self) -> bool:
        return self.con is not None and not self.state.empty

    @property
    def per_block(self) -> bool:
        """A window shorter than a week: charts draw per-block values, a daily series has too few days."""
        return self.interval in block_series.SHORT_INTERVALS


def read(ctx: PageContext, name: str, cohort: str | None = None) -> series.Series | None:
    """Series `name` over the page's interval at full daily resolution; None (and noted as missing)
    when it is not registered or not computed in this database."""
    if ctx.con is None or not series.has_metric(name):
        if name not in ctx.missing:
            ctx.missing.append(name)
        return None
    try:
        info = {m.name: m for m in series.catalog()}[name]
        return series.read_series(ctx.con, name, ctx.interval, cohort if info.cohort else None,
                                  MAX_POINTS_LIMIT, ctx.end)
    except StoreError:
        if name not in ctx.missing:
            ctx.missing.append(name)
        return None


def aligned(columns: list[list[Point]], max_points: int = MAX_POINTS_DEFAULT) -> tuple[list[int], list[list[float | None]]]:
    """Columns aligned on the union of their days, then downsampled together (same buckets)."""
    days = sorted({d for col in columns for d, _ in col})
    maps = [dict(col) for col in columns]
    out_x: list[int] = []
    out_cols: list[list[float | None]] = []
    for m in maps:
        pts, _ = downsample([(d, m.get(d)) for d in days], max_points)
        # Six significant digits are finer than a pixel on any chart and halve the page's bytes
        # (the API's series keep full precision).
        out_cols.append([None if v is None else float(f"{v:.6g}") for _, v in pts])
        if not out_x:
            out_x = [day_s(d) for d, _ in pts]
    return out_x, out_cols


def time_chart(ctx: PageContext, chart_id: str, title: str, names: list[str], labels: dict[str, str] | None = None,
               cohort: str | None = None, record_low: bool = False, thresholds: list[dict[str, Any]] | None = None,
               extra: list[tuple[str, str, list[Point]]] | None = None, note: str = "",
               unit: str = "", per_block: list[str] | None = None, price: bool = False,
               log_toggle: bool = False) -> dict[str, Any] | None:
    """A daily chart of the metrics in `names` that exist (plus `extra` computed columns, in `unit`);
    None when nothing has data. In a 24h or 3d window it draws the per-block values of `per_block`
    (default: those of `names` that have them) instead, and says so when there are none. `price`: the
    BTC price on a second axis; `log_toggle`: the reader may switch the y axis to a log scale."""
    if ctx.per_block:
        return block_chart(ctx, chart_id, title, names if per_block is None else per_block, labels, thresholds, note)
    found: list[series.Series] = [s for s in (read(ctx, n, cohort) for n in names) if s is not None]
    # One y axis per chart: series in another unit get a chart of their own (via more_series).
    found = [s for s in found if s.info.unit == found[0].info.unit]
    cols: list[list[Point]] = [s.points for s in found]
    meta: list[tuple[str, str]] = [(s.info.name, (labels or {}).get(s.info.name, s.info.label)) for s in found]
    for metric, label, pts in extra or []:
        cols.append(pts)
        meta.append((metric, label))
    if not cols or not any(v is not None for col in cols for _, v in col):
        # A ratio over a trailing year is blank for the first year of a database: say so, and why.
        for f in found:
            ctx.notes.append(f"{f.info.label} has no value in this window yet ({words(f.info.definition)}); "
                             f"this database's history may be shorter than that window needs.")
        return None
    if price and series.has_metric("price_usd") and (p := read(ctx, "price_usd")) is not None:
        cols.append(p.points)
    x, values = aligned(cols)
    overlay = values.pop() if len(values) > len(meta) else None
    chart: dict[str, Any] = {
        "id": chart_id, "title": title, "x_kind": "time",
        "unit": found[0].info.unit if found else unit,
        "definition": words(found[0].info.definition) if found else "",
        "x": x, "series": [{"metric": m, "label": lab, "values": v} for (m, lab), v in zip(meta, values)],
        "markers": [], "thresholds": thresholds or [], "note": note,
    }
    if overlay is not None and any(v is not None for v in overlay):
        chart["price"] = {"metric": "price_usd", "label": series.label("price_usd"), "unit": "USD", "values": overlay}
    if log_toggle:
        chart["log_toggle"] = True
    for s in found:
        ctx.shown.add(s.info.name)
    warnings = list(dict.fromkeys(words(w) for s in found for w in s.warnings))
    if warnings:   # an estimator whose window reaches below the first stored block says so on the chart
        chart["note"] = " ".join([chart["note"], *warnings]).strip()
    if record_low and found and found[0].record_low is not None:
        low = found[0].record_low
        start = window_start(ctx.interval, ctx.end) if ctx.end else None
        inside = (start is None or low.day >= start) and (ctx.end is None or low.day <= ctx.end)
        # The browser writes the value in the field's notation (static/app.js: one formatter).
        mark = {"x": day_s(low.day), "y": low.value, "label": "record low", "day": low.day.isoformat()}
        chart["markers" if inside else "earlier_markers"] = [mark]
    ctx.charts.append(chart)
    return chart


def block_chart(ctx: PageContext, chart_id: str, title: str, names: list[str], labels: dict[str, str] | None,
                thresholds: list[dict[str, Any]] | None, note: str) -> dict[str, Any] | None:
    """A chart of the per-block values of `names` over the page's 24h or 3d window (x: header times)."""
    if ctx.con is None:
        return None
    infos = {m.name: m for m in series.catalog()}
    usable = [n for n in names if n in infos and block_series.has_block_series(n)]
    usable = [n for n in usable if infos[n].unit == infos[usable[0]].unit]
    cols = [(n, block_series.read_block_series(ctx.con, n, ctx.interval)) for n in usable]
    cols = [(n, pts) for n, pts in cols if any(v is not None for _, v in pts)]
    if not cols:
        ctx.notes.append(f"{title}: a daily series, with one to three days in {ctx.interval}; "
                         "choose 1w or longer to see it.")
        return None
    x = [t for t, _ in cols[0][1]]       # every per-block column is read from the same blocks
    first = infos[cols[0][0]]
    chart: dict[str, Any] = {
        "id": chart_id, "title": title, "x_kind": "time", "x_step": "block", "unit": first.unit,
        "definition": words(first.definition.replace("; daily close", "")),
        "x": x, "series": [{"metric": n, "label": (labels or {}).get(n, infos[n].label),
                            "values": [None if v is None else float(f"{v:.6g}") for _, v in pts]} for n, pts in cols],
        "markers": [], "thresholds": thresholds or [],
        "note": " ".join(filter(None, [note, "One point per block."])),
    }
    ctx.shown.update(n for n, _ in cols)
    ctx.charts.append(chart)
    return chart


def more_series(ctx: PageContext, prefixes: tuple[str, ...], limit: int = 8) -> None:
    """One chart for each registered metric starting with one of `prefixes` not shown yet, so that
    series added later appear on their page without a change here."""
    if ctx.con is None:
        return
    count = 0
    for info in series.catalog():
        if count >= limit:
            break
        if info.name in ctx.shown or not info.name.startswith(prefixes):
            continue
        if ctx.per_block and not block_series.has_block_series(info.name):
            continue
        try:
            drawn = time_chart(ctx, f"more-{info.name}", info.label, [info.name], cohort=ctx.params.get("cohort"))
        except UsageError:
            # A series that does not apply to this page's cohort is left out; the cohort itself was
            # checked before the page was built.
            continue
        if drawn:
            count += 1


def era_chart(ctx: PageContext, chart_id: str, title: str, cohort: str) -> dict[str, Any] | None:
    """The reserve of `cohort` by the era (UTC year) its coins were mined in, over the page's window."""
    assert ctx.con is not None
    start = window_start(ctx.interval, ctx.end) if ctx.end else None
    eras = reserve_by_era(ctx.con, cohort, start, ctx.end)
    # On a long chain era years are many (2009…today): group them as reporters do, the dormant
    # first years apart. A short chain (a few years, e.g. the demo) shows each year.
    groups: dict[str, dict[date, float]] = {}
    few = len(eras) <= 4
    for year, pts in eras.items():
        label = f"mined {year}" if few else (
            "mined 2009–2010" if year <= 2010 else ("mined 2011–2019" if year <= 2019 else "mined 2020 on"))
        acc = groups.setdefault(label, {})
        for d, v in pts:
            acc[d] = acc.get(d, 0.0) + (v or 0.0)
    if not groups:
        return None
    return time_chart(ctx, chart_id, title, [], unit="BTC",
                      extra=[("miner_reserve_era_btc", label, sorted(groups[label].items()))
                             for label in sorted(groups)])


def figure_doc(label: str, value: float | None, unit: str, metric: str = "", day: date | None = None,
               note: str = "") -> dict[str, Any]:
    return {"label": label, "value": value, "unit": unit, "metric": metric,
            "date": day.isoformat() if day else None, "note": note}
