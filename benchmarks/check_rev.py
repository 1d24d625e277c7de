"""Check a blocks directory's rev files with the undo reader, against its blk files.

    python benchmarks/check_rev.py BLOCKS_DIR [--network rehearsal] [--sample 2000] [--last 1000]

For every best-chain height of a sample (`--sample` heights spread evenly from 1 to the tip, plus the
last `--last`), the reader (scan_undo + UndoReader, as the sync uses them) must find the block's
record in the rev file numbered like its blk file, and each spent output must be the output its input
names, as the block that created it holds it: created at the coin's height, in that block's coinbase
exactly when the coin says so, with the same value and the same script type and owner. Coins from
outside the chain (height 0, funded) are counted apart. Also checks that the rev files hold one record
per block from height 1 (a generated chain has no stale blocks' records). Prints a JSON summary and
exits 1 on the first failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from minerwatch.chain.blkchain import best_chain
from minerwatch.chain.blkscan import pread, scan, xor_at
from minerwatch.chain.block import Block, hash_hex, parse_block
from minerwatch.chain.script import classify
from minerwatch.chain.undo import UndoReader, contested_parents, scan_undo
from minerwatch.chain.undoscan import Files
from minerwatch.networks import get_network


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("blocks_dir", type=Path)
    ap.add_argument("--network", default="rehearsal")
    ap.add_argument("--sample", type=int, default=2_000)
    ap.add_argument("--last", type=int, default=1_000)
    args = ap.parse_args()
    net = get_network(args.network)
    t0, c0 = time.perf_counter(), os.times()
    index = scan(args.blocks_dir, net)
    chain = best_chain(index, net)
    undo_index = scan_undo(args.blocks_dir, net)
    records = sum(len(r) for r in undo_index.records.values())
    if records != chain.tip_height:
        sys.exit(f"the rev files hold {records:,} records; the chain has {chain.tip_height:,} blocks above genesis")
    tip = chain.tip_height
    step = max(1, tip // args.sample)
    heights = sorted({*range(1, tip + 1, step), *range(max(1, tip - args.last + 1), tip + 1)})
    contested = contested_parents(index)
    cache: dict[int, Block] = {}
    counts = {"blocks": 0, "spent_outputs": 0, "from_outside": 0}

    with Files(index.files) as blk, UndoReader(undo_index) as reader:
        def block_at(height: int) -> Block:
            if height not in cache:
                if len(cache) >= 50_000:          # parsed blocks of a sample: bound the memory
                    cache.clear()
                rec = chain.at(height)
                raw = xor_at(pread(blk.fd(rec.file_number), rec.size_bytes, rec.offset), index.xor_key, rec.offset)
                cache[height] = parse_block(raw, index.source_name(rec.file_number), rec.offset)
            return cache[height]

        for height in heights:
            block, rec = block_at(height), chain.at(height)
            spent = reader.block_spent_outputs(block, rec.file_number, block.header.prev_hash in contested)
            if spent is None:
                sys.exit(f"no undo record for the block at height {height} ({hash_hex(block.hash)})")
            flat = [c for tx in spent for c in tx]
            for coin, txid, vout in zip(flat, block.in_prev_txid, block.in_prev_vout, strict=True):
                counts["spent_outputs"] += 1
                if coin.height == 0:
                    counts["from_outside"] += 1
                    continue
                made = block_at(coin.height)
                outs = [k for k, (t, v) in enumerate(zip(made.out_tx, made.out_vout))
                        if made.txids[t] == txid and v == vout]
                if len(outs) != 1 or (made.out_value_sat[outs[0]], (made.out_type[outs[0]], made.out_payload[outs[0]]),
                                      made.out_tx[outs[0]] == 0) != \
                        (coin.value_sat, classify(coin.script), coin.is_coinbase):
                    sys.exit(f"height {height}: the undo record's coin {hash_hex(txid)}:{vout} is not the output "
                             f"block {coin.height} created")
            counts["blocks"] += 1
    c1 = os.times()
    print(json.dumps({"tip_height": tip, "rev_records": records, "checked_heights": len(heights), **counts,
                      "wall_s": round(time.perf_counter() - t0, 1),
                      "cpu_s": round(c1.user + c1.system - c0.user - c0.system, 1)}, indent=1))


if __name__ == "__main__":
    main()
