"""lake export|cohorts|spark|import: the chain as a Parquet lake, and the cohort SQL over it (docs/lake.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from minerwatch.cli.chain_cmds import RPC_TIMEOUT_S, _at_least, _cores, rpc_client
from minerwatch.cli.common import add_db_arg, db_path
from minerwatch.errors import UsageError
from minerwatch.networks import NETWORKS, get_network


def register(sub: argparse._SubParsersAction) -> None:
    lake = sub.add_parser("lake", help="the chain as Parquet files, and the miner cohorts computed from them")
    lsub = lake.add_subparsers(dest="lake_command", metavar="SUBCOMMAND", required=True)

    p = lsub.add_parser("export", help="write the chain as Parquet (blocks, transactions, outputs, inputs, "
                                       "coinbase payouts) into DIR; run again to resume or append",
                        description="Write the chain as Parquet, a part per height range. A killed export "
                                    "resumes after its last complete part; a later run appends the new blocks.")
    p.add_argument("dir", metavar="DIR", help="the lake: a local directory or a URI pyarrow understands (s3://…)")
    p.add_argument("--blocks-dir", type=Path, help="Bitcoin Core's blocks directory (blk*.dat, xor.dat)")
    p.add_argument("--rpc", metavar="URL", help="the node's JSON-RPC URL (default port by network)")
    p.add_argument("--datadir", type=Path, help="the node's datadir (for the .cookie file)")
    p.add_argument("--rpc-user", help="RPC user (otherwise the cookie file)")
    p.add_argument("--rpc-cookie", type=Path, help="path of the node's .cookie file")
    p.add_argument("--rpc-timeout", metavar="SECONDS", type=_at_least(1.0, float), default=RPC_TIMEOUT_S,
                   help="the longest to wait for one answer of the node, retries included")
    p.add_argument("--network", choices=list(NETWORKS), default=None,
                   help="Bitcoin network (default: the lake's, else mainnet)")
    p.add_argument("--workers", type=_at_least(1), default=_cores(),
                   help="processes that each write whole parts from --blocks-dir (default: the cores here); "
                        "an export from the node (--rpc) runs in one")
    p.add_argument("--stop-height", type=_at_least(0), help="stop after this height")
    p.add_argument("--part-blocks", type=_at_least(1), default=None,
                   help="blocks per part of a new lake (default 1000); an existing lake keeps its own")
    p.set_defaults(func=cmd_export)

    p = lsub.add_parser("cohorts", help="compute the miner cohorts, their daily series and true fees from the lake "
                                        "with DuckDB, into RESULTS (Parquet)")
    p.add_argument("dir", metavar="DIR", help="the lake (a local directory or a URI pyarrow understands)")
    p.add_argument("--out", required=True, metavar="RESULTS", help="where to write the result tables")
    _add_cohort_inputs(p)
    p.set_defaults(func=cmd_cohorts)

    p = lsub.add_parser("spark", help="the same computation on Spark (also: spark-submit minerwatch/lake/spark_job.py)",
                        description="Run lake/sql/cohorts.sql on PySpark and write the result tables as Parquet "
                                    "under RESULTS/<table>/. Needs pyspark and Java 17 or 21.")
    p.add_argument("dir", metavar="DIR", help="the lake (a local directory or a URI Spark and pyarrow understand)")
    p.add_argument("--out", required=True, metavar="RESULTS", help="where to write the result tables")
    _add_cohort_inputs(p)
    p.add_argument("--master", default="local[*]", help="Spark master URL (default local[*]: every core here)")
    p.add_argument("--shuffle-partitions", type=_at_least(1), default=None,
                   help="spark.sql.shuffle.partitions (Spark's default 200 suits a cluster, not a small lake)")
    p.add_argument("--driver-memory", default="4g",
                   help="spark.driver.memory for a new session (default 4g; in local mode the driver does all the work)")
    p.set_defaults(func=cmd_spark)

    p = lsub.add_parser("import", help="load the results of lake cohorts|spark into the database (lake_* tables)")
    p.add_argument("results", metavar="RESULTS", help="the --out directory (or URI) of lake cohorts or lake spark")
    add_db_arg(p)
    p.set_defaults(func=cmd_import)


def _add_cohort_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pools", type=Path, default=None, metavar="FILE",
                   help="pool list in pools-v2.json format for the pool:<slug> cohorts (default: the one shipped)")
    p.add_argument("--labels", type=Path, default=None, metavar="FILE.csv",
                   help="label set (CSV columns address,entity,category) for the label:<entity> cohorts and the "
                        "flow to exchanges (default: none)")


def cmd_export(args: argparse.Namespace) -> int:
    from minerwatch.lake.export import blk_source, export, rpc_source
    from minerwatch.lake.layout import open_lake, read_manifest

    if not args.blocks_dir and not args.rpc and not args.datadir:
        raise UsageError("nothing to export from", "give --blocks-dir ~/.bitcoin/blocks, or --rpc URL / --datadir DIR")
    name = args.network
    if name is None:
        m = read_manifest(*open_lake(args.dir))
        name = m.network if m else "mainnet"
    network = get_network(name)
    if args.blocks_dir:
        source = blk_source(args.blocks_dir, network, workers=args.workers, stop_height=args.stop_height)
    else:
        client = rpc_client(args, network, on_wait=lambda message: print(message, file=sys.stderr))
        client.check_network()
        client.wait_until_synced()
        source = rpc_source(client, stop_height=args.stop_height)
    t0 = time.perf_counter()
    r = export(args.dir, network, source, part_blocks=args.part_blocks)
    seconds = time.perf_counter() - t0
    if r.blocks_written:
        rate = r.blocks_written / seconds if seconds > 0 else 0.0
        # Who wrote the parts: the blk files' worker processes, or this process (the node's blocks, --workers 1).
        by = f"{args.workers} workers" if args.blocks_dir and args.workers > 1 else "one process"
        print(f"lake {args.dir}: heights {r.first_height:,}–{r.tip_height:,} written ({r.blocks_written:,} blocks, "
              f"{r.parts_written:,} part{'' if r.parts_written == 1 else 's'}, {by}) in {seconds:.1f} s, {rate:,.0f} blocks/s; tip {r.tip_height:,}")
    else:
        print(f"lake {args.dir}: nothing new; tip {r.tip_height:,}")
    return 0


def cmd_cohorts(args: argparse.Namespace) -> int:
    from minerwatch.lake.duck import compute, write_results

    t0 = time.perf_counter()
    con, m, ins = compute(args.dir, args.pools, args.labels)
    write_results(con, m, ins, args.out)
    print(f"cohorts of the lake {args.dir} (tip {m.tip_height:,}) written to {args.out} by DuckDB "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_spark(args: argparse.Namespace) -> int:
    from minerwatch.lake.spark_job import run, spark_session

    t0 = time.perf_counter()
    spark = spark_session(args.master, args.shuffle_partitions, args.driver_memory)
    try:
        spark.sparkContext.setLogLevel("ERROR")
        run(spark, args.dir, args.out, args.pools, args.labels)
    finally:
        spark.stop()
    print(f"cohorts of the lake {args.dir} written to {args.out} by Spark ({args.master}) "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from minerwatch.lake.importer import import_results
    from minerwatch.store import connect

    con = connect(db_path(args))
    try:
        r = import_results(con, args.results)
    finally:
        con.close()
    counts = ", ".join(f"{n:,} {t}" for t, n in r.rows.items())
    print(f"imported {args.results} ({r.engine}, lake tip {r.lake_tip_height:,}) into {db_path(args)}: {counts}")
    return 0
