"""Write blocks as Bitcoin Core stores them: blkNNNNN.dat records, optionally XOR-obfuscated, and
optionally their undo data (revNNNNN.dat, see revchain).

Used by the tests and by the simulated demo chain to produce real blocks directories.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from minerwatch.chain.blkscan import MAX_BLOCK_BYTES, RECORD_HEADER_BYTES, XOR_KEY_BYTES, xor_at
from minerwatch.chain.revchain import OutsideCoin, write_rev_files
from minerwatch.errors import MinerwatchError, UsageError
from minerwatch.networks import Network

MAX_BLOCKFILE_BYTES = 128 * 1024 * 1024   # Core's MAX_BLOCKFILE_SIZE
PREALLOCATE_CHUNK_BYTES = 16 * 1024 * 1024  # Core's BLOCKFILE_CHUNK_SIZE
_MIN_BLOCK_BYTES = 81                       # a header and a transaction count


def write_blk_files(
    blocks_dir: Path, network: Network, raw_blocks: Iterable[bytes], max_file_bytes: int = MAX_BLOCKFILE_BYTES,
    xor_key: bytes | None = None, shuffle_seed: int | None = None, preallocate_bytes: int | None = None,
    rev_files: bool = False, outside_coins: Iterable[OutsideCoin] = (),
) -> list[Path]:
    """Write `raw_blocks` as blk00000.dat, blk00001.dat, … in `blocks_dir`; the files written.

    A record goes to the next file when it would bring the current one to `max_file_bytes` or
    more (Core's rule). With `xor_key` (8 bytes) the records are obfuscated and blocks/xor.dat
    written. With `shuffle_seed` the blocks are written in a random order, as a node that
    downloaded them in parallel would. With `preallocate_bytes`, each file is extended with
    plain zero bytes to a multiple of that size, as Core's preallocation leaves it. With `rev_files`,
    the best chain's undo records are written beside them as Core would (revchain.write_rev_files;
    `outside_coins`: coins it spends that no block created, e.g. ChainBuilder.funded_coins.items()).
    """
    if xor_key is not None and len(xor_key) != XOR_KEY_BYTES:
        raise UsageError(f"an XOR key has {XOR_KEY_BYTES} bytes, not {len(xor_key)}")
    if max_file_bytes <= RECORD_HEADER_BYTES:
        raise UsageError(f"max_file_bytes must exceed {RECORD_HEADER_BYTES}, not {max_file_bytes}")
    blocks_dir = Path(blocks_dir)
    blocks_dir.mkdir(parents=True, exist_ok=True)
    if any(blocks_dir.glob("blk*.dat")):
        raise MinerwatchError(f"{blocks_dir} already holds blk files", "write into an empty directory")
    if shuffle_seed is not None:
        raw_blocks = list(raw_blocks)
        random.Random(shuffle_seed).shuffle(raw_blocks)
    key = xor_key if xor_key is not None else bytes(XOR_KEY_BYTES)
    if xor_key is not None:
        (blocks_dir / "xor.dat").write_bytes(xor_key)

    paths: list[Path] = []
    out: BinaryIO | None = None
    pos = 0
    try:
        for raw in raw_blocks:
            if not _MIN_BLOCK_BYTES <= len(raw) <= MAX_BLOCK_BYTES:
                raise UsageError(f"a block has 81 … {MAX_BLOCK_BYTES} bytes, not {len(raw)}")
            record = network.magic + len(raw).to_bytes(4, "little") + raw
            if out is None or (pos > 0 and pos + len(record) >= max_file_bytes):
                if out is not None:
                    _finish(out, pos, preallocate_bytes)
                paths.append(blocks_dir / f"blk{len(paths):05d}.dat")
                out = open(paths[-1], "wb")
                pos = 0
            out.write(xor_at(record, key, pos))
            pos += len(record)
        if out is not None:
            _finish(out, pos, preallocate_bytes)
            out = None
    finally:
        if out is not None:
            out.close()
    if rev_files:
        write_rev_files(blocks_dir, network, outside_coins)
    return paths


def _finish(out: BinaryIO, pos: int, preallocate_bytes: int | None) -> None:
    """Pad with plain zeros (preallocated space is never obfuscated) and close."""
    if preallocate_bytes:
        out.write(bytes(-pos % preallocate_bytes))
    out.close()
