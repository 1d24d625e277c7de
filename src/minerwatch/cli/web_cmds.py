"""`minerwatch serve`: the dashboard and HTTP API over a database."""

from __future__ import annotations

import argparse
import os
import sys

from minerwatch.cli.common import add_db_arg, db_path

TOKEN_ENV = "MINERWATCH_TOKEN"
DEFAULT_PORT = 8400


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the dashboard and HTTP API (read-only)",
                       description="Serve the dashboard, the JSON API (/api/v1, docs at /docs), "
                                   "mempool.space-compatible mining endpoints and Prometheus /metrics. "
                                   "Binds to 127.0.0.1 unless told otherwise; any other address needs a token.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    add_db_arg(p)
    p.add_argument("--token", default=None,
                   help=f"access token required from clients (default: ${TOKEN_ENV}); "
                        "mandatory when --host is not a loopback address")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from minerwatch.web.app import check_bind, check_database, listen_socket, serve

    token = args.token or os.environ.get(TOKEN_ENV) or None
    check_bind(args.host, token)
    path = db_path(args)
    check_database(path)
    sock = listen_socket(args.host, args.port)
    port = sock.getsockname()[1]   # --port 0: the port the system chose
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"minerwatch: serving http://{shown_host}:{port}/ from {path}"
          + (" (token required)" if token else ""), file=sys.stderr, flush=True)
    serve(path, args.host, port, token, sock=sock)
    return 0
