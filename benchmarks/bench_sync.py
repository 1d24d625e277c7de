"""End-to-end `minerwatch sync --blocks-dir` with 1 and 2 parser processes, on the same directory.

Builds the ~200 MB XOR-obfuscated blocks directory of bench_blkdir.py (real mainnet blocks re-linked
into one chain), then runs the real command — scan, parse in N processes, ingest with the
miner-cohort tracker, one DuckDB transaction per batch, metric refresh — into a fresh database
for each setting, and prints blocks/s, MB/s, the speed-up and the peak RSS of the sync process.

    python benchmarks/bench_sync.py [--size-mb 200] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_blkdir import XOR_KEY, _chain_of_real_blocks  # noqa: E402

from minerwatch.chain.blkfiles import write_blk_files  # noqa: E402
from minerwatch.networks import get_network  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        blocks = _chain_of_real_blocks(int(args.size_mb * 1e6))
        size = sum(len(b) for b in blocks)
        write_blk_files(Path(tmp) / "blocks", get_network("mainnet"), blocks, xor_key=XOR_KEY)
        print(f"{len(blocks)} blocks, {size / 1e6:.1f} MB, XOR-obfuscated")
        base = None
        for run, n in enumerate(args.workers):
            db = Path(tmp) / f"run{run}-w{n}.duckdb"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "minerwatch", "sync", "--blocks-dir", str(Path(tmp) / "blocks"),
                            "--db", str(db), "--workers", str(n)], check=True, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            base = base or wall
            print(f"workers={n}: {wall:6.1f} s  {len(blocks) / wall:6.1f} blocks/s  {size / 1e6 / wall:6.1f} MB/s  "
                  f"speed-up {base / wall:4.2f}x  CPU {cpu:5.1f} s  peak RSS {after.ru_maxrss / 1e3:.0f} MB")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
