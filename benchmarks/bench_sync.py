"""End-to-end `minerwatch sync --blocks-dir` with 1 and 2 parser processes, on the same directory.

Builds the ~200 MB XOR-obfuscated blocks directory of bench_blkdir.py (real mainnet blocks re-linked
and mined into one regtest chain), then runs the real command — scan, parse in N processes, ingest with the
miner-cohort tracker, one DuckDB transaction per batch, metric refresh — into a fresh database
for each run, and prints blocks/s, MB/s, the speed-up over workers=1, the CPU time of the sync
process alone and of its whole process tree (parser workers included; Linux), and peak RSS.

    python benchmarks/bench_sync.py [--size-mb 200] [--workers 1 2] [--repeat 1] [--dir DIR]

With --repeat N the settings take turns (1, 2, 1, 2, …) and the fastest run of each counts: other
work on a shared machine only ever slows a run down. Before and after the runs it prints how much
the machine's second core adds right then (a pure-Python loop in two processes against one): on a
virtual machine that can be anything from a third to all of a core, and bounds the speed-up.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_blkdir import NETWORK, XOR_KEY, _chain_of_real_blocks  # noqa: E402

from minerwatch.chain.blkfiles import write_blk_files  # noqa: E402
from minerwatch.networks import get_network  # noqa: E402


def write_dir(blocks_dir: Path, size_mb: float) -> None:
    blocks = _chain_of_real_blocks(int(size_mb * 1e6))
    write_blk_files(blocks_dir, get_network(NETWORK), blocks, xor_key=XOR_KEY)
    print(f"{len(blocks)} blocks, {sum(len(b) for b in blocks) / 1e6:.1f} MB, XOR-obfuscated", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1, help="runs per setting, taking turns; the fastest counts")
    ap.add_argument("--dir", type=Path, help="blocks directory to use, written there first if it does not exist")
    ap.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write_only:
        write_dir(args.write_only, args.size_mb)
        return
    tree_cpu = _become_subreaper()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {_second_core()}")
    with tempfile.TemporaryDirectory() as tmp:
        blocks_dir = args.dir or Path(tmp) / "blocks"
        if not blocks_dir.exists():
            # Written by a child process: a sync started from a process that held the blocks would
            # report that process's memory as its own peak RSS (fork copies it).
            subprocess.run([sys.executable, __file__, "--write-only", str(blocks_dir), "--size-mb", str(args.size_mb)],
                           check=True)
        size = sum(f.stat().st_size for f in blocks_dir.glob("blk*.dat"))
        n_blocks = _count_blocks(blocks_dir)
        print(f"{n_blocks} blocks, {size / 1e6:.1f} MB in {blocks_dir}")
        best: dict[int, float] = {}
        for run in range(args.repeat):
            for n in args.workers:
                wall, cpu, cpu_tree, rss_mb = _sync(blocks_dir, Path(tmp) / f"run{run}-w{n}.duckdb", n, tree_cpu)
                best[n] = min(best.get(n, wall), wall)
                tree = f"{cpu_tree:5.1f} s" if tree_cpu else "  n/a"
                print(f"workers={n}: {wall:6.1f} s  {n_blocks / wall:6.1f} blocks/s  {size / 1e6 / wall:6.1f} MB/s  "
                      f"CPU {cpu:5.1f} s (with workers {tree})  peak RSS {rss_mb:.0f} MB", flush=True)
    base = best.get(1)
    for n, wall in best.items():
        ratio = f"  speed-up {base / wall:4.2f}x" if base else ""
        print(f"best workers={n}: {wall:6.1f} s  {n_blocks / wall:6.1f} blocks/s  {size / 1e6 / wall:6.1f} MB/s{ratio}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}; {_second_core()}")


def _spin(n: int) -> int:
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def _second_core(n: int = 10_000_000) -> str:
    """How much faster two processes run two CPU-bound loops than one process runs both."""
    t = time.perf_counter()
    _spin(n)
    _spin(n)
    one = time.perf_counter() - t
    with multiprocessing.get_context("fork").Pool(2) as pool:
        t = time.perf_counter()
        pool.map(_spin, [n, n])
        two = time.perf_counter() - t
    return f"a pure-Python loop in 2 processes runs {one / two:.2f}x one"


def _sync(blocks_dir: Path, db: Path, workers: int, tree_cpu: bool) -> tuple[float, float, float, float]:
    """(wall s, CPU s of the sync process, CPU s of its whole process tree, peak RSS MB) of one sync."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "minerwatch", "sync", "--blocks-dir", str(blocks_dir),
                             "--db", str(db), "--network", NETWORK, "--workers", str(workers)],
                            stderr=subprocess.DEVNULL)
    # wait4 gives this one process's CPU time and peak RSS (worker processes not included).
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"sync failed with exit status {os.waitstatus_to_exitcode(status)}")
    if tree_cpu:
        _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_tree = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, usage.ru_utime + usage.ru_stime, cpu_tree, usage.ru_maxrss / 1e3


def _become_subreaper() -> bool:
    """Adopt the sync's orphaned descendants (its fork server, which reaps the parser workers), so
    that their CPU time is counted when they are reaped here. Linux only; False elsewhere."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0   # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap_orphans() -> None:
    """Wait for every adopted descendant (the fork server exits once the sync has)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _count_blocks(blocks_dir: Path) -> int:
    from minerwatch.chain.blkfiles import scan

    return len(scan(blocks_dir, get_network(NETWORK)).records)


if __name__ == "__main__":
    main()
