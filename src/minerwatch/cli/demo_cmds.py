"""`minerwatch demo`: a simulated chain through the real pipeline, then the dashboard.

The chain is generated on minerwatch's own network (simnet: its own magic and genesis, so it can
never be mixed into a real chain's database), written as Bitcoin Core blk files, and synced exactly
as a user's node would be: blk reader → parser → ingest → metrics.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from minerwatch.cli.chain_cmds import ProgressDisplay
from minerwatch.cli.common import demo_db_path
from minerwatch.errors import UsageError
from minerwatch.networks import get_network
from minerwatch.store import bind_network, connect, ensure_folder, get_meta, transaction
from minerwatch.sync import Syncer


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="build a simulated chain, sync it, and serve the dashboard",
                       description="Build minerwatch's simulated demo chain (network simnet, labelled simulated "
                                   "everywhere), write it as blk files, sync it through the real pipeline and serve "
                                   "the dashboard. Offline; about a minute or two.")
    p.add_argument("--db", type=Path, default=None,
                   help="demo database (default: demo.duckdb beside the default database; never your real one)")
    p.add_argument("--no-serve", action="store_true", help="build the database and exit")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8400)
    p.add_argument("--token", default=None,
                   help="access token required from clients (default: $MINERWATCH_TOKEN); mandatory when --host "
                        "is not a loopback address")
    p.add_argument("--seed", type=int, default=None, help="simulation seed (default: the built-in story)")
    p.add_argument("--workers", type=int, default=2, help="parser processes")
    p.set_defaults(func=cmd_demo)


def build_demo(db: Path, seed: int | None = None, workers: int = 2, log=print) -> dict:  # noqa: ANN001
    """Generate, write and sync the demo chain into `db` (replacing an earlier demo database)."""
    from minerwatch.metrics.labels import import_labels
    from minerwatch.metrics.pool_share import update_pool_list
    from minerwatch.metrics.prices import import_prices
    from minerwatch.simulate.files import write_demo
    from minerwatch.simulate.generate import SimConfig

    simnet = get_network("simnet")
    if db.exists():
        con = connect(db, read_only=True)
        network = get_meta(con, "network")
        con.close()
        if network not in (None, "simnet"):
            raise UsageError(f"{db} holds {network} data, not the demo's", "pass another --db for the demo")
        db.unlink()
        Path(str(db) + ".wal").unlink(missing_ok=True)
    work = db.with_name(db.name + ".files")
    shutil.rmtree(work, ignore_errors=True)
    started = time.monotonic()
    log("generating the simulated chain (network simnet) …")
    # With the undo files a node keeps beside its blk files (rev*.dat), so that the demo's sync takes
    # the path a real node's blocks directory takes: spends decided from the undo data, true fees.
    files = write_demo(work, SimConfig() if seed is None else SimConfig(seed=seed), rev_files=True)
    generated_s = time.monotonic() - started
    log(f"  {files.block_count:,} blocks written as blk and rev files in {work / 'blocks'} ({generated_s:.0f} s)")
    con = connect(db)
    bind_network(con, simnet.name, db)
    import_prices(con, files.prices_csv)
    # Only the simulated story's prices: the shipped real history must not show beside them.
    con.execute("DELETE FROM prices WHERE source <> ?", [f"import:{files.prices_csv.name}"])
    update_pool_list(con, files.pools_json)
    log("syncing them through the pipeline (blk reader → parser → DuckDB → metrics) …")
    syncer = Syncer(con, simnet, batch_blocks=2000, on_progress=ProgressDisplay(sys.stderr))
    syncer.sync_blocks_dir(files.blocks_dir, workers=workers)
    from minerwatch.metrics.miners import refresh_miner_flows

    with transaction(con):
        import_labels(con, files.labels_csv, "demo", simnet)
        refresh_miner_flows(con, 0)
    tip = syncer.ingest.tip
    con.close()
    total_s = time.monotonic() - started
    log(f"  done: tip {tip.height:,}, database {db} ({total_s:.0f} s in all)")
    blk_mb = sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) / 1e6
    # ~100 MB that nothing reads once synced; kept so `minerwatch sync --blocks-dir` can be tried on them.
    log(f"  the blk files ({blk_mb:,.0f} MB) stay in {work}; delete them freely")
    return {"db": str(db), "tip_height": tip.height, "blocks": files.block_count, "seconds": round(total_s, 1)}


def cmd_demo(args: argparse.Namespace) -> int:
    db = args.db or demo_db_path()
    ensure_folder(db, "the demo database")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    token = args.token or os.environ.get("MINERWATCH_TOKEN") or None
    sock = None
    if not args.no_serve:
        from minerwatch.web.app import check_bind, listen_socket

        # Refuse an open address or a taken port before the build, not after it.
        check_bind(args.host, token)
        sock = listen_socket(args.host, args.port)
    build_demo(db, args.seed, max(1, args.workers), log)
    if sock is None:
        return 0
    from minerwatch.web.app import serve

    port = sock.getsockname()[1]
    log(f"minerwatch demo (SIMULATED data): open http://{args.host}:{port}/  (Ctrl-C stops)")
    serve(db, args.host, port, token, sock=sock)
    return 0
