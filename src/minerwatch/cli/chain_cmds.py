"""`sync`, `status` and `block`: getting the chain in, and looking at what is stored."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from minerwatch.chain.rpc import DEFAULT_TIMEOUT_S as RPC_TIMEOUT_S
from minerwatch.cli.common import add_db_arg, add_network_arg, db_path, print_json
from minerwatch.errors import UsageError
from minerwatch.ingest.headers import header_range
from minerwatch.metrics.prices import LivePrices
from minerwatch.networks import Network, get_network
from minerwatch.queries import chain as chain_queries
from minerwatch.store import bind_network, connect, get_meta
from minerwatch.sync import Progress, Syncer

if TYPE_CHECKING:
    from minerwatch.chain.rpc import RpcClient

PASSWORD_ENV = "MINERWATCH_RPC_PASSWORD"


def _at_least(low: float, kind: type = int):  # noqa: ANN202
    """An argparse type: a number (int or float) of at least `low`, with a message that names the bound."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: {text!r}") from e
        # float() also takes "nan" (which no comparison refuses) and "inf": neither is a count or a time.
        if kind is float and not math.isfinite(value):   # (an int of 400 digits would overflow it)
            raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"{text} is below the least allowed value, {low}")
        return value
    return parse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="store blocks from a node's blk files or JSON-RPC",
                       description="Store blocks from Bitcoin Core's blocks directory (bulk) and/or a node's "
                                   "JSON-RPC (following the tip with --follow). Resumable at any point.")
    add_db_arg(p)
    add_network_arg(p)
    add_source_args(p, follow_help="keep following the node's tip (needs --rpc)")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("status", help="what the database holds")
    add_db_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "block", help="facts of a stored block, or of a raw block in a file",
        description="Facts of a stored block (by height or hash) or of a raw block in a file (binary, hex or one "
                    "blk record). Both print the same keys for the same facts: height, hash, prev_hash, time_s "
                    "(header time, seconds since 1970) and time_utc, bits, version, size_bytes, weight_wu, tx_count, "
                    "segwit_tx_count, p2tr_output_count, coinbase_value_sat, coinbase_tag, coinbase_payouts and pool "
                    "(pool_slug, pool_name, matched_by, conflict, pools_version). A stored block adds what the chain "
                    "around it decides (median_time_past_s, difficulty, chainwork, subsidy_sat, fees_sat …); a file "
                    "adds merkle_root and height_source: the coinbase (BIP34, from height 227,931), else the "
                    "database when it holds the block, else the height is null.")
    add_db_arg(p)
    add_network_arg(p)
    p.add_argument("ref", nargs="?", help="height or block hash")
    p.add_argument("--file", type=Path, help="a raw block (binary or hex) instead of a stored one")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_block)


# `sync` stored every valid block but the blocks directory is damaged: the chain may be short.
EXIT_DAMAGED_FILES = 3


def add_source_args(p: argparse.ArgumentParser, follow_help: str) -> None:
    """Where blocks come from and how they are stored: the options of `sync` (and `serve --follow`)."""
    p.add_argument("--blocks-dir", type=Path, help="Bitcoin Core's blocks directory (blk*.dat, xor.dat)")
    p.add_argument("--headers-file", type=Path, metavar="FILE",
                   help="raw 80-byte block headers back to back, in height order (no node needed): "
                        "difficulty, hashrate and the other header-only series for the heights they cover")
    p.add_argument("--first-height", type=_at_least(0), metavar="N",
                   help="the height of the first header in --headers-file when it is not the genesis block")
    p.add_argument("--rpc", metavar="URL", help="the node's JSON-RPC URL (default port by network)")
    p.add_argument("--datadir", type=Path, help="the node's datadir (for the .cookie file)")
    p.add_argument("--rpc-user", help="RPC user (otherwise the cookie file)")
    p.add_argument("--rpc-cookie", type=Path, help="path of the node's .cookie file")
    p.add_argument("--rpc-timeout", metavar="SECONDS", type=_at_least(1.0, float), default=RPC_TIMEOUT_S,
                   help="the longest wait for one answer of the node, retries included "
                        f"(default {RPC_TIMEOUT_S:g}); raise it for a slow node or link")
    p.add_argument("--follow", action="store_true", help=follow_help)
    p.add_argument("--prices", choices=("off", "live"), default="off",
                   help="live: with a node, store each new day's BTC/USD (and the days missing before it) from "
                        "public exchange APIs (network access; default off: prices change only by `prices` "
                        "commands)")
    p.add_argument("--poll-seconds", type=_at_least(0.1, float), default=5.0, help="how often --follow asks for new blocks")
    p.add_argument("--workers", type=_at_least(1), default=_cores(),
                   help="parser processes for blk files (default: the machine's cores)")
    p.add_argument("--stop-height", type=_at_least(0), help="stop after this height")
    p.add_argument("--batch-blocks", type=_at_least(1), default=500, help="blocks per database transaction")


def _cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def check_sources(args: argparse.Namespace) -> None:
    """UsageError when the source options name nothing to sync from, or --follow has no node."""
    if not args.blocks_dir and not args.rpc and not args.datadir and not getattr(args, "headers_file", None):
        raise UsageError("nothing to sync from", "give --blocks-dir ~/.bitcoin/blocks, or --rpc http://127.0.0.1:8332, "
                                                 "or --headers-file FILE")
    if getattr(args, "first_height", None) is not None and not getattr(args, "headers_file", None):
        raise UsageError("--first-height is the height of the first header in --headers-file",
                         "add --headers-file FILE, or leave --first-height out")
    if getattr(args, "prices", "off") == "live" and not (args.rpc or args.datadir):
        raise UsageError("--prices live keeps the prices current while a node is followed",
                         "add --rpc URL --follow, or fill the days once: minerwatch prices fetch --since DATE --store")
    if args.follow and not (args.rpc or args.datadir):
        raise UsageError("--follow needs a node", "add --rpc URL (and --datadir or --rpc-cookie for credentials)")


def rpc_client(args: argparse.Namespace, network: Network, on_wait: Callable[[str], None]) -> RpcClient | None:
    """The node's client when the options name one (--rpc, or --datadir without --blocks-dir)."""
    if not (args.rpc or (args.datadir and not args.blocks_dir)):
        return None
    from minerwatch.chain.rpc import RpcClient

    return RpcClient(args.rpc, network, datadir=args.datadir, user=args.rpc_user,
                     password=os.environ.get(PASSWORD_ENV), cookie_file=args.rpc_cookie,
                     timeout_s=args.rpc_timeout, on_wait=lambda event: on_wait(event.message))


def live_prices(args: argparse.Namespace) -> LivePrices | None:
    """Where `--prices live` fetches from; None when prices are left alone."""
    return LivePrices() if getattr(args, "prices", "off") == "live" else None


def sync_files(syncer: Syncer, args: argparse.Namespace, client: RpcClient | None) -> None:
    """What a sync reads from files: --headers-file (headers stored, the header-only series
    computed), then --blocks-dir."""
    if getattr(args, "headers_file", None):
        syncer.sync_headers_file(args.headers_file, args.first_height)
    sync_blocks_dir(syncer, args, client)


def sync_blocks_dir(syncer: Syncer, args: argparse.Namespace, client: RpcClient | None) -> None:
    """The bulk part of a sync: --blocks-dir, if given, with the node's chain deciding when there is one."""
    if not args.blocks_dir:
        return
    canonical = None
    if client is not None:
        # With a node at hand, its canonical chain decides between competing blocks.
        client.check_network()
        count = client.block_count()
        canonical = dict(zip(range(count + 1), client.block_hashes(list(range(count + 1)))))
    syncer.sync_blocks_dir(args.blocks_dir, workers=max(1, args.workers), stop_height=args.stop_height,
                           canonical_hashes=canonical)


def sync_node(syncer: Syncer, args: argparse.Namespace, client: RpcClient | None,
              should_stop: Callable[[], bool]) -> None:
    """The node part of a sync: up to its tip, then (with --follow) along it until `should_stop()`."""
    if client is not None:
        syncer.live_prices = live_prices(args)
        syncer.sync_rpc(client, follow=args.follow, poll_s=args.poll_seconds, stop_height=args.stop_height,
                        should_stop=should_stop)


def network_for(args: argparse.Namespace, con=None) -> Network:  # noqa: ANN001
    if args.network:
        return get_network(args.network)
    stored = get_meta(con, "network") if con is not None else None
    return get_network(stored or "mainnet")


def cmd_sync(args: argparse.Namespace) -> int:
    check_sources(args)
    path = db_path(args)
    con = connect(path)
    network = network_for(args, con)
    bind_network(con, network.name, path)
    display = ProgressDisplay(sys.stderr)
    syncer = Syncer(con, network, batch_blocks=args.batch_blocks, on_progress=display,
                    reopen=(lambda: connect(path)) if args.follow else None)
    client = rpc_client(args, network, on_wait=lambda message: print(message, file=sys.stderr))
    sync_files(syncer, args, client)
    if client is not None:
        stop = threading.Event()
        if args.follow:
            # A follower runs until told to stop; it finishes the batch in hand (one transaction)
            # and exits 0 instead of dying mid-write.
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        sync_node(syncer, args, client, stop.is_set)
        if stop.is_set():
            print("stopped on request", file=sys.stderr)
    display.done(syncer.progress)
    tip = syncer.ingest.tip
    print(f"synced {syncer.progress.blocks} blocks; tip {tip.height} {tip.hash}" if tip else "no blocks stored",
          file=sys.stderr)
    if syncer.unconnected_from is not None:
        print(f"blocks from height {syncer.unconnected_from:,} on were left for later: the node has not connected "
              "them yet (they have no undo record); the next sync reads them", file=sys.stderr)
    headers = header_range(syncer.con)
    if headers is not None:
        print(f"headers {headers[0]:,}–{headers[1]:,} stored; `minerwatch status` says which series they complete",
              file=sys.stderr)
    report = syncer.files_report
    if report is not None and (report.damaged or report.skipped or report.stale or report.duplicates):
        print(f"blocks directory: {report.summary()}", file=sys.stderr)
    if report is not None and report.damaged:
        # Everything valid is stored; the exit code tells scripts that the chain may be short.
        print(f"error: the blocks directory is damaged: the chain read from it ends at height {report.tip_height}, "
              "and blocks after the damage could not be connected\n"
              "hint: re-copy the damaged blk files from the node (or restart the node with -reindex), or sync the "
              "rest from the node with --rpc; `minerwatch status` lists what was skipped", file=sys.stderr)
        return EXIT_DAMAGED_FILES
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    path = db_path(args)
    con = connect(path, read_only=True)
    st = chain_queries.status(con, path)
    if args.json:
        print_json(st)
    else:
        for k, v in st.items():
            if k.endswith("_time_s") and isinstance(v, int):   # a date, as people read it
                k, v = k[:-2], _utc(v)
            print(f"{k:24} {v['summary'] if isinstance(v, dict) and 'summary' in v else v}")
        for kind, c in st["series"].items():
            if isinstance(c, dict):          # where each kind of series starts and ends, and why
                print(f"  {kind + ' series':22} {c['summary']}")
    return 0


def _utc(time_s: int) -> str:
    """Epoch seconds as a UTC date and time, e.g. 2024-04-20 00:09:27 UTC."""
    return datetime.fromtimestamp(time_s, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def cmd_block(args: argparse.Namespace) -> int:
    if args.file:
        from minerwatch.queries.rawblock import facts_of_file, stored_height

        network = network_for(args)
        facts = facts_of_file(args.file, network)
        path = db_path(args)
        if facts["height"] is None and path.exists():
            # No height in a coinbase before BIP34 (227,931): the database has it if it holds the block.
            con = connect(path, read_only=True)
            try:
                facts = stored_height(con, facts, network)
            finally:
                con.close()
    else:
        if not args.ref:
            raise UsageError("which block?", "give a height or hash, or --file FILE")
        path = db_path(args)
        con = connect(path, read_only=True)
        facts = chain_queries.block(con, args.ref)
    if args.json:
        print_json(facts)
    else:
        for k, v in facts.items():
            print(f"{k:22} {v}")
    return 0


class ProgressDisplay:
    """A one-line progress bar on a terminal (blocks/s, MB/s, ETA); plain log lines otherwise."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self.stream = stream
        self.tty = stream.isatty()
        self.last_s = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if p.height < 0 or (not self.tty and now - self.last_s < 10 and p.height < p.target_height):
            return
        self.last_s = now
        elapsed = max(now - p.started_s, 1e-9)
        headers = p.headers > 0 and p.blocks == 0      # headers first: no block fetched yet
        rate = (p.headers if headers else p.blocks) / elapsed
        left = max(p.target_height - p.height, 0)
        eta = f"{left / rate:,.0f}s" if rate > 0 else "?"
        line = (f"headers {p.height:,}/{p.target_height:,}  {rate:,.0f} headers/s  ETA {eta}" if headers else
                f"height {p.height:,}/{p.target_height:,}  {rate:,.0f} blocks/s  "
                f"{p.bytes / elapsed / 1e6:,.1f} MB/s  ETA {eta}")
        if p.note:
            line += f"  ({p.note})"
            p.note = ""
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self, p: Progress) -> None:
        if self.tty and (p.blocks or p.headers):
            self.stream.write("\n")
        if p.note:  # a note from a run that stored nothing (no progress line carried it)
            self.stream.write(f"note: {p.note}\n")
            p.note = ""
