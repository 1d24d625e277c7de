"""Turning query results into cached HTTP bodies, and errors into `{"error": …}`."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import duckdb
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from minerwatch.errors import MinerwatchError, NotFoundError, StoreError
from minerwatch.web.source import CachedResponse, ResponseCache, Source

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"


def plain(obj: Any) -> Any:
    """JSON-safe: dataclasses to dicts, dates to ISO text, NaN/±inf to null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return obj


def json_body(obj: Any) -> bytes:
    return json.dumps(plain(obj), separators=(",", ":"), allow_nan=False).encode()


def error_status(e: MinerwatchError) -> int:
    # A busy or missing database is the server's state, not the client's mistake.
    if isinstance(e, StoreError):
        return 503
    return 404 if isinstance(e, NotFoundError) else 400


class ErrorBody(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    model_config = ConfigDict(extra="forbid")
    error: str = Field(description="what happened")
    hint: str = Field("", description="what to do about it: the parameter or path segment to change, and how "
                                      "(left out when there is nothing to add)")


ERROR_MEANINGS = {
    400: "A parameter or path segment that cannot be used (unknown parameter, bad number, date, interval, "
         "metric or cohort); `hint` says what it takes.",
    401: "The server runs with a token and the request did not carry it: send `Authorization: Bearer <token>`.",
    404: "Nothing is stored under that path.",
    503: "No database yet, or it cannot be read right now (a sync holds it): retry later.",
}


ERROR_CONTENT = {JSON: {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def error_responses(*statuses: int, not_found: str = "") -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error answers a route can give: JSON with the ErrorBody schema,
    whatever the media type of the route's own answer (openapi_doc adds ErrorBody to the components)."""
    return {s: {"description": not_found if s == 404 and not_found else ERROR_MEANINGS[s], "content": ERROR_CONTENT}
            for s in statuses}


# Hints are written once, by the layers every interface shares, in the command line's words. A
# request cannot pass a flag, so each such hint a request can reach is said again in HTTP terms.
HTTP_HINTS: tuple[tuple[str, str], ...] = (
    ("run `minerwatch metrics --list`", "GET /api/v1/metrics lists them"),
    ("pass --cohort pool:<slug>, e.g. pool:foundryusa", "pass cohort=pool:<slug>, e.g. cohort=pool:foundryusa"),
    ("`minerwatch pools list --interval all` shows the pool slugs",
     "GET /api/v1/pools/all lists every pool with stored blocks"),
    ("`minerwatch miners entities` lists them", "GET /api/v1/entities lists them"),
)


def http_hint(hint: str) -> str:
    """`hint` with the command-line wording of HTTP_HINTS replaced by the HTTP one."""
    for cli, http in HTTP_HINTS:
        hint = hint.replace(cli, http)
    return hint


def error_body(message: str, hint: str = "") -> bytes:
    hint = http_hint(hint)
    return json_body({"error": message, "hint": hint} if hint else {"error": message})


def key_for(path: str, query_string: bytes) -> str:
    """Path and query without the access token (never part of a key, a log line or a page)."""
    params = sorted((k, v) for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
                    if k != "token")
    return path + "?" + "&".join(f"{k}={v}" for k, v in params)


def cache_key(request: Request) -> str:
    return key_for(request.url.path, request.scope.get("query_string", b""))


async def cached(request: Request, build: Callable[[duckdb.DuckDBPyConnection | None], tuple[int, str, bytes]]
                 ) -> Response:
    """The response `build(con)` makes, from the cache while the database is unchanged. `con` is None
    when there is no database file yet (pages then show their empty state)."""
    cache: ResponseCache = request.app.state.cache
    source: Source = request.app.state.source

    def compute() -> CachedResponse:
        try:
            if not source.exists():
                status, media, body = build(None)
            else:
                status, media, body = source.run(build)
        except StoreError:
            raise
        except MinerwatchError as e:
            return CachedResponse(error_status(e), JSON, error_body(e.message, e.hint))
        return CachedResponse(status, media, body)

    try:
        r = await cache.get(cache_key(request), compute)
    except StoreError as e:
        return Response(error_body(e.message, e.hint), status_code=503, media_type=JSON)
    return Response(r.body, status_code=r.status, media_type=r.media_type)


def ok_json(obj: Any) -> tuple[int, str, bytes]:
    return 200, JSON, json_body(obj)
