"""Write the chain into a lake part by part: bounded memory, resumable after a kill, appendable.

Rows go to Parquet row groups of ROW_GROUP_ROWS as they come, so memory holds one row group per
table whatever the part's size; a part's files are written under a `.partial` name and renamed when
its height range is done, and only then does the manifest list it (layout.py). A killed export
therefore leaves whole parts and some `.partial` files, which the next run deletes before it
continues after the last listed part. The last part may end short of its range (the chain's tip): it
is written again, whole, when the chain has grown, so that every part stays an aligned range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from minerwatch.chain.block import Block, hash_hex, parse_block
from minerwatch.chain.parsed import block_facts
from minerwatch.lake.layout import (
    PARTIAL_SUFFIX,
    LakeError,
    Manifest,
    Part,
    open_lake,
    part_path,
    read_manifest,
    remove_partials,
    write_manifest,
)
from minerwatch.lake.rows import Columns, add_block, empty_columns
from minerwatch.lake.schema import SCHEMAS, TABLES
from minerwatch.networks import Network

# 1,000 blocks of 2024 (≈1.6 GB of blocks, ≈4.5 M outputs) make a part of a few hundred MB of
# Parquet per big table: large enough for Spark tasks, small enough to rewrite the last one cheaply.
DEFAULT_PART_BLOCKS = 1_000
# ~128 k rows per row group: the column lists of one group of outputs stay under ~60 MB of Python objects.
ROW_GROUP_ROWS = 131_072

BlockSource = Callable[[int], Iterable[tuple[int, Block]]]


@dataclass(frozen=True, slots=True)
class ExportResult:
    first_height: int          # the first height written this run (−1: nothing)
    tip_height: int            # the lake's tip afterwards
    blocks_written: int
    parts_written: int


class _PartWriter:
    """One part's files, written a row group at a time under their `.partial` names."""

    def __init__(self, fs: pafs.FileSystem, root: str, first: int, network: Network) -> None:
        self.fs, self.root, self.first, self.network = fs, root, first, network
        self.cols = {t: empty_columns(t) for t in TABLES}
        self.rows = dict.fromkeys(TABLES, 0)
        self.tmp = {t: f"{root}/{part_path(t, first, first)}{PARTIAL_SUFFIX}" for t in TABLES}
        for t in TABLES:
            fs.create_dir(f"{root}/{t}", recursive=True)
        self.writers = {t: pq.ParquetWriter(self.tmp[t], SCHEMAS[t], filesystem=fs, compression="zstd")
                        for t in TABLES}

    def add(self, facts, block: Block) -> None:  # noqa: ANN001  (BlockFacts)
        add_block(self.cols, facts, block, self.network)
        for t in TABLES:
            if len(self.cols[t]["height"]) >= ROW_GROUP_ROWS:
                self._flush(t)

    def _flush(self, table: str) -> None:
        cols: Columns = self.cols[table]
        n = len(cols["height"])
        if n:
            self.writers[table].write_table(pa.Table.from_pydict(cols, schema=SCHEMAS[table]))
            self.rows[table] += n
            self.cols[table] = empty_columns(table)

    def finish(self, last_height: int, last_hash: str) -> Part:
        """Close the files and give them their final names; the caller lists the part in the manifest."""
        for t in TABLES:
            self._flush(t)
            self.writers[t].close()
        for t in TABLES:
            self.fs.move(self.tmp[t], f"{self.root}/{part_path(t, self.first, last_height)}")
        return Part(self.first, last_height, last_hash, dict(self.rows))

    def abandon(self) -> None:
        for t in TABLES:
            self.writers[t].close()
            self.fs.delete_file(self.tmp[t])


def export(uri: str, network: Network, source: BlockSource, part_blocks: int | None = None,
           on_block: Callable[[int], None] | None = None) -> ExportResult:
    """Export the blocks `source(start_height)` yields into the lake at `uri`, after what it holds."""
    fs, root = open_lake(uri)
    fs.create_dir(root, recursive=True)
    m = read_manifest(fs, root)
    if m is None:
        m = Manifest(network.name, part_blocks or DEFAULT_PART_BLOCKS)
    elif m.network != network.name:
        raise LakeError(f"{uri} holds {m.network} blocks, not {network.name}", f"use --network {m.network}")
    elif part_blocks is not None and part_blocks != m.part_blocks:
        raise LakeError(f"{uri} has parts of {m.part_blocks} blocks, not {part_blocks}",
                        f"leave out --part-blocks (or give {m.part_blocks}) to append to it")
    n = m.part_blocks
    remove_partials(fs, root)
    _remove_unlisted(fs, root, m)

    kept = list(m.parts)
    short = kept[-1] if kept and kept[-1].last_height < kept[-1].first_height + n - 1 else None
    if short is not None:
        kept.pop()          # written again, whole, with the blocks that followed it
    start = kept[-1].last_height + 1 if kept else 0
    prev_hash = kept[-1].last_hash if kept else None

    writer: _PartWriter | None = None
    written = parts = 0
    height, block_hash = start - 1, prev_hash
    # The source is read from the lake's last kept block, which must be the one the lake holds: a
    # source on another branch, or one that ends below it, is refused before anything is written.
    unchecked = prev_hash is not None
    try:
        for h, block in source(start - 1 if unchecked else start):
            if unchecked:
                got = hash_hex(block.header.hash)
                if h != start - 1 or got != prev_hash:
                    raise LakeError(
                        f"the source's block {h} is {got}, the lake's block {start - 1} is {prev_hash}: "
                        "the chain was reorganised below the lake's tip",
                        f"export into a new directory, or delete the parts from height {(start - 1) // n * n} on "
                        "and their entries in manifest.json")
                unchecked = False
                continue
            if h != height + 1:
                raise LakeError(f"the source gave height {h} after {height}", "export from a complete chain")
            facts = block_facts(h, block, network)
            if block_hash is not None and facts.prev_hash_hex != block_hash:
                raise LakeError(f"block {h} ({facts.hash_hex}) does not build on block {h - 1} ({block_hash}): "
                                "the source's chain changed during the export", "run the export again")
            if writer is not None and h % n == 0:
                kept.append(writer.finish(height, block_hash))
                m.parts = kept
                write_manifest(fs, root, m)
                parts += 1
                writer = None
            if writer is None:
                writer = _PartWriter(fs, root, h, network)
            writer.add(facts, block)
            height, block_hash = h, facts.hash_hex
            written += 1
            if on_block is not None:
                on_block(h)
        if unchecked:
            raise LakeError(f"the source ends below the lake's tip {m.tip_height}: it has no block {start - 1}",
                            "export from the node or blocks directory the lake was made from, or a newer one")
        if writer is not None:
            if short is not None and height < short.last_height:
                raise LakeError(f"the source ends at height {height}, below the lake's tip {short.last_height}",
                                "export from the node or blocks directory the lake was made from, or a newer one")
            kept.append(writer.finish(height, block_hash))
            writer = None
            m.parts = kept
            write_manifest(fs, root, m)
            parts += 1
        elif not m.parts:
            write_manifest(fs, root, m)      # an empty lake still says its network and part size
    finally:
        if writer is not None:
            writer.abandon()
    _remove_unlisted(fs, root, m)
    return ExportResult(start if written else -1, m.tip_height, written, parts)


def _remove_unlisted(fs: pafs.FileSystem, root: str, m: Manifest) -> None:
    """Delete part files the manifest does not list: a short last part replaced by a longer one
    (when the run was killed between the manifest's update and this clean-up)."""
    listed = {f"{root}/{m_path}" for t in TABLES for m_path in m.files(t)}
    for t in TABLES:
        d = f"{root}/{t}"
        if fs.get_file_info(d).type != pafs.FileType.Directory:
            continue
        for info in fs.get_file_info(pafs.FileSelector(d)):
            if info.path.endswith(".parquet") and info.path not in listed:
                fs.delete_file(info.path)


def blk_source(blocks_dir: Path, network: Network, workers: int = 1, stop_height: int | None = None) -> BlockSource:
    """Blocks from Bitcoin Core's blk files, parsed in `workers` processes, in height order."""
    from minerwatch.chain.blkfiles import iter_blocks

    def blocks(start: int) -> Iterator[tuple[int, Block]]:
        if stop_height is not None and start > stop_height:
            return
        for h, _rec, block in iter_blocks(blocks_dir, network, start, stop_height, workers=workers):
            yield h, block
    return blocks


def rpc_source(client, stop_height: int | None = None, batch_blocks: int = 50) -> BlockSource:  # noqa: ANN001
    """Blocks from the node (`getblockhash`, `getblock HASH 0`, batched), up to its tip when the export starts."""

    def blocks(start: int) -> Iterator[tuple[int, Block]]:
        tip = client.block_count()
        if stop_height is not None:
            tip = min(tip, stop_height)
        for lo in range(start, tip + 1, batch_blocks):
            heights = list(range(lo, min(lo + batch_blocks, tip + 1)))
            for h, raw in zip(heights, client.raw_blocks(client.block_hashes(heights)), strict=True):
                yield h, parse_block(raw, source=f"block {h} from the node")
    return blocks
