"""Write the chain into a lake part by part: bounded memory, resumable after a kill, appendable.

Rows go to Parquet row groups of ROW_GROUP_ROWS as they come, so memory holds one row group per
table whatever the part's size; a part's files are written under a `.partial` name and renamed when
its height range is done, and only then does the manifest list it (layout.py). A killed export
therefore leaves whole parts and some `.partial` files, which the next run deletes before it
continues after the last listed part. The last part may end short of its range (the chain's tip): it
is written again, whole, when the chain has grown, so that every part stays an aligned range.

From a blocks directory with `--workers` N > 1, N worker processes write whole parts side by side
(parts.write_part: read, parse, rows, Parquet), and this process lists each in the manifest once it
and every part before it are whole; the node's blocks (RPC) are written here, one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow.fs as pafs

from minerwatch.chain.block import Block, hash_hex, parse_block
from minerwatch.chain.parsed import block_facts
from minerwatch.lake.layout import (
    LakeError,
    Manifest,
    Part,
    open_lake,
    read_manifest,
    remove_partials,
    write_manifest,
)
from minerwatch.lake.parts import ROW_GROUP_ROWS, PartWriter, write_part
from minerwatch.lake.schema import TABLES
from minerwatch.networks import Network

__all__ = ["DEFAULT_PART_BLOCKS", "ROW_GROUP_ROWS", "BlkSource", "ExportResult", "blk_source", "export", "rpc_source"]

# 1,000 blocks of 2024 (≈1.6 GB of blocks, ≈4.5 M outputs) make a part of a few hundred MB of
# Parquet per big table: large enough for Spark tasks, small enough to rewrite the last one cheaply.
DEFAULT_PART_BLOCKS = 1_000

BlockSource = Callable[[int], Iterable[tuple[int, Block]]]


@dataclass(frozen=True, slots=True)
class ExportResult:
    first_height: int          # the first height written this run (−1: nothing)
    tip_height: int            # the lake's tip afterwards
    blocks_written: int
    parts_written: int


@dataclass(frozen=True, slots=True)
class BlkSource:
    """Blocks from Bitcoin Core's blk files. With `workers` > 1 the export gives each part's height
    range to one of that many worker processes, which reads, parses and writes the part whole."""

    blocks_dir: Path
    network: Network
    workers: int = 1
    stop_height: int | None = None

    def __call__(self, start: int) -> Iterator[tuple[int, Block]]:
        """The blocks from `start`, in height order, parsed here (the export's one-process path)."""
        from minerwatch.chain.blkfiles import iter_blocks

        if self.stop_height is not None and start > self.stop_height:
            return
        for h, _rec, block in iter_blocks(self.blocks_dir, self.network, start, self.stop_height,
                                          workers=self.workers):
            yield h, block


@dataclass(slots=True)
class _Listing:
    """The manifest as parts are added to it, in height order: only whole parts, each after all before it."""

    fs: pafs.FileSystem
    root: str
    m: Manifest
    kept: list[Part]
    on_part: Callable[[Part], None] | None
    written: int = 0
    blocks: int = 0

    def add(self, part: Part) -> None:
        self.kept.append(part)
        self.m.parts = self.kept
        write_manifest(self.fs, self.root, self.m)
        self.written += 1
        self.blocks += part.last_height - part.first_height + 1
        if self.on_part is not None:
            self.on_part(part)


def export(uri: str, network: Network, source: BlockSource, part_blocks: int | None = None,
           on_block: Callable[[int], None] | None = None,
           on_part: Callable[[Part], None] | None = None) -> ExportResult:
    """Export the blocks `source(start_height)` yields into the lake at `uri`, after what it holds.

    A `BlkSource` with workers > 1 has its parts written by worker processes; `on_block` (each block
    written, in this process only) and `on_part` (each part listed in the manifest) follow progress."""
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
    remove_partials(fs, root)
    _remove_unlisted(fs, root, m)

    kept = list(m.parts)
    n = m.part_blocks
    short = kept[-1] if kept and kept[-1].last_height < kept[-1].first_height + n - 1 else None
    if short is not None:
        kept.pop()          # written again, whole, with the blocks that followed it
    start = kept[-1].last_height + 1 if kept else 0
    listing = _Listing(fs, root, m, kept, on_part)
    if isinstance(source, BlkSource) and source.workers > 1:
        _write_in_workers(uri, listing, network, source, start, short)
    else:
        _write_here(listing, network, source, start, short, on_block)
    if not m.parts:
        write_manifest(fs, root, m)      # an empty lake still says its network and part size
    _remove_unlisted(fs, root, m)
    return ExportResult(start if listing.blocks else -1, m.tip_height, listing.blocks, listing.written)


def _write_here(listing: _Listing, network: Network, source: BlockSource, start: int, short: Part | None,
                on_block: Callable[[int], None] | None) -> None:
    """Parse and write the parts in this process, one block after another."""
    fs, root, n = listing.fs, listing.root, listing.m.part_blocks
    prev_hash = listing.kept[-1].last_hash if listing.kept else None
    writer: PartWriter | None = None
    height, block_hash = start - 1, prev_hash
    # The source is read from the lake's last kept block, which must be the one the lake holds: a
    # source on another branch, or one that ends below it, is refused before anything is written.
    unchecked = prev_hash is not None
    try:
        for h, block in source(start - 1 if unchecked else start):
            if unchecked:
                got = hash_hex(block.header.hash)
                if h != start - 1 or got != prev_hash:
                    raise _reorganised(h, got, start, prev_hash, n)
                unchecked = False
                continue
            if h != height + 1:
                raise LakeError(f"the source gave height {h} after {height}", "export from a complete chain")
            facts = block_facts(h, block, network)
            if block_hash is not None and facts.prev_hash_hex != block_hash:
                raise LakeError(f"block {h} ({facts.hash_hex}) does not build on block {h - 1} ({block_hash}): "
                                "the source's chain changed during the export", "run the export again")
            if writer is not None and h % n == 0:
                listing.add(writer.finish(height, block_hash))
                writer = None
            if writer is None:
                writer = PartWriter(fs, root, h, network)
            writer.add(facts, block)
            height, block_hash = h, facts.hash_hex
            if on_block is not None:
                on_block(h)
        if unchecked:
            raise _no_kept_block(listing.m, start)
        if writer is not None:
            if short is not None and height < short.last_height:
                raise _ends_below(height, short)
            listing.add(writer.finish(height, block_hash))
            writer = None
    finally:
        if writer is not None:
            writer.abandon()


def _write_in_workers(uri: str, listing: _Listing, network: Network, source: BlkSource, start: int,
                      short: Part | None) -> None:
    """Hand each part's height range to a worker process, which writes the part whole; list the parts
    here as they come back, in height order, each only once every part before it is listed.

    The blocks directory's scan says where every block lies, so a worker reads its range itself. A
    part a worker has renamed but this process has not listed yet is not in the lake: a kill at any
    moment leaves the manifest's parts whole and in order, and the next run deletes the rest."""
    from minerwatch.chain.blkfiles import ParserPool, best_chain, scan
    from minerwatch.chain.blkranges import height_ranges, map_ranges

    parsers = ParserPool(source.workers)     # the workers start while the directory is scanned
    try:
        chain = best_chain(scan(Path(source.blocks_dir).expanduser(), network), network)
        hi = chain.tip_height if source.stop_height is None else min(source.stop_height, chain.tip_height)
        prev_hash = listing.kept[-1].last_hash if listing.kept else None
        if prev_hash is not None:
            if not chain.start_height <= start - 1 <= hi:
                raise _no_kept_block(listing.m, start)
            got = hash_hex(chain.records[start - 1 - chain.start_height].hash)
            if got != prev_hash:
                raise _reorganised(start - 1, got, start, prev_hash, listing.m.part_blocks)
        if short is not None and hi < short.last_height:
            raise _ends_below(hi, short)
    except BaseException:
        parsers.close()
        raise
    ranges = height_ranges(source.blocks_dir, network, chain, start, hi, listing.m.part_blocks)
    block_hash = prev_hash
    results = map_ranges(ranges, partial(write_part, uri, network.name), parsers)
    try:
        for done in results:
            part = done.part
            if block_hash is not None and done.prev_hash != block_hash:
                raise LakeError(f"block {part.first_height} does not build on block {part.first_height - 1} "
                                f"({block_hash}): the blocks directory changed during the export",
                                "run the export again")
            listing.add(part)
            block_hash = part.last_hash
    except BaseException:
        # Stop the workers first (a part can be minutes of work), then delete what they left: half-
        # written parts, and finished ones after a failed part (not in the lake).
        results.close()
        parsers.terminate()          # in case the results were never started (closing them ran nothing)
        remove_partials(listing.fs, listing.root)
        # What the manifest on disk lists, not listing.m: an interrupt inside write_manifest leaves
        # the part it was listing in memory but not on disk.
        _remove_unlisted(listing.fs, listing.root, read_manifest(listing.fs, listing.root) or listing.m)
        raise


def _reorganised(h: int, got: str, start: int, prev_hash: str | None, n: int) -> LakeError:
    return LakeError(
        f"the source's block {h} is {got}, the lake's block {start - 1} is {prev_hash}: "
        "the chain was reorganised below the lake's tip",
        f"export into a new directory, or delete the parts from height {(start - 1) // n * n} on "
        "and their entries in manifest.json")


def _no_kept_block(m: Manifest, start: int) -> LakeError:
    return LakeError(f"the source ends below the lake's tip {m.tip_height}: it has no block {start - 1}",
                     "export from the node or blocks directory the lake was made from, or a newer one")


def _ends_below(height: int, short: Part) -> LakeError:
    return LakeError(f"the source ends at height {height}, below the lake's tip {short.last_height}",
                     "export from the node or blocks directory the lake was made from, or a newer one")


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


def blk_source(blocks_dir: Path, network: Network, workers: int = 1, stop_height: int | None = None) -> BlkSource:
    """Blocks from Bitcoin Core's blk files; with `workers` > 1 the parts are written in that many processes."""
    return BlkSource(blocks_dir, network, workers, stop_height)


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
