"""HTTP done properly, through the real ASGI app over a real database (tests/web_support.py): heights
are ASCII digits (a Unicode digit is a 400, not a traceback), HEAD answers every GET route, every 405
says what is allowed, the access log cannot be made to forge a line, hints speak HTTP, and the OpenAPI
document lists the error answers the server gives."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route
from starlette.types import Message

import web_support as ws
from minerwatch.cli import main
from minerwatch.web import api, mempool_compat, pages, prometheus
from minerwatch.web.app import create_app, loggable

TOKEN = "a-token-of-twenty-four-c"
HASH_840000 = f"{840_000:064x}"    # web_support writes height h with the hash printf('%064x', h)
TIP = 857_279                       # 120 days × 144 blocks from 840,000
# A value for every path parameter of every route, each naming something stored.
PATH_VALUES = {"name": "hashrate_ehs", "interval": "1w", "ref": "840000", "height": "840000",
               "block_hash": HASH_840000, "start_height": "840010", "slug": "foundryusa", "entity": "1.0"}
# Paths that name an entity of imported lake results: the shared database has none (a 404), so they are
# asked of a database with the co-spend chain's results imported, where entity:1.0 is stored.
LAKE_PATHS = ("/entities", "/api/v1/entities")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ws.shared_db(tmp_path_factory)


@pytest.fixture(scope="module")
def app(db: Path) -> FastAPI:
    return create_app(db)


@pytest.fixture(scope="module")
def lake_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    from test_lake_entity_cohorts import build_imported
    return create_app(build_imported(tmp_path_factory.mktemp("http-entities")))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


# --- heights are ASCII decimal digits --------------------------------------------------------------

@pytest.mark.parametrize("ref", ["¹", "²³", "١٢", "８４００００", "g" * 64])
def test_a_block_ref_that_is_not_ascii_digits_or_hex_is_a_400(client: TestClient, ref: str) -> None:
    # "¹" and "²³" pass str.isdigit() and then made int() raise: a 500 with a traceback in the log.
    # Arabic-Indic and full-width digits pass int() too, and were looked up as heights.
    r = client.get(f"/api/v1/chain/block/{ref}")
    assert r.status_code == 400
    assert r.json() == {"error": f"{ref!r} is neither a height nor a 64-hex-digit block hash",
                        "hint": "the last path segment is a height in the digits 0-9 "
                                "(e.g. /api/v1/chain/block/840000) or a 64-hex-digit block hash"}


def test_a_height_and_a_hash_still_find_the_block(client: TestClient) -> None:
    assert client.get("/api/v1/chain/block/840000").json()["hash"] == HASH_840000
    assert client.get(f"/api/v1/chain/block/{HASH_840000.upper()}").json()["height"] == 840_000


@pytest.mark.parametrize("ref", ["¹", "²³"])
def test_the_cli_refuses_a_unicode_digit_height(db: Path, ref: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["block", ref, "--db", str(db)]) == 1
    assert capsys.readouterr().err == (
        f"error: {ref!r} is neither a height nor a 64-hex-digit block hash\n"
        "hint: a height is written with the digits 0-9 (e.g. 840000), a hash with 64 hex digits\n")


@pytest.mark.parametrize("digits", [11, 400, 5000])
def test_a_height_no_block_can_have_is_not_stored(client: TestClient, digits: int) -> None:
    # 400 digits made DuckDB refuse the bound integer (a 503 blaming the database), 5,000 made int()
    # raise (a 500): heights stop at 2^31 - 1, as in Bitcoin Core.
    ref = "9" * digits
    r = client.get(f"/api/v1/chain/block/{ref}")
    assert r.status_code == 404 and r.json()["error"] == f"block {ref} is not in the database (stored tip: {TIP})"


def test_leading_zeros_do_not_hide_a_height(client: TestClient) -> None:
    assert client.get(f"/api/v1/chain/block/{'0' * 5000}{TIP}").json()["height"] == TIP


def test_the_cli_says_a_height_of_5000_digits_is_not_stored(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["block", "9" * 5000, "--db", str(db)]) == 1
    assert capsys.readouterr().err.startswith("error: block 999")


@pytest.mark.parametrize(("path", "error"), [
    (f"/api/block-height/{'9' * 400}", "bad parameter: height: Input should be less than or equal to 2147483647"),
    ("/api/block-height/-1", "bad parameter: height: Input should be greater than or equal to 0"),
    ("/api/block-height/¹", "bad parameter: height: Input should be a valid integer, unable to parse string as an integer"),
    (f"/api/v1/blocks/{'9' * 400}", "start_height must be from 0 to 2147483647"),
])
def test_mempool_heights_out_of_range_are_a_400(client: TestClient, path: str, error: str) -> None:
    r = client.get(path)
    assert r.status_code == 400 and r.json()["error"] == error


def test_a_block_not_stored_is_a_404_whose_hint_speaks_http(client: TestClient) -> None:
    r = client.get("/api/v1/chain/block/99")
    assert r.status_code == 404
    assert r.json() == {"error": f"block 99 is not in the database (stored tip: {TIP})",
                        "hint": f"ask for a height up to the stored tip, {TIP}, or the hash of a stored block"}


# --- hints name parameters and paths, never command-line flags -------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/series/pool_blocks", {"error": "this series needs a pool cohort, got '0hop'",
                                    "hint": "pass cohort=pool:<slug>, e.g. cohort=pool:foundryusa"}),
    ("/api/v1/series/nope", {"error": "no metric named 'nope'", "hint": "GET /api/v1/metrics lists them"}),
    ("/api/v1/series/nope.csv", {"error": "no metric named 'nope'", "hint": "GET /api/v1/metrics lists them"}),
])
def test_api_hints_speak_http(client: TestClient, path: str, expected: dict[str, str]) -> None:
    r = client.get(path)
    assert r.status_code == 400 and r.json() == expected


# --- HEAD and 405 ----------------------------------------------------------------------------------

ROUTERS = (api.router, mempool_compat.router, prometheus.router, pages.router)


def get_paths(app: FastAPI) -> list[str]:
    """A concrete path for every GET route of the app (pages, API, OpenAPI, docs) and a static file."""
    paths = []
    for route in [*app.routes, *(r for router in ROUTERS for r in router.routes)]:
        if isinstance(route, (APIRoute, Route)) and "GET" in (route.methods or ()):
            paths.append(route.path.format(**{k: PATH_VALUES[k] for k in route.param_convertors}))
        elif isinstance(route, Mount):
            paths.append(route.path + "/app.js")
    return paths


def test_there_is_a_path_for_every_get_route(app: FastAPI) -> None:
    # The app holds its own routes, the static mount and one entry per included router: ROUTERS.
    assert len([r for r in app.routes if not isinstance(r, (Route, Mount))]) == len(ROUTERS)
    paths = get_paths(app)
    assert {"/", "/hashprice.json", "/api/v1/status", f"/api/v1/block/{HASH_840000}", "/metrics",
            "/openapi.json", "/docs", "/static/app.js"} <= set(paths)
    assert len(paths) == len(set(paths)) > 35


def test_head_answers_every_get_route_with_the_same_headers_and_no_body(app: FastAPI, lake_app: FastAPI) -> None:
    clients = {False: TestClient(app), True: TestClient(lake_app)}
    paths = get_paths(app)
    assert any(p.startswith(LAKE_PATHS) for p in paths)
    for path in paths:
        client = clients[path.startswith(LAKE_PATHS)]
        # Twice: the first HEAD may be computed by the route, the second comes from the cache.
        got = client.get(path)
        for _ in range(2):
            head = client.head(path)
            assert (head.status_code, head.content) == (got.status_code, b""), path
            assert head.status_code == 200, path
            assert dict(head.headers) == dict(got.headers), path
            assert int(head.headers["content-length"]) == len(got.content), path


def asgi_request(app: FastAPI, method: str, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    """(status, headers, body) exactly as the app sends them (an HTTP client drops a HEAD's body)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


@pytest.mark.parametrize(("token", "status"), [(None, 200), (TOKEN, 401)])
def test_head_sends_the_get_headers_and_no_body(db: Path, token: str | None, status: int) -> None:
    app = create_app(db, token)
    for _ in range(2):                  # computed by the route, then from the cache
        got = asgi_request(app, "GET", "/api/v1/status")
        head = asgi_request(app, "HEAD", "/api/v1/status")
        assert got[0] == head[0] == status and len(got[2]) > 20 and head[2] == b""
        assert head[1] == got[1] and int(head[1][b"content-length"]) == len(got[2])


@pytest.mark.parametrize("path", ["/api/v1/status", f"/api/v1/block/{HASH_840000}", "/hashprice", "/metrics",
                                  "/openapi.json", "/static/app.js"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def test_every_405_says_what_is_allowed(client: TestClient, path: str, method: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert r.json() == {"error": "Method Not Allowed", "hint": "this path answers GET, HEAD"}


# --- the access log --------------------------------------------------------------------------------

# A path that, decoded and logged as it was, ended the line and wrote a line of the attacker's own.
FORGING_PATH = "/x%0d%0a2024-05-01%20minerwatch.web%20GET%20/admin%20200%200.1ms"
FORGED_AS_ESCAPED = "/x\\x0d\\x0a2024-05-01\\x20minerwatch.web\\x20GET\\x20/admin\\x20200\\x200.1ms"


@pytest.mark.parametrize(("token", "status"), [(None, 404), (TOKEN, 401)])
def test_a_request_path_cannot_forge_a_log_line(db: Path, caplog: pytest.LogCaptureFixture, token: str | None,
                                                status: int) -> None:
    client = TestClient(create_app(db, token), raise_server_exceptions=False)
    with caplog.at_level(logging.INFO, logger="minerwatch.web"):
        assert client.get(FORGING_PATH).status_code == status
    lines = [r.getMessage() for r in caplog.records if r.name == "minerwatch.web"]
    assert len(lines) == 1 and "\n" not in lines[0] and "\r" not in lines[0]
    assert lines[0].startswith(f"GET {FORGED_AS_ESCAPED} {status} ")


@pytest.mark.parametrize(("text", "logged"), [
    ("/api/v1/status", "/api/v1/status"),
    ("/série/¹²", "/série/¹²"),                                 # printable Unicode is kept as it is
    ("/a\u2028b\u0085c", "/a\\u2028b\\x85c"),                    # line and paragraph separators, NEL
    ("/\x1b[31mred", "/\\x1b[31mred"),                            # a terminal escape sequence
    ("/a\\x0a", "/a\\x5cx0a"),                                    # a backslash cannot fake an escape
    ("/\U000e0041\ufeff", "/\\U000e0041\\ufeff"),                 # tag and zero-width characters
])
def test_loggable_escapes_every_non_printable(text: str, logged: str) -> None:
    assert loggable(text) == logged


# --- the OpenAPI document --------------------------------------------------------------------------

def test_openapi_lists_the_error_answers(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    assert doc["components"]["schemas"]["ErrorBody"] == {
        "additionalProperties": False, "description": "The body of every error answer (4xx and 5xx).",
        "properties": {
            "error": {"description": "what happened", "title": "Error", "type": "string"},
            "hint": {"default": "", "description": "what to do about it: the parameter or path segment to change, "
                                                  "and how (left out when there is nothing to add)",
                     "title": "Hint", "type": "string"}},
        "required": ["error"], "title": "ErrorBody", "type": "object"}
    statuses = {}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert "422" not in op["responses"], path         # validation errors are answered 400
            for status, response in op["responses"].items():
                if status != "200":
                    assert response["content"] == error, (path, status)
            statuses[method.upper() + " " + path] = sorted(op["responses"])
    assert statuses["GET /api/v1/chain/block/{ref}"] == ["200", "400", "401", "404", "503"]
    assert statuses["GET /api/block-height/{height}"] == ["200", "400", "401", "404", "503"]
    assert statuses["GET /api/v1/block/{block_hash}"] == ["200", "401", "404", "503"]
    # 404: an entity:<id> cohort the imported lake results do not hold.
    assert statuses["GET /api/v1/series/{name}"] == ["200", "400", "401", "404", "503"]
    assert statuses["GET /api/blocks/tip/height"] == ["200", "401", "503"]
    assert all(s[:1] == ["200"] and {"401", "503"} <= set(s) for s in statuses.values())


def test_openapi_names_what_each_parameter_takes(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()

    def schema_of(path: str, name: str) -> dict[str, object]:
        return next(p["schema"] for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)

    intervals = ["24h", "3d", "1w", "1m", "3m", "6m", "1y", "2y", "3y", "all"]
    for path in ("/api/v1/pools/{interval}", "/api/v1/mining/pools/{interval}", "/api/v1/mining/hashrate/{interval}",
                 "/api/v1/mining/difficulty-adjustments/{interval}"):
        assert schema_of(path, "interval")["enum"] == intervals
    assert schema_of("/api/v1/series/{name}", "interval")["enum"] == intervals
    assert schema_of("/api/v1/chain/block/{ref}", "ref")["pattern"] == "^([0-9]+|[0-9a-fA-F]{64})$"
    names = schema_of("/api/v1/series/{name}", "name")["enum"]
    assert {"hashrate_ehs", "hashrate_ehs.csv", "miner_reserve_btc", "miner_reserve_btc.csv"} <= set(names)
    assert len(names) % 2 == 0 and len(names) > 100
