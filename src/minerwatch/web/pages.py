"""Dashboard pages. Every page has a JSON twin at the same path plus `.json` (`/hashprice` and
`/hashprice.json`, `/` and `/index.json`) holding everything the page shows; the HTML is a frame
whose script draws that document, so the dashboard is built on the same data the API serves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import Response

from minerwatch.errors import UsageError
from minerwatch.queries import block_series, chain, db, series
from minerwatch.queries.intervals import INTERVALS, parse_interval
from minerwatch.queries.mining import last_block_day
from minerwatch.web import entity_builders as eb
from minerwatch.web import page_builders as b
from minerwatch.web.charts import PageContext
from minerwatch.web.respond import HTML, cached, ok_json

router = APIRouter(include_in_schema=False)
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True, slots=True)
class Page:
    slug: str
    path: str
    title: str
    description: str
    build: Callable[[PageContext], None]
    default_interval: str = "1y"
    params: tuple[str, ...] = ()          # page-specific query parameters besides `interval`
    daily_only: bool = False              # every series daily: 24h and 3d are disabled, with the reason


PAGES: tuple[Page, ...] = (
    Page("index", "/", "Overview", "Today's headline numbers and the capitulation state.", b.overview),
    Page("reserve", "/reserve", "Miner reserve",
         "Coins held by scripts that ever received a coinbase output, record low marked, by era.", b.reserve,
         params=("cohort",), daily_only=True),
    Page("outflows", "/outflows", "Miner outflows",
         "What miners send out of their cohort each day, and the running total since a date.", b.outflows,
         params=("cohort", "since"), daily_only=True),
    Page("hashprice", "/hashprice", "Hashprice",
         "USD earned by 1 PH/s in a day (Hashrate Index definition), record low and a threshold line.",
         b.hashprice, params=("threshold",)),
    Page("hashrate", "/hashrate", "Hashrate & difficulty",
         "Network hashrate estimates with their 95 % interval, difficulty, and the next retarget.", b.hashrate,
         params=("estimator",)),
    Page("revenue", "/revenue", "Revenue & fees", "Subsidy and fees paid to miners per day.", b.revenue,
         daily_only=True),
    Page("pools", "/pools", "Pool shares", "Blocks mined per pool (mempool.space's pool list).", b.pools,
         default_interval="1w"),
    Page("breakeven", "/breakeven", "Breakeven by machine class",
         "Daily margin per PH/s over machine efficiency × power price at the latest hashprice.", b.breakeven,
         params=("pue", "pool_fee_pct", "machine", "efficiency_j_per_th", "power_usd_per_kwh")),
    Page("signals", "/signals", "Signals", "Hash ribbons, Puell Multiple, Miner Position Index.", b.signals_page,
         daily_only=True),
)
SERIES_PAGE = Page("series", "/series", "Series", "One stored series.", b.one_series, default_interval="all",
                   params=("cohort",))
# Reached from the reserve page's table of the largest entities (once lake results are imported).
ENTITIES_PAGE = Page("entities", "/entities", "Miner entities",
                     "Scripts co-spent with a coinbase's, clustered over the whole chain by the lake's job: size, "
                     "reserve, first coinbase.", eb.entity_list, default_interval="all", params=("by",),
                     daily_only=True)
ENTITY_PAGE = Page("entity", "/entities", "Miner entity", "The reserve and flows of one miner entity of the lake's "
                   "results.", eb.one_entity, default_interval="all", daily_only=True)
POOL_PAGE = Page("pool", "/pools", "Pool", "Blocks, share and hashrate of one pool (mempool.space's pool list), and "
                 "the reserve and flows of its coinbase cohort.", b.one_pool, default_interval="1m")


def short_interval_reason(page: Page, params: dict[str, str]) -> str | None:
    """Why 24h and 3d cannot draw on `page` (its series are daily only), or None when they can."""
    daily = page.daily_only or (page is SERIES_PAGE and not block_series.has_block_series(params.get("name", "")))
    return "daily series only: a 24-hour or 3-day window holds one to three days; choose 1w or longer" \
        if daily else None


def page_document(con: duckdb.DuckDBPyConnection | None, page: Page, params: dict[str, str]) -> dict[str, Any]:
    """Everything `page` shows, as a JSON-ready document."""
    interval = parse_interval(params.get("interval", page.default_interval))
    state = db.db_state(con)
    end = last_block_day(con) if con is not None and not state.empty else None
    ctx = PageContext(con, state, interval, end, params)
    if ctx.ready:
        page.build(ctx)
    return {
        "page": page.slug, "title": page.title, "description": page.description,
        "network": state.network, "simulated": state.simulated,
        "tip": None if state.empty else {"height": state.tip_height, "hash": state.tip_hash,
                                         "time_s": state.tip_time_s, "day": end},
        "empty": state.empty, "empty_hint": db.SYNC_HINT if state.empty else "",
        "usd_note": chain.usd_note(con),       # USD figures stop before the chain: since when, and the fix
        "interval": interval, "intervals": list(INTERVALS),
        "intervals_disabled": {i: reason for i in block_series.SHORT_INTERVALS
                               if (reason := short_interval_reason(page, params))},
        "params": {k: v for k, v in params.items() if k in page.params or k in ("name", "slug", "cohort")},
        "figures": ctx.figures, "cards": ctx.cards, "charts": ctx.charts, "tables": ctx.tables, "notes": ctx.notes,
        "choices": ctx.choices, "inputs": ctx.inputs,
        "missing": ctx.missing, "missing_words": [series.label(m) for m in ctx.missing],
    }


def _params(request: Request, page: Page, extra: dict[str, str] | None = None) -> dict[str, str]:
    allowed = set(page.params) | {"interval", "log"}   # log: charts on a log scale, read by the browser only
    out: dict[str, str] = {}
    for k, v in request.query_params.items():
        if k == "token":
            continue
        if k not in allowed:
            raise UsageError(f"unknown parameter {k!r} for {page.path}",
                             "parameters here: " + ", ".join(sorted(allowed)))
        out[k] = v
    out.update(extra or {})
    return out


def render_html(con: duckdb.DuckDBPyConnection | None, page: Page, params: dict[str, str], json_path: str) -> bytes:
    interval = parse_interval(params.get("interval", page.default_interval))
    b.check_params(con, params)
    state = db.db_state(con)
    others = {k: v for k, v in params.items() if k not in ("interval", "name", "slug") and
              not (page is ENTITY_PAGE and k == "cohort")}
    reason = short_interval_reason(page, params)
    # (name, link or None when disabled, why disabled)
    links = [(i, None, reason) if reason and i in block_series.SHORT_INTERVALS
             else (i, "?" + urlencode({**others, "interval": i}), None) for i in INTERVALS]
    query = urlencode({**others, "interval": interval})
    html = _templates.get_template("page.html").render(
        page=page, pages=PAGES, state=state, interval=interval, interval_links=links, interval_reason=reason,
        heading=series.label(params["name"]) if "name" in params
        else (block_series.pool_name(con, params["slug"]) or params["slug"]) if "slug" in params and con is not None
        else f"Miner entity {params['cohort']}" if page is ENTITY_PAGE
        else page.title,
        json_url=f"{json_path}?{query}", sync_hint=db.SYNC_HINT, usd_note=chain.usd_note(con))
    return html.encode()


def _register(page: Page) -> None:
    json_path = "/index.json" if page.path == "/" else page.path + ".json"

    async def html(request: Request) -> Response:
        params = _params(request, page)
        return await cached(request, lambda con: (200, HTML, render_html(con, page, params, json_path)))

    async def twin(request: Request) -> Response:
        params = _params(request, page)
        return await cached(request, lambda con: ok_json(page_document(con, page, params)))

    router.add_api_route(page.path, html, methods=["GET"], name=f"page_{page.slug}")
    router.add_api_route(json_path, twin, methods=["GET"], name=f"page_{page.slug}_json")


for _p in (*PAGES, ENTITIES_PAGE):
    _register(_p)


@router.get("/series/{name}")
async def series_page(request: Request, name: str) -> Response:
    as_json = name.endswith(".json")
    metric = name[:-5] if as_json else name
    params = _params(request, SERIES_PAGE, {"name": metric})
    if as_json:
        return await cached(request, lambda con: ok_json(page_document(con, SERIES_PAGE, params)))
    return await cached(request, lambda con: (200, HTML, render_html(con, SERIES_PAGE, params,
                                                                     f"/series/{metric}.json")))


@router.get("/pools/{slug}")
async def pool_page(request: Request, slug: str) -> Response:
    as_json = slug.endswith(".json")
    pool = slug[:-5] if as_json else slug
    params = _params(request, POOL_PAGE, {"slug": pool})
    if as_json:
        return await cached(request, lambda con: ok_json(page_document(con, POOL_PAGE, params)))
    return await cached(request, lambda con: (200, HTML, render_html(con, POOL_PAGE, params,
                                                                     f"/pools/{pool}.json")))


@router.get("/entities/{entity}")
async def entity_page(request: Request, entity: str) -> Response:
    """/entities/1.0 (or /entities/entity:1.0): the miner entity entity:1.0."""
    as_json = entity.endswith(".json") and entity.count(".") > 1
    seed = entity[:-5] if as_json else entity
    cohort = seed if seed.startswith("entity:") else "entity:" + seed
    params = _params(request, ENTITY_PAGE, {"cohort": cohort})
    if as_json:
        return await cached(request, lambda con: ok_json(page_document(con, ENTITY_PAGE, params)))
    return await cached(request, lambda con: (200, HTML, render_html(con, ENTITY_PAGE, params,
                                                                     f"/entities/{seed}.json")))
