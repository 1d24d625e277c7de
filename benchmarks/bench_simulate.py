"""Time to generate the simulated demo chain and write its files (the first step of `minerwatch demo`).

    python benchmarks/bench_simulate.py [--days 480] [--seed 2025] [--dir DIR]

Prints wall and CPU seconds for generation and for writing blocks/prices/labels/pools, the block
count and bytes. CPU time is printed beside wall time because on a shared machine the wall time
measures the neighbours too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from minerwatch.simulate.files import write_demo
from minerwatch.simulate.generate import SimConfig, generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=SimConfig().days)
    ap.add_argument("--seed", type=int, default=SimConfig().seed)
    ap.add_argument("--dir", type=Path, default=None, help="write here (default: a temporary directory)")
    args = ap.parse_args()
    config = SimConfig(seed=args.seed, days=args.days)

    wall, cpu = time.perf_counter(), time.process_time()
    chain = generate(config)
    gen_wall, gen_cpu = time.perf_counter() - wall, time.process_time() - cpu
    size = sum(map(len, chain.raw_blocks))
    sizes = sorted(map(len, chain.raw_blocks))

    with tempfile.TemporaryDirectory() as tmp:
        out = args.dir or Path(tmp)
        wall, cpu = time.perf_counter(), time.process_time()
        files = write_demo(out, config, chain=chain)
        write_wall, write_cpu = time.perf_counter() - wall, time.process_time() - cpu

    print(f"days {config.days}, seed {config.seed}: {files.block_count:,} blocks, {size / 1e6:.1f} MB "
          f"(median block {sizes[len(sizes) // 2]:,} B, largest {sizes[-1]:,} B)")
    print(f"generate: {gen_wall:.1f} s wall, {gen_cpu:.1f} s CPU ({files.block_count / gen_cpu:,.0f} blocks/s CPU)")
    print(f"write:    {write_wall:.1f} s wall, {write_cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
