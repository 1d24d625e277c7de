"""Versioned JSON API (/api/v1/…): the metric catalogue, any series (JSON or CSV), headline figures,
pool shares, the retarget forecast, the capitulation state, the breakeven surface, chain status."""

from __future__ import annotations

import csv
import io
from typing import Any

import duckdb
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from minerwatch.errors import StoreError, UsageError
from minerwatch.queries import chain, db, entities, headline, mining, series, signals
from minerwatch.queries.breakeven import Surface, surface
from minerwatch.queries.intervals import MAX_POINTS_DEFAULT, MAX_POINTS_LIMIT, INTERVALS, parse_interval, parse_max_points
from minerwatch.web import shapes
from minerwatch.web.respond import CSV, JSON, cached, error_body, error_responses, ok_json

# Every /api/v1 route refuses a parameter it does not take (reject_unknown): each can answer 400.
router = APIRouter(prefix="/api/v1", tags=["minerwatch"], responses=error_responses(400))

# The handlers check these values themselves (with messages that name the choices); the schema only
# says what they take, so that a client knows before asking.
IntervalQ = Query("1y", description="one of " + ", ".join(INTERVALS), json_schema_extra={"enum": list(INTERVALS)})
MaxPointsQ = Query(MAX_POINTS_DEFAULT, description=f"downsample to at most this many points (2–{MAX_POINTS_LIMIT})",
                   json_schema_extra={"minimum": 2, "maximum": MAX_POINTS_LIMIT})
CohortQ = Query(None, description="cohort series only: 0hop | 1hop | pool:<slug> | label:<entity> | entity:<id> "
                                  "(default 0hop); a pool or label must match stored blocks or labels, an entity "
                                  "the imported lake results (404 otherwise: GET /api/v1/entities lists them)",
                json_schema_extra={"pattern": "^(0hop|1hop|pool:.+|label:.+|entity:.+)?$"})
IntervalP = Path(description="one of " + ", ".join(INTERVALS), json_schema_extra={"enum": list(INTERVALS)})


def need_db(con: duckdb.DuckDBPyConnection | None) -> duckdb.DuckDBPyConnection:
    if con is None:
        raise StoreError("no database yet", db.SYNC_HINT)
    return con


def reject_unknown(request: Request, allowed: tuple[str, ...]) -> None:
    """UsageError for a query parameter this endpoint does not take: a mistyped or invented one (from=,
    start=) would otherwise be ignored and the answer look like what was asked for."""
    for key in request.query_params:
        if key != "token" and key not in allowed:
            hint = "parameters here: " + (", ".join(sorted(allowed)) or "none")
            if "interval" in allowed:
                hint += "; the window always ends on the last stored day, its length is set by interval"
            raise UsageError(f"unknown parameter {key!r} for {request.url.path}", hint)


def series_doc(s: series.Series) -> dict[str, Any]:
    def ext(e: series.Extreme | None) -> dict[str, Any] | None:
        return None if e is None else {"date": e.day, "value": e.value}

    return {
        "metric": s.info.name, "unit": s.info.unit, "definition": s.info.definition, "family": s.info.family,
        "cohort": s.cohort, "interval": s.interval, "step_days": s.step_days, "days": s.raw_point_count,
        "latest": ext(s.latest), "record_low": ext(s.record_low), "record_high": ext(s.record_high),
        "rows": [{"date": d, "value": v} for d, v in s.points],
        "warnings": list(s.warnings),
        "source": s.source,
    }


@router.get("/status", summary="Network, tip and block count of the database", response_model=shapes.Status)
async def status(request: Request) -> Response:
    reject_unknown(request, ())

    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        st = db.db_state(con)
        out: dict[str, Any] = {"network": st.network, "simulated": st.simulated, "tip_height": st.tip_height,
                               "tip_hash": st.tip_hash, "tip_time_s": st.tip_time_s, "blocks": st.block_count}
        if con is not None and not st.empty:
            full = chain.status(con, request.app.state.source.path)
            full.pop("db_path", None)   # a served page does not reveal where the user keeps files
            out.update(full)
        writer = request.app.state.source.writer()
        if writer is not None:   # `serve --follow`: is the node still followed, and if not, why
            out["writer"] = writer
        return ok_json(out)

    return await cached(request, build)


@router.get("/metrics", summary="Every registered metric: name, unit, definition, family",
            response_model=shapes.Catalog)
async def metrics_catalog(request: Request) -> Response:
    reject_unknown(request, ())
    return await cached(request, lambda con: ok_json({"metrics": series.catalog()}))


@router.get("/series/{name}", summary="A metric as a daily series over an interval, downsampled",
            response_model=shapes.SeriesDoc,
            responses={200: {"description": "the series as JSON, or as CSV (`date,<name>`) for `.csv` or format=csv",
                             "content": {"text/csv": {"schema": {"type": "string"}}}},
                       **error_responses(404, not_found="The cohort is an entity the imported lake results do not "
                                                        "hold, or no lake results were imported.")})
async def get_series(request: Request, name: str, interval: str = IntervalQ, max_points: int = MaxPointsQ,
                     cohort: str | None = CohortQ, format: str = Query("json", pattern="^(json|csv)$")) -> Response:
    reject_unknown(request, ("interval", "max_points", "cohort", "format"))
    if name.endswith(".csv"):
        name, format = name[:-4], "csv"
    explicit_points = "max_points" in request.query_params

    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        parse_interval(interval)
        # CSV is for export: full daily resolution unless the caller asks for fewer points.
        points = parse_max_points(max_points) if (format == "json" or explicit_points) else MAX_POINTS_LIMIT
        s = series.read_series(need_db(con), name, interval, cohort, points)
        if format == "csv":
            return 200, CSV, series_csv(s)
        return ok_json(series_doc(s))

    return await cached(request, build)


def series_csv(s: series.Series) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["date", s.info.name])
    for d, v in s.points:
        w.writerow([d.isoformat(), "" if v is None else repr(v)])
    return buf.getvalue().encode()


@router.get("/entities", summary="The miner entities of the imported lake results: size, reserve, seed",
            response_model=entities.EntityList,
            responses=error_responses(404, not_found="No lake results were imported into this database."))
async def get_entities(request: Request, order: str = Query("reserve", description="largest first by: reserve | "
                                                            "scripts", json_schema_extra={"enum": list(entities.ORDERS)}),
                       limit: int = Query(50, description=f"how many (1–{entities.LIMIT_MAX})",
                                          json_schema_extra={"minimum": 1, "maximum": entities.LIMIT_MAX})) -> Response:
    reject_unknown(request, ("order", "limit"))
    return await cached(request, lambda con: ok_json(entities.list_entities(need_db(con), order, limit)))


@router.get("/headline", summary="Latest value, 30-day change and records of the key metrics",
            response_model=shapes.Headline)
async def get_headline(request: Request) -> Response:
    reject_unknown(request, ())
    return await cached(request, lambda con: ok_json({"figures": [
        headline_doc(f) for f in headline.headline(need_db(con))]}))


def headline_doc(f: headline.Figure) -> dict[str, Any]:
    return {"metric": f.key, "unit": f.unit, "definition": f.definition,
            "date": f.latest.day if f.latest else None, "value": f.latest.value if f.latest else None,
            "change_30d_pct": f.change_30d_pct,
            "record_low": {"date": f.record_low.day, "value": f.record_low.value} if f.record_low else None,
            "record_high": {"date": f.record_high.day, "value": f.record_high.value} if f.record_high else None,
            "at_record_low": f.at_record_low, "near_record_low": f.near_record_low}


@router.get("/pools/{interval}", summary="Blocks and share of blocks per pool within an interval before the tip",
            response_model=mining.PoolWindow)
async def get_pools(request: Request, interval: str = IntervalP) -> Response:
    reject_unknown(request, ())

    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        parse_interval(interval)
        st = db.db_state(need_db(con))
        if st.tip_time_s is None:
            raise StoreError("no blocks yet", db.SYNC_HINT)
        return ok_json(mining.interval_pool_shares(con, interval))

    return await cached(request, build)


@router.get("/difficulty", summary="Retarget forecast with a 95 % interval (BRK: pace since the epoch began)",
            response_model=mining.PaceForecast)
async def get_difficulty(request: Request) -> Response:
    reject_unknown(request, ())

    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        c = need_db(con)
        if db.db_state(c).empty:
            raise StoreError("no blocks yet", db.SYNC_HINT)
        return ok_json(mining.retarget_forecast(c))

    return await cached(request, build)


@router.get("/capitulation", summary="Capitulation state: each signal with value, threshold and since-when",
            response_model=signals.CapitulationState)
async def get_capitulation(request: Request) -> Response:
    reject_unknown(request, ())
    return await cached(request, lambda con: ok_json(signals.capitulation_state(need_db(con))))


@router.get("/breakeven", summary="Margin and cost per BTC over efficiency × power price at the latest market",
            response_model=Surface)
async def get_breakeven(request: Request, pue: float = Query(1.0, ge=1.0, le=3.0),
                        pool_fee_pct: float = Query(0.0, ge=0.0, lt=100.0)) -> Response:
    reject_unknown(request, ("pue", "pool_fee_pct"))
    return await cached(request, lambda con: ok_json(surface(need_db(con), pue, pool_fee_pct)))


@router.get("/chain/block/{ref}", summary="Facts of a stored block by height or hash (minerwatch fields)",
            response_model=shapes.BlockFacts,
            responses=error_responses(404, not_found="No stored block has that height or hash."))
async def get_block(request: Request, ref: str = Path(
        description="a height in the digits 0-9 (e.g. 840000) or a block hash of 64 hex digits",
        json_schema_extra={"pattern": "^([0-9]+|[0-9a-fA-F]{64})$"})) -> Response:
    reject_unknown(request, ())

    def build(con: duckdb.DuckDBPyConnection | None) -> tuple[int, str, bytes]:
        try:
            return ok_json(chain.block(need_db(con), ref))
        except chain.BlockNotFoundError as e:
            hint = (f"ask for a height up to the stored tip, {e.tip_height}, or the hash of a stored block"
                    if e.tip_height is not None else "no block is stored yet: GET /api/v1/status shows the tip")
            return 404, JSON, error_body(e.message, hint)
        except UsageError as e:
            return 400, JSON, error_body(e.message, "the last path segment is a height in the digits 0-9 "
                                                    "(e.g. /api/v1/chain/block/840000) or a 64-hex-digit block hash")

    return await cached(request, build)
