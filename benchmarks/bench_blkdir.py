"""Read + parse throughput of a blocks directory, with 1 and 2 worker processes.

Builds a ~200 MB XOR-obfuscated blocks directory (as Bitcoin Core 28+ writes it) from the real
mainnet blocks in tests/data/blocks, repeated and re-linked into one regtest chain (each copy's prev
hash points at the block before it, its bits are regtest's limit and its nonce is ground until the
header meets that proof of work — mainnet's cannot be met by a benchmark; the merkle root still
matches, so every block parses strictly), then times scan + chain selection, raw reads, and full parses.

    python benchmarks/bench_blkdir.py [--size-mb 200] [--dir DIR] [--workers 1 2] [--repeat 3]

The files are read warm (just written, in the page cache): this measures the reader and parser,
not the disk.
"""

from __future__ import annotations

import argparse
import os
import struct
import tempfile
import time
from hashlib import sha256
from pathlib import Path

from minerwatch.chain.blkfiles import best_chain, iter_blocks, iter_raw_blocks, scan, write_blk_files
from minerwatch.networks import get_network

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = ROOT / "tests" / "data" / "blocks"
GENESIS_RECORD = ROOT / "tests" / "data" / "blkfiles" / "mainnet-heights-0-438.dat"
XOR_KEY = bytes.fromhex("5c1e9a7730f2b4d1")
# The chain is regtest's: since blk-file reading checks every header's proof of work (and mainnet's
# retarget rule), re-linked mainnet blocks are only valid where a header can be mined in a few tries.
NETWORK = "regtest"
_REGTEST_BITS = 0x207FFFFF
_REGTEST_TARGET = 0x7FFFFF << 8 * (0x20 - 3)


def _chain_of_real_blocks(target_bytes: int) -> list[bytes]:
    """Regtest's genesis block, then real mainnet blocks re-linked and mined after it until `target_bytes`."""
    samples = [p.read_bytes() for p in sorted(BLOCKS.glob("mainnet-*.bin"))]
    head = GENESIS_RECORD.read_bytes()
    mainnet_genesis = head[8:8 + int.from_bytes(head[4:8], "little")]
    # Regtest's genesis is mainnet's with another time, bits and nonce (same transaction).
    genesis = mainnet_genesis[:68] + struct.pack("<III", 1296688602, _REGTEST_BITS, 2) + mainnet_genesis[80:]
    chain = [genesis]
    total = len(genesis)
    prev = sha256(sha256(genesis[:80]).digest()).digest()
    while total < target_bytes:
        for raw in samples:
            block = mined_header(raw[:4] + prev + raw[36:72]) + raw[80:]
            chain.append(block)
            total += len(block)
            prev = sha256(sha256(block[:80]).digest()).digest()
            if total >= target_bytes:
                break
    return chain


def mined_header(header_72: bytes) -> bytes:
    """The 80-byte header: `header_72` (version, prev, merkle root, time), regtest bits, a nonce meeting them."""
    for nonce in range(1 << 32):
        header = header_72 + struct.pack("<II", _REGTEST_BITS, nonce)
        if int.from_bytes(sha256(sha256(header).digest()).digest(), "little") <= _REGTEST_TARGET:
            return header
    raise RuntimeError("no nonce meets regtest's proof of work")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--dir", type=Path, help="where to build the blocks directory (default: a temporary one)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting; the fastest is shown "
                    "(other processes on the machine only ever slow a run down)")
    args = ap.parse_args()
    net = get_network(NETWORK)
    # The machine has 2 cores: anything else running halves the 2-worker figure. Say so.
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        blocks_dir = (args.dir or Path(tmp)) / "blocks"
        raw = _chain_of_real_blocks(int(args.size_mb * 1e6))
        data_mb = sum(len(b) for b in raw) / 1e6
        t = time.perf_counter()
        files = write_blk_files(blocks_dir, net, raw, xor_key=XOR_KEY)
        print(f"wrote {len(raw):,} blocks, {data_mb:.1f} MB in {len(files)} files "
              f"in {time.perf_counter() - t:.2f} s")
        del raw

        t = time.perf_counter()
        index = scan(blocks_dir, net)
        chain = best_chain(index, net)
        dt = time.perf_counter() - t
        print(f"scan + best_chain: {len(index.records):,} records in {dt:.3f} s "
              f"({len(index.records) / dt:,.0f} records/s)")

        dt = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            n = sum(len(b) for _, _, b in iter_raw_blocks(blocks_dir, net, chain=chain))
            dt = min(dt, time.perf_counter() - t)
        print(f"read + de-obfuscate: {n / 1e6 / dt:,.0f} MB/s")

        for workers in args.workers:
            dt = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                count = 0
                size = 0
                for _, _, block in iter_blocks(blocks_dir, net, workers=workers, chain=chain):
                    count += 1
                    size += block.size_bytes
                dt = min(dt, time.perf_counter() - t)
            print(f"read + parse, workers={workers}: {size / 1e6 / dt:.1f} MB/s, {count / dt:,.0f} blocks/s "
                  f"({count:,} blocks, {dt:.1f} s)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
