"""Decoding Bitcoin Core's undo records: the sync's column decoder against the strict reader.

    python benchmarks/bench_undo.py BLOCKS_DIR [--network rehearsal] [--records 20000] [--file N]

Reads `--records` records of one rev file (de-obfuscated in memory first, so only decoding is
timed) and decodes each twice: the sync's path (chain/undo.py `_decode_columns`: straight to the
tracker's columns) and the strict reader's (`parse_block_undo`, then `classify` on each script).
Prints CPU per spent output and MB/s of undo data for both, their ratio, and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from minerwatch.chain.blkscan import open_read, pread, read_xor_key, xor_at
from minerwatch.chain.script import classify
from minerwatch.chain.undo import _decode_columns, parse_block_undo
from minerwatch.chain.undoscan import list_rev_files, scan_rev_file
from minerwatch.networks import get_network


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("blocks_dir", type=Path)
    ap.add_argument("--network", default="rehearsal")
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--file", type=int, help="the rev file's number (default: the middle one)")
    args = ap.parse_args()
    net = get_network(args.network)
    files = list_rev_files(args.blocks_dir)
    number = args.file if args.file is not None else sorted(files)[len(files) // 2]
    key = read_xor_key(args.blocks_dir)
    recs = scan_rev_file(files[number], number, net, key)[:args.records]
    fd = open_read(files[number])
    datas = [xor_at(pread(fd, r.size_bytes, r.offset), key, r.offset) for r in recs]
    os.close(fd)
    mb = sum(map(len, datas)) / 1e6
    c = time.process_time()
    coins = sum(len(_decode_columns(d, "bench", 0)[1]) for d in datas)
    fast = time.process_time() - c
    c = time.process_time()
    for d in datas:
        for tx in parse_block_undo(d):
            for coin in tx:
                classify(coin.script)
    strict = time.process_time() - c
    print(f"{files[number].name}: {len(datas):,} records, {coins:,} spent outputs, {mb:.1f} MB "
          f"({mb * 1e6 / coins:.1f} bytes per spent output); load {os.getloadavg()[0]:.1f}")
    print(f"  sync's column decoder  {fast / coins * 1e6:5.2f} µs/spent output  {mb / fast:6.1f} MB/s (CPU)")
    print(f"  strict reader+classify {strict / coins * 1e6:5.2f} µs/spent output  {mb / strict:6.1f} MB/s (CPU)")
    print(f"  ratio {strict / fast:.2f}×")


if __name__ == "__main__":
    main()
