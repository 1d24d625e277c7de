"""Address encoding and pool attribution speed on the real blocks in tests/data/blocks.

    python benchmarks/bench_address.py

Prints microseconds per call: encode_address for every output type (uncached, as a first sight
of a script is), for the coinbase outputs of the real blocks (as sync calls it), and
PoolList.attribute per block.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

from minerwatch.chain.address import _encode, encode_address
from minerwatch.chain.block import parse_block
from minerwatch.chain.script import ScriptType
from minerwatch.networks import NETWORKS
from minerwatch.pools import load_pool_list

BLOCKS = Path(__file__).parents[1] / "tests" / "data" / "blocks"
MAIN = NETWORKS["mainnet"]


def _best_of(fn: Callable[[], object], calls: int, repeat: int = 5) -> float:
    """Microseconds per call, best of `repeat` runs (the machine is shared: the minimum is the
    least disturbed figure)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / calls * 1e6


def main() -> None:
    rows = [r for r in csv.DictReader(open(BLOCKS / "INDEX.csv")) if r["network"] == "mainnet"]
    blocks = [parse_block((BLOCKS / r["file"]).read_bytes()) for r in rows]
    outputs = [(t, p) for b in blocks for t, p in zip(b.out_type, b.out_payload)]
    for st in (ScriptType.P2PKH, ScriptType.P2SH, ScriptType.P2WPKH, ScriptType.P2WSH, ScriptType.P2TR):
        sample = [(t, p) for t, p in outputs if t == st][:5000]

        def run(sample: list[tuple[int, bytes]] = sample) -> None:
            _encode.cache_clear()
            for t, p in sample:
                encode_address(t, p, MAIN)

        print(f"encode_address {st.name:<6} uncached: {_best_of(run, len(sample)):6.2f} us/output")

    coinbase = [
        (b.coinbase_script, [(t, p) for tx, t, p in zip(b.out_tx, b.out_type, b.out_payload) if tx == 0])
        for b in blocks
    ]
    n_cb = sum(len(o) for _, o in coinbase)

    def cached() -> None:
        for _, outs in coinbase:
            for t, p in outs:
                encode_address(t, p, MAIN)

    print(f"encode_address coinbase outputs, cached: {_best_of(cached, n_cb):6.2f} us/output")

    pools = load_pool_list()
    payouts = [(s, [a for a in (encode_address(t, p, MAIN) for t, p in outs) if a]) for s, outs in coinbase]

    def attribute() -> None:
        for script, addresses in payouts:
            pools.attribute(script, addresses)

    per_block = _best_of(attribute, len(payouts))
    print(f"PoolList.attribute: {per_block:6.1f} us/block "
          f"(x 930,000 blocks = {per_block * 930_000 / 1e6:.0f} s for the whole chain)")


if __name__ == "__main__":
    main()
