"""The ASGI application: routes, the token gate, error bodies and the access log."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minerwatch import __version__
from minerwatch.errors import MinerwatchError, StoreError, UsageError
from minerwatch.queries.db import connect_readonly, is_locked
from minerwatch.store.lock import SERVE_FOLLOW, holder_of
from minerwatch.web import api, mempool_compat, pages, prometheus
from minerwatch.web.openapi_doc import openapi_document
from minerwatch.web.respond import JSON, error_body, error_status, key_for
from minerwatch.web.source import DataSource, ResponseCache, Source

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("minerwatch.web")
STATIC = Path(__file__).parent / "static"
COOKIE = "minerwatch_token"
# Pages load only their own scripts and styles; /docs needs its inline bootstrap script.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'"
CSP_DOCS = CSP.replace("default-src 'self';", "default-src 'self'; script-src 'self' 'unsafe-inline';")


def loggable(text: str) -> str:
    """`text` safe for one log line: control characters (CR, LF, …), other non-printables (U+2028 …),
    spaces and the backslash are written as \\xNN / \\uNNNN escapes, so a request path (decoded
    from %0a and the like) can never end the line or forge another."""
    if text.isprintable() and " " not in text and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c not in " \\" else _escape(c) for c in text)


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allow_header(allow: str | None) -> str:
    """The Allow value of a 405: the route's methods plus HEAD wherever GET is allowed (the gate
    answers HEAD for every GET), in one fixed order. Starlette's static files give no Allow: they
    take GET and HEAD."""
    methods = {m.strip().upper() for m in (allow or "GET").split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods, key=lambda m: (_METHOD_ORDER.index(m) if m in _METHOD_ORDER else 99, m)))


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise UsageError(f"refusing to serve on {host} without a token: anyone who can reach it could read the data",
                         "pass --token (or set MINERWATCH_TOKEN), or bind to 127.0.0.1")
    if token is not None and len(token) < 16:
        raise UsageError("the token is too short (fewer than 16 characters)",
                         "use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`")


class Gate:
    """ASGI middleware: the token check (when one is set), security headers, HEAD for every GET route
    (answered as GET without the body: same status and headers) and a query-free access log."""

    def __init__(self, app: ASGIApp, token: str | None, cache: ResponseCache | None = None) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.cache = cache

    def _authorized(self, scope: Scope) -> tuple[bool, bool]:
        """(allowed, came as ?token= so a cookie should be set)."""
        if self.token is None or scope["path"].startswith("/static/"):
            return True, False
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        if auth.lower().startswith(b"bearer ") and hmac.compare_digest(auth[7:].strip(), self.token):
            return True, False
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == COOKIE.encode() and hmac.compare_digest(value, self.token):
                return True, False
        for part in scope.get("query_string", b"").split(b"&"):
            name, _, value = part.partition(b"=")
            if name == b"token" and hmac.compare_digest(value, self.token):
                return True, True
        return False, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        allowed, set_cookie = self._authorized(scope)
        status = 0
        csp = (CSP_DOCS if scope["path"] == "/docs" else CSP).encode()
        head = scope.get("method") == "HEAD"
        inner = {**scope, "method": "GET"} if head else scope

        async def send_wrapped(message: Message) -> None:
            nonlocal status
            if head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"content-security-policy", csp),
                            (b"referrer-policy", b"no-referrer")]
                if set_cookie and self.token is not None:
                    headers.append((b"set-cookie", b"%s=%s; Path=/; HttpOnly; SameSite=Strict" % (COOKIE.encode(), self.token)))
                message = {**message, "headers": headers}
            await send(message)

        try:
            # Fast path: a response cached for the current database skips routing altogether (about
            # 3× the requests per second of going through the framework: the p99 at 100 clients).
            hit = (self.cache.peek(key_for(scope["path"], scope.get("query_string", b"")))
                   if allowed and self.cache is not None and inner.get("method") == "GET" else None)
            if hit is not None:
                await send_wrapped({"type": "http.response.start", "status": hit.status,
                                    "headers": [(b"content-type", hit.media_type.encode()),
                                                (b"content-length", str(len(hit.body)).encode())]})
                await send_wrapped({"type": "http.response.body", "body": hit.body})
            elif allowed:
                await self.app(inner, receive, send_wrapped)
            else:
                body = error_body("a token is required", "send `Authorization: Bearer <token>` or add ?token=<token> once")
                await send_wrapped({"type": "http.response.start", "status": 401,
                                    "headers": [(b"content-type", JSON.encode()), (b"www-authenticate", b"Bearer"),
                                                (b"content-length", str(len(body)).encode())]})
                await send_wrapped({"type": "http.response.body", "body": body})
        finally:
            # The path only: query strings can carry the token.
            log.info("%s %s %d %.1fms", loggable(str(scope.get("method", "?"))), loggable(scope["path"]), status,
                     (time.perf_counter() - started) * 1000)


def create_app(db_path: Path, token: str | None = None, source: Source | None = None) -> FastAPI:
    """The dashboard and API over the database at `db_path` (read-only); `source`: a database this
    process also writes (`serve --follow`)."""
    app = FastAPI(title="minerwatch", version=__version__, docs_url=None, redoc_url=None,
                  description="Miner reserve, miner flows, hashprice and production cost from your own node. "
                              "Every dashboard page has a JSON twin at the same path plus `.json`.")
    source = source or DataSource(Path(db_path))
    app.state.source = source
    app.state.cache = ResponseCache(source)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        headers = dict(exc.headers or {})
        hint = ""
        if exc.status_code == 405:
            headers["Allow"] = allow_header(headers.pop("Allow", None))
            hint = f"this path answers {headers['Allow']}"
        return Response(error_body(message, hint), status_code=exc.status_code, media_type=JSON, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
                             for e in exc.errors())
        return Response(error_body(f"bad parameter: {problems}", "see /docs for the parameters"), status_code=400,
                        media_type=JSON)

    @app.exception_handler(MinerwatchError)
    async def mw_error(request: Request, exc: MinerwatchError) -> Response:
        return Response(error_body(exc.message, exc.hint), status_code=error_status(exc), media_type=JSON)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", loggable(request.url.path))
        return Response(error_body("internal error", "the server log has the details"), status_code=500,
                        media_type=JSON)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url="/openapi.json", title="minerwatch API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="data:,",
                                   # A deep link is a link inside the operation's button: keyboard
                                   # and screen-reader users meet a control nested in a control.
                                   swagger_ui_parameters={"deepLinking": False})
        # FastAPI's page names no language (screen readers need one, WCAG 3.1.1), and Swagger UI's
        # colours need a darker shade for contrast (static/docs.css).
        body = bytes(page.body).replace(b"<html>", b'<html lang="en">', 1)
        return HTMLResponse(body.replace(b"</head>", b'<link rel="stylesheet" href="/static/docs.css">\n</head>', 1))

    app.include_router(api.router)
    app.include_router(mempool_compat.router)
    app.include_router(prometheus.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Gate, token=token, cache=app.state.cache)
    return app


def check_database(db_path: Path) -> None:
    """Refuse to serve a file that can never answer (not a DuckDB file, a directory, a newer schema,
    one a `serve --follow` holds: it never lets go). A missing file serves the "no data yet" pages,
    and one a sync holds is served once it lets go."""
    if not db_path.exists():
        return
    try:
        connect_readonly(db_path).close()
    except StoreError as e:
        if not is_locked(e) or holder_of(str(e.__cause__)).command == SERVE_FOLLOW:
            raise


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, so that a bad or taken port fails before anything says "serving"."""
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is out of range", "pass --port between 1 and 65535, e.g. --port 8400")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise UsageError(f"cannot listen on {host}: {e.strerror}", "pass --host with an address, e.g. 127.0.0.1") from e
    sock = socket.socket(family, kind, proto)
    # As uvicorn does: a port left in TIME_WAIT by a server just stopped can be bound again at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        # Listening now (uvicorn's backlog), not when the server has started: a client that read
        # "serving" and connects at once waits in the queue instead of being refused.
        sock.listen(2048)
    except OSError as e:
        sock.close()
        raise UsageError(f"cannot listen on {host} port {port}: {e.strerror}",
                         "another program may be using the port: pass another --port") from e
    return sock


def serve(db_path: Path, host: str = "127.0.0.1", port: int = 8400, token: str | None = None,
          sock: socket.socket | None = None, **uvicorn_options: Any) -> None:
    """Run the server until interrupted; UsageError or StoreError before listening if the address needs
    a token, the port cannot be bound or the file is not a database. `sock`: already bound by
    listen_socket (the caller then reports the address before serving)."""
    check_bind(host, token)
    check_database(Path(db_path))
    sock = sock or listen_socket(host, port)
    try:
        http_server(db_path, host, port, token, **uvicorn_options).run(sockets=[sock])
    finally:
        sock.close()


def http_server(db_path: Path, host: str, port: int, token: str | None, source: Source | None = None,
                **uvicorn_options: Any) -> uvicorn.Server:
    """The server of the app over `db_path` (or `source`), ready to run."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(db_path, token, source)
    config = uvicorn.Config(app, host=host, port=port, access_log=False, server_header=False, log_level="warning",
                            **uvicorn_options)
    return uvicorn.Server(config)
