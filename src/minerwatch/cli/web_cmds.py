"""`minerwatch serve`: the dashboard and HTTP API over a database."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from minerwatch.cli.chain_cmds import (add_source_args, check_sources, network_for, rpc_client, sync_files,
                                       sync_node)
from minerwatch.cli.common import add_db_arg, add_network_arg, db_path
from minerwatch.errors import MinerwatchError, UsageError
from minerwatch.store import bind_network, connect

if TYPE_CHECKING:
    from minerwatch.web.follow import Follower

TOKEN_ENV = "MINERWATCH_TOKEN"
DEFAULT_PORT = 8400


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the dashboard and HTTP API (and, with --follow, follow the node)",
                       description="Serve the dashboard, the JSON API (/api/v1, docs at /docs), "
                                   "mempool.space-compatible mining endpoints and Prometheus /metrics. "
                                   "Binds to 127.0.0.1 unless told otherwise; any other address needs a token. "
                                   "With --follow and the options of `sync`, the same process also stores "
                                   "the node's new blocks, so a busy dashboard never keeps them out.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    add_db_arg(p)
    p.add_argument("--token", default=None,
                   help=f"access token required from clients (default: ${TOKEN_ENV}); "
                        "mandatory when --host is not a loopback address")
    add_network_arg(p)
    # The source options of `sync`, defined once: `serve --follow --rpc URL` = `sync --follow --rpc URL`.
    add_source_args(p, follow_help="also follow the node's tip and store its blocks in this process (needs --rpc); "
                                   "readers and the writer then share the database")
    p.set_defaults(func=run_serve, check_network=True)


def run_serve(args: argparse.Namespace) -> int:
    from minerwatch.web.app import check_bind, check_database, listen_socket, serve
    from minerwatch.web.follow import serve_following

    token = args.token or os.environ.get(TOKEN_ENV) or None
    check_bind(args.host, token)
    path = db_path(args)
    follower = _follower(args, path) if args.follow else None
    if follower is None:
        if args.blocks_dir or args.rpc or args.datadir or args.headers_file:
            raise UsageError("serve reads blocks from a node or blk files only with --follow",
                             "add --follow, or run `minerwatch sync` with these options")
        check_database(path)
    try:
        sock = listen_socket(args.host, args.port)
    except MinerwatchError:
        if follower is not None:
            follower.stop()
        raise
    port = sock.getsockname()[1]   # --port 0: the port the system chose
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"minerwatch: serving http://{shown_host}:{port}/ from {path}"
          + (" (token required)" if token else "")
          + (f", following the node at {follower.node}" if follower is not None else ""), file=sys.stderr, flush=True)
    if follower is None:
        serve(path, args.host, port, token, sock=sock)
        return 0
    serve_following(follower, args.host, port, token, sock)
    print("stopped on request", file=sys.stderr)
    return 0


def _follower(args: argparse.Namespace, path: Path) -> Follower:
    """The writer of `serve --follow`, on the database opened read-write here (so that a file another
    process holds, or a node that cannot be reached, fails before anything says "serving")."""
    from minerwatch.web.follow import Follower

    check_sources(args)
    con = connect(path)
    try:
        network = network_for(args, con)
        bind_network(con, network.name, path)
        # The client logs its waits itself (minerwatch.chain.rpc), into the server's log.
        client = rpc_client(args, network, on_wait=lambda message: None)
        if client is None:   # --datadir with --blocks-dir names the blk files, not a node to follow
            raise UsageError("--follow needs a node", "add --rpc URL (the --datadir then gives the cookie)")
        client.check_network()
    except BaseException:
        con.close()
        raise
    follower = Follower(path, con, network, bulk=lambda syncer: sync_files(syncer, args, client),
                        follow=lambda syncer, should_stop: sync_node(syncer, args, client, should_stop),
                        batch_blocks=args.batch_blocks, node=client.where)
    # From now on a stop request also ends the client's waits (between retries, while the node is in
    # initial block download), not only the sync between batches.
    client.on_wait = lambda event: follower.stop_point()
    return follower
