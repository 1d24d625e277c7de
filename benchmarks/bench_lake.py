"""Lake export rate on mainnet-shaped blocks, and the cohort SQL on DuckDB over the lake it wrote.

The blocks are bench_tracking.py's generator (2024-like: ~2,500 transactions, ~6,900 outputs and
~5,000 inputs per block, pool payouts and miner sales among ordinary traffic) handed to the exporter
as parsed blocks, so the rate is the export's own work — rows, script ids, addresses, Parquet —
without the parse (bench_parse.py has that). Memory is the process's peak RSS.

    python benchmarks/bench_lake.py [--blocks 60] [--txs-per-block 2500] [--part-blocks 20] [--lake DIR]

With --lake DIR the lake is kept there, for timing `minerwatch lake spark DIR …` on it.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from bench_tracking import Generator

from minerwatch.lake.duck import run_cohorts
from minerwatch.lake.export import export
from minerwatch.lake.layout import open_lake, read_manifest
from minerwatch.lake.schema import TABLES
from minerwatch.networks import get_network


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=60)
    ap.add_argument("--txs-per-block", type=int, default=2500)
    ap.add_argument("--part-blocks", type=int, default=20)
    ap.add_argument("--lake", help="write the lake here and keep it (default: a temporary directory)")
    args = ap.parse_args()

    gen = Generator(args.txs_per_block)
    blocks = [(h, gen.block(h)) for h in range(args.blocks)]
    n_tx = sum(b.tx_count for _, b in blocks)
    n_out = sum(len(b.out_tx) for _, b in blocks)
    n_in = sum(len(b.in_tx) for _, b in blocks)
    with tempfile.TemporaryDirectory() as tmp:
        lake = args.lake or f"{tmp}/lake"
        t0, c0 = time.perf_counter(), cpu_s()
        export(lake, get_network("mainnet"), lambda start: blocks[start:], part_blocks=args.part_blocks)
        export_s, export_cpu_s = time.perf_counter() - t0, cpu_s() - c0
        sizes = table_sizes(lake)
        t0 = time.perf_counter()
        run_cohorts(lake)
        cohorts_s = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.blocks} blocks, {n_tx:,} transactions, {n_out:,} outputs, {n_in:,} inputs")
    print(f"export : {export_s:6.1f} s  {args.blocks / export_s:6.2f} blocks/s  {n_tx / export_s:8,.0f} tx/s  "
          f"{n_out / export_s:8,.0f} outputs/s")
    # CPU seconds do not depend on what else the machine runs: the rate a dedicated core gives.
    print(f"         {export_cpu_s:6.1f} s of CPU  {n_tx / export_cpu_s:8,.0f} tx per CPU-second")
    print(f"cohorts: {cohorts_s:6.1f} s (DuckDB over the lake)   peak RSS {rss_mb:,.0f} MB (blocks held in memory included)")
    print("lake   : table             rows        bytes   bytes/row (Parquet, zstd)")
    for table, (rows, size) in sizes.items():
        print(f"         {table:16} {rows:10,} {size:12,} {size / max(rows, 1):9.1f}")
    total_rows, total_bytes = (sum(v[i] for v in sizes.values()) for i in (0, 1))
    print(f"         {'all':16} {total_rows:10,} {total_bytes:12,}   {total_bytes / n_tx:7.1f} per transaction")


def cpu_s() -> float:
    """User and system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def table_sizes(lake: str) -> dict[str, tuple[int, int]]:
    """Rows and bytes on disk of each table of a local lake, from its manifest and its files."""
    fs, root = open_lake(lake)
    m = read_manifest(fs, root)
    assert m is not None
    return {t: (sum(p.rows[t] for p in m.parts), sum(os.path.getsize(f"{root}/{f}") for f in m.files(t)))
            for t in TABLES}


if __name__ == "__main__":
    main()
