"""Miner-cohort tracking cost on a generated, mainnet-shaped chain; extrapolated to the full chain.

Each generated block looks like a mainnet block of 2024 (scaled by --txs-per-block, default 2,500):
one coinbase paying one of 12 pools; every 6th block a pool pays out its matured coinbases to 300
miner addresses (FPPS/PPLNS-style batch payouts: the 1-hop set); miners sell some of their coins to
a few exchange addresses; and the rest of the block is ordinary traffic (2 inputs spending outputs
the cohorts never saw, 2–3 outputs to fresh scripts), which is what the tracker mostly skips.

It measures, in one run: the tracker alone (Tracker.apply: the in-memory state), and the full
ingest (Tracker + DuckDB writes of block, coinbase and cohort rows, one transaction per batch), in
blocks/s and µs per transaction; then the tracker state (cohort scripts and tracked unspent outputs)
and its memory per entry (tracemalloc), and the full-chain extrapolation (~930,000 blocks,
~1.2 billion transactions).

    python benchmarks/bench_tracking.py [--blocks 600] [--txs-per-block 2500]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
import tracemalloc
from hashlib import sha256
from pathlib import Path

from minerwatch.chain.block import Block, BlockHeader
from minerwatch.ingest import Ingest
from minerwatch.ingest.tracker import Tracker
from minerwatch.networks import get_network
from minerwatch.store import bind_network, connect

P2WPKH, P2PKH, P2TR = 4, 2, 6
FULL_CHAIN_BLOCKS = 930_000
FULL_CHAIN_TXS = 1_200_000_000


def _h(*parts: object) -> bytes:
    return sha256(repr(parts).encode()).digest()


class Generator:
    """Mainnet-shaped blocks as parsed columns (the parser's output), without serializing them."""

    def __init__(self, txs_per_block: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.txs_per_block = txs_per_block
        self.pools = [_h("pool", i)[:20] for i in range(12)]
        self.miners = [_h("miner", i)[:20] for i in range(3000)]
        self.exchanges = [_h("exchange", i)[:20] for i in range(5)]
        self.pool_coins: dict[int, list[tuple[bytes, int, int]]] = {i: [] for i in range(12)}
        self.miner_coins: list[tuple[bytes, int, int]] = []
        self.prev = bytes(32)

    def block(self, height: int) -> Block:
        rng = self.rng
        cols: dict[str, list] = {k: [] for k in ("out_tx", "out_vout", "out_value_sat", "out_type", "out_payload",
                                                 "in_tx", "in_prev_txid", "in_prev_vout")}
        txids: list[bytes] = []

        def tx(inputs: list[tuple[bytes, int]], outputs: list[tuple[int, bytes, int]]) -> bytes:
            t = len(txids)
            txid = _h(height, t)
            txids.append(txid)
            for prev, vout in inputs:
                cols["in_tx"].append(t)
                cols["in_prev_txid"].append(prev)
                cols["in_prev_vout"].append(vout)
            for v, (stype, payload, value) in enumerate(outputs):
                cols["out_tx"].append(t)
                cols["out_vout"].append(v)
                cols["out_value_sat"].append(value)
                cols["out_type"].append(stype)
                cols["out_payload"].append(payload)
            return txid

        pool = rng.randrange(12)
        cb = tx([], [(P2WPKH, self.pools[pool], 312_500_000 + rng.randrange(5_000_000, 50_000_000))])
        self.pool_coins[pool].append((cb, 0, 312_500_000))
        if height % 6 == 0:  # a pool pays out its oldest coinbase to 300 miners
            p = rng.randrange(12)
            if self.pool_coins[p]:
                prev, vout, value = self.pool_coins[p].pop(0)
                share = value // 301
                outs = [(P2WPKH, self.miners[rng.randrange(3000)], share) for _ in range(300)]
                txid = tx([(prev, vout)], outs)
                self.miner_coins.extend((txid, v, share) for v in range(300))
        for _ in range(3):  # miners sell to exchanges
            if self.miner_coins:
                prev, vout, value = self.miner_coins.pop(rng.randrange(len(self.miner_coins)))
                tx([(prev, vout)], [(P2WPKH, self.exchanges[rng.randrange(5)], value - 1_000)])
        while len(txids) < self.txs_per_block:  # ordinary traffic
            n_out = 2 + (rng.random() < 0.3)
            tx([(_h("ext", height, len(txids), 0), 0), (_h("ext", height, len(txids), 1), 1)],
               [(P2TR if rng.random() < 0.2 else P2WPKH, os.urandom(32 if rng.random() < 0.2 else 20),
                 rng.randrange(10_000, 10**8)) for _ in range(n_out)])
        header = BlockHeader(_h("block", height), 0x20000000, self.prev, bytes(32), 1_700_000_000 + 600 * height,
                             0x17034219, 0)
        self.prev = header.hash
        return Block(header, 1_500_000, 3_990_000, len(txids), 0, b"\x03" + height.to_bytes(3, "little"),
                     txids, txids, [0] * len(txids), **cols)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=600)
    ap.add_argument("--txs-per-block", type=int, default=2500)
    ap.add_argument("--batch-blocks", type=int, default=100)
    args = ap.parse_args()

    gen = Generator(args.txs_per_block)
    t0 = time.perf_counter()
    blocks = [(h, gen.block(h)) for h in range(args.blocks)]
    gen_s = time.perf_counter() - t0
    n_tx = sum(b.tx_count for _, b in blocks)
    print(f"generated {args.blocks} blocks, {n_tx:,} transactions in {gen_s:.1f} s")

    tracker = Tracker()
    t0 = time.perf_counter()
    for h, b in blocks:
        tracker.apply(h, b)
    track_s = time.perf_counter() - t0
    print(f"tracker only : {args.blocks / track_s:8.1f} blocks/s  {track_s / n_tx * 1e6:6.2f} µs/tx")

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        con = connect(db)
        bind_network(con, "mainnet", db)
        ingest = Ingest(con, get_network("mainnet"))
        t0 = time.perf_counter()
        for i in range(0, len(blocks), args.batch_blocks):
            ingest.add_batch(blocks[i:i + args.batch_blocks], chainwork_before=0)
        ingest_s = time.perf_counter() - t0
        con.close()
        size_mb = db.stat().st_size / 1e6
    print(f"full ingest  : {args.blocks / ingest_s:8.1f} blocks/s  {ingest_s / n_tx * 1e6:6.2f} µs/tx  "
          f"(database {size_mb:.1f} MB)")

    # Memory of the tracker state, per entry, measured by rebuilding it under tracemalloc.
    tracemalloc.start()
    probe = Tracker()
    for h, b in blocks:
        probe.apply(h, b)
    state_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    entries = len(probe.members) + len(probe.utxos)
    per_entry = state_bytes / max(entries, 1)
    print(f"tracker state: {len(probe.members):,} cohort scripts, {len(probe.utxos):,} tracked unspent outputs, "
          f"{state_bytes / 1e6:.1f} MB ({per_entry:.0f} B per entry)")
    print(f"peak RSS     : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")

    per_tx_s = ingest_s / n_tx
    print("\nextrapolation (linear in transactions; state measured per entry):")
    print(f"  per 1,000,000 blocks of {args.txs_per_block:,} tx: {per_tx_s * 1e6 * args.txs_per_block / 3600:,.1f} h "
          f"of ingest on one core")
    print(f"  full chain ({FULL_CHAIN_BLOCKS:,} blocks, {FULL_CHAIN_TXS / 1e9:.1f} billion tx): "
          f"{per_tx_s * FULL_CHAIN_TXS / 3600:,.1f} h of ingest on one core")
    for scripts_m, utxos_m in ((5, 20), (20, 60)):
        gb = (scripts_m + utxos_m) * 1e6 * per_entry / 1e9
        print(f"  state with {scripts_m} M cohort scripts and {utxos_m} M tracked outputs: {gb:.1f} GB "
              f"({'fits' if gb < 20 else 'does NOT fit'} in 24 GiB)")


if __name__ == "__main__":
    main()
