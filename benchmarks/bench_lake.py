"""Lake export rate on mainnet-shaped blocks, and the cohort SQL on DuckDB over the lake it wrote.

The blocks are bench_tracking.py's generator (2024-like: ~2,500 transactions, ~6,900 outputs and
~5,000 inputs per block, pool payouts and miner sales among ordinary traffic) handed to the exporter
as parsed blocks, so the rate is the export's own work — rows, script ids, addresses, Parquet —
without the parse (bench_parse.py has that). Memory is the process's peak RSS.

Then the whole export from a blocks directory — read, parse, rows, Parquet — with 1 and with 2
worker processes on the same blocks: bench_blkdir.py's directory of real mainnet blocks (every era,
tests/data/blocks) re-linked into one regtest chain, --blk-mb of it. Its CPU seconds are the export
process's and its workers' (the fork server's children, counted once it is stopped and reaped).

    python benchmarks/bench_lake.py [--blocks 60] [--txs-per-block 2500] [--part-blocks 20] [--lake DIR]
                                    [--blk-mb 60] [--blk-part-blocks 5] [--workers 1 2] [--repeat 3]

With --lake DIR the lake is kept there, for timing `minerwatch lake spark DIR …` on it. With
--spark N… the Spark job (`minerwatch lake spark`, PySpark in local mode, one JVM) runs on that same
lake with local[N] for each N, beside DuckDB's time on it: wall, CPU seconds of the job's processes
(the JVM included, sampled from /proc), peak RSS of the JVM, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import forkserver
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from procs import descendants, own_cpu_s  # noqa: E402  (tests/procs.py)

from bench_blkdir import XOR_KEY, _chain_of_real_blocks
from bench_tracking import Generator

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.lake.duck import run_cohorts
from minerwatch.lake.export import blk_source, export
from minerwatch.lake.layout import open_lake, read_manifest
from minerwatch.lake.schema import TABLES
from minerwatch.networks import get_network


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=60)
    ap.add_argument("--txs-per-block", type=int, default=2500)
    ap.add_argument("--part-blocks", type=int, default=20)
    ap.add_argument("--lake", help="write the lake here and keep it (default: a temporary directory)")
    ap.add_argument("--blk-mb", type=float, default=60, help="MB of blocks for the export from a blocks directory")
    ap.add_argument("--blk-part-blocks", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3, help="runs of the blocks-directory export per number of workers")
    ap.add_argument("--spark", type=int, nargs="*", default=[], metavar="CORES",
                    help="time `minerwatch lake spark` on the lake with local[CORES], for each (e.g. --spark 1 2)")
    ap.add_argument("--no-blocks-dir", action="store_true", help="skip the export from a blocks directory")
    ap.add_argument("--on-lake", metavar="DIR",
                    help="time only the cohort SQL (DuckDB, and Spark with --spark) on this existing lake")
    args = ap.parse_args()
    # Two cores shared with other jobs: the wall times are the load's; say what it was.
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    if args.on_lake:
        on_lake(args.on_lake, args.spark)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return

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
        t0, c0 = time.perf_counter(), cpu_s()
        run_cohorts(lake)
        cohorts_s, cohorts_cpu_s = time.perf_counter() - t0, cpu_s() - c0
        spark = {n: spark_job(lake, f"{tmp}/spark-{n}", n) for n in args.spark}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.blocks} blocks, {n_tx:,} transactions, {n_out:,} outputs, {n_in:,} inputs")
    print(f"export : {export_s:6.1f} s  {args.blocks / export_s:6.2f} blocks/s  {n_tx / export_s:8,.0f} tx/s  "
          f"{n_out / export_s:8,.0f} outputs/s")
    # CPU seconds do not depend on what else the machine runs: the rate a dedicated core gives.
    print(f"         {export_cpu_s:6.1f} s of CPU  {n_tx / export_cpu_s:8,.0f} tx per CPU-second")
    print(f"cohorts: {cohorts_s:6.1f} s (DuckDB over the lake, {cohorts_cpu_s:.1f} s of CPU)   "
          f"peak RSS {rss_mb:,.0f} MB (blocks held in memory included)")
    for n, (wall_s, job_cpu_s, jvm_mb) in spark.items():
        print(f"spark  : local[{n}] {wall_s:6.1f} s  {job_cpu_s:6.1f} s of CPU  JVM peak RSS {jvm_mb:,.0f} MB  "
              f"{n_tx / wall_s:8,.0f} tx/s  = {wall_s / cohorts_s:,.0f}x DuckDB's wall time"
              + (f", {spark[1][0] / wall_s:.2f}x local[1]'s speed" if n != 1 and 1 in spark else ""))
    print("lake   : table             rows        bytes   bytes/row (Parquet, zstd)")
    for table, (rows, size) in sizes.items():
        print(f"         {table:16} {rows:10,} {size:12,} {size / max(rows, 1):9.1f}")
    total_rows, total_bytes = (sum(v[i] for v in sizes.values()) for i in (0, 1))
    print(f"         {'all':16} {total_rows:10,} {total_bytes:12,}   {total_bytes / n_tx:7.1f} per transaction")
    del blocks
    if not args.no_blocks_dir:
        export_blocks_dir(args.blk_mb, args.blk_part_blocks, args.workers, args.repeat)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def on_lake(lake: str, spark_cores: list[int]) -> None:
    """DuckDB's cohort SQL on an existing lake (an export of a blocks directory, e.g. the rehearsal
    chain's), then the Spark job on it with local[N] for each N: the rates at a lake's real size."""
    fs, root = open_lake(lake)
    m = read_manifest(fs, root)
    if m is None:
        raise SystemExit(f"{lake} holds no lake (no manifest.json)")
    rows = {t: sum(p.rows[t] for p in m.parts) for t in TABLES}
    n_tx = rows["transactions"]
    print(f"lake {lake}: {m.network}, heights 0-{m.tip_height:,}, {len(m.parts)} parts; "
          + ", ".join(f"{n:,} {t}" for t, n in rows.items()))
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), cpu_s()
        run_cohorts(lake)
        duck_s, duck_cpu_s = time.perf_counter() - t0, cpu_s() - c0
        duck_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"cohorts: DuckDB {duck_s:7.1f} s  {duck_cpu_s:7.1f} s of CPU  peak RSS {duck_mb:,.0f} MB  "
              f"{duck_cpu_s / n_tx * 1e6:6.1f} us of CPU per transaction", flush=True)
        spark: dict[int, tuple[float, float, float]] = {}
        for n in spark_cores:
            spark[n] = wall_s, job_cpu_s, jvm_mb = spark_job(lake, f"{tmp}/spark-{n}", n)
            print(f"spark  : local[{n}] {wall_s:7.1f} s  {job_cpu_s:7.1f} s of CPU  JVM peak RSS {jvm_mb:,.0f} MB  "
                  f"{job_cpu_s / n_tx * 1e6:6.1f} us of CPU per transaction  = {wall_s / duck_s:,.1f}x DuckDB's wall "
                  f"time, {job_cpu_s / duck_cpu_s:,.1f}x its CPU"
                  + (f", {spark[1][0] / wall_s:.2f}x local[1]'s speed" if n != 1 and 1 in spark else ""), flush=True)


def spark_job(lake: str, out: str, cores: int) -> tuple[float, float, float]:
    """`minerwatch lake spark` on `lake` with local[cores]: (wall s, CPU s of its processes, JVM peak RSS MB)."""
    t0 = time.perf_counter()
    with PeakRss() as peak:
        subprocess.run([sys.executable, "-m", "minerwatch", "lake", "spark", lake, "--out", out,
                        "--master", f"local[{cores}]", "--shuffle-partitions", str(2 * cores)],
                       check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, sum(peak.cpu_s.values()), max(peak.mb.values(), default=0.0)


def export_blocks_dir(size_mb: float, part_blocks: int, workers: list[int], repeat: int) -> None:
    """The export from a blocks directory of real blocks, with each number of workers in turn."""
    net = get_network("regtest")
    with tempfile.TemporaryDirectory() as tmp:
        blocks_dir = Path(tmp) / "blocks"
        raw = _chain_of_real_blocks(int(size_mb * 1e6))
        write_blk_files(blocks_dir, net, raw, xor_key=XOR_KEY)
        print(f"blocks directory: {len(raw):,} real mainnet blocks re-linked, {sum(map(len, raw)) / 1e6:.1f} MB, "
              f"parts of {part_blocks} blocks")
        del raw
        # Best of `repeat` runs per setting, the settings taking turns: other jobs only ever slow a
        # run down, and CPU seconds too vary with them (a shared core's caches, its clock).
        rates: dict[int, tuple[float, float]] = {}
        for run in range(repeat):
            for w in workers:
                lake = f"{tmp}/lake-{w}-{run}"
                t0, c0, s0 = time.perf_counter(), cpu_s(children=True), cpu_s()
                with PeakRss() as peak:
                    export(lake, net, blk_source(blocks_dir, net, workers=w), part_blocks=part_blocks)
                wall_s = time.perf_counter() - t0
                stop_fork_server()
                used_cpu_s, own_cpu_s = cpu_s(children=True) - c0, cpu_s() - s0
                n_tx = table_sizes(lake)["transactions"][0]
                best = rates.get(w, (0.0, 0.0))
                rates[w] = (max(best[0], n_tx / wall_s), max(best[1], n_tx / used_cpu_s))
                rss = ""
                if w > 1 and peak.mb:
                    # This process (the scan, then listing parts) and the busiest worker, one after the
                    # other: about the wall time on as many idle cores (computed, not measured).
                    idle_s = own_cpu_s + max(peak.cpu_s.values())
                    rss = (f"\n    peak RSS of a worker {max(peak.mb.values()):,.0f} MB; CPU seconds of this process "
                           f"{own_cpu_s:.1f} and of those below it "
                           f"{', '.join(f'{v:.1f}' for v in sorted(peak.cpu_s.values(), reverse=True))}: "
                           f"on {w} idle cores ~{idle_s:.1f} s, {n_tx / idle_s:,.0f} tx/s (computed)")
                print(f"export, {w} worker(s): {n_tx:,} tx  {wall_s:6.1f} s  {n_tx / wall_s:8,.0f} tx/s   "
                      f"{used_cpu_s:6.1f} s of CPU  {n_tx / used_cpu_s:8,.0f} tx per CPU-second   "
                      f"(load {os.getloadavg()[0]:.2f}){rss}")
        for w, (wall, cpu) in rates.items():
            print(f"best of {repeat}, {w} worker(s): {wall:8,.0f} tx/s  {cpu:8,.0f} tx per CPU-second"
                  + (f"  = {wall / rates[1][0]:.2f}x the wall rate and {cpu / rates[1][1]:.2f}x the rate per "
                     "CPU-second of 1" if w != 1 and 1 in rates else ""))


class PeakRss:
    """The peak RSS (VmHWM) and the CPU seconds of each process below this one, sampled every 0.1 s
    while in the block (getrusage's children's maxrss would count this process's own memory: a
    child forked before its exec). The CPU seconds miss at most a process's last 0.1 s."""

    def __enter__(self) -> PeakRss:
        self.mb: dict[int, float] = {}
        self.cpu_s: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _sample(self) -> None:
        while not self.done.wait(0.1):
            for pid in descendants(os.getpid()):
                cpu = own_cpu_s(pid)
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                if cpu is not None:
                    self.cpu_s[pid] = cpu
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.mb[pid] = max(self.mb.get(pid, 0.0), int(line.split()[1]) / 1024)


def stop_fork_server() -> None:
    """Stop and reap multiprocessing's fork server, so that its workers' CPU counts as this process's children's."""
    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        server._stop()


def cpu_s(children: bool = False) -> float:
    """User and system CPU seconds of this process so far (and of its reaped children, with `children`)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    total = r.ru_utime + r.ru_stime
    if children:
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += c.ru_utime + c.ru_stime
    return total


def table_sizes(lake: str) -> dict[str, tuple[int, int]]:
    """Rows and bytes on disk of each table of a local lake, from its manifest and its files."""
    fs, root = open_lake(lake)
    m = read_manifest(fs, root)
    assert m is not None
    return {t: (sum(p.rows[t] for p in m.parts), sum(os.path.getsize(f"{root}/{f}") for f in m.files(t)))
            for t in TABLES}


if __name__ == "__main__":
    main()
