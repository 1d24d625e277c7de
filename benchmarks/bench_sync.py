"""End-to-end `minerwatch sync --blocks-dir` with 1 and 2 parser processes, on the same directory.

Builds the ~200 MB XOR-obfuscated blocks directory of bench_blkdir.py (real mainnet blocks re-linked
into one chain), then runs the real command — scan, parse in N processes, ingest with the
miner-cohort tracker, one DuckDB transaction per batch, metric refresh — into a fresh database
for each setting, and prints blocks/s, MB/s, the speed-up, and the sync process's own CPU time
and peak RSS (its parser workers not included).

    python benchmarks/bench_sync.py [--size-mb 200] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_blkdir import XOR_KEY, _chain_of_real_blocks  # noqa: E402

from minerwatch.chain.blkfiles import write_blk_files  # noqa: E402
from minerwatch.networks import get_network  # noqa: E402


def write_dir(blocks_dir: Path, size_mb: float) -> None:
    blocks = _chain_of_real_blocks(int(size_mb * 1e6))
    write_blk_files(blocks_dir, get_network("mainnet"), blocks, xor_key=XOR_KEY)
    print(f"{len(blocks)} blocks, {sum(len(b) for b in blocks) / 1e6:.1f} MB, XOR-obfuscated", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write_only:
        write_dir(args.write_only, args.size_mb)
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        # The directory is written by a child process: a sync started from a process that held the
        # blocks would report that process's memory as its own peak RSS (fork copies it).
        subprocess.run([sys.executable, __file__, "--write-only", str(Path(tmp) / "blocks"),
                        "--size-mb", str(args.size_mb)], check=True)
        size = sum(f.stat().st_size for f in (Path(tmp) / "blocks").glob("blk*.dat"))
        n_blocks = _count_blocks(Path(tmp) / "blocks")
        base = None
        for run, n in enumerate(args.workers):
            db = Path(tmp) / f"run{run}-w{n}.duckdb"
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "minerwatch", "sync", "--blocks-dir",
                                     str(Path(tmp) / "blocks"), "--db", str(db), "--workers", str(n)],
                                    stderr=subprocess.DEVNULL)
            # wait4 gives this one process's CPU time and peak RSS (worker processes not included).
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode:
                raise SystemExit(f"sync failed with exit status {proc.returncode}")
            wall = time.perf_counter() - t0
            base = base or wall
            print(f"workers={n}: {wall:6.1f} s  {n_blocks / wall:6.1f} blocks/s  {size / 1e6 / wall:6.1f} MB/s  "
                  f"speed-up {base / wall:4.2f}x  CPU {usage.ru_utime + usage.ru_stime:5.1f} s  "
                  f"peak RSS {usage.ru_maxrss / 1e3:.0f} MB")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def _count_blocks(blocks_dir: Path) -> int:
    from minerwatch.chain.blkfiles import scan

    return len(scan(blocks_dir, get_network("mainnet")).records)


if __name__ == "__main__":
    main()
