"""One lake part: its files written a row group at a time under `.partial` names, renamed when whole.

The export writes parts in its own process (blocks from the node, or `--workers 1`), or hands each
part's height range to a worker process that reads, parses and writes it whole (`write_part`): a
part's rows need only its own blocks, so parts are written side by side and the export's process
only lists them in the manifest, in height order.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from minerwatch.chain.blkranges import HeightRange
from minerwatch.chain.block import Block
from minerwatch.chain.parsed import BlockFacts, block_facts
from minerwatch.lake.layout import PARTIAL_SUFFIX, LakeError, Part, open_lake, part_path
from minerwatch.lake.rows import Columns, add_block, empty_columns
from minerwatch.lake.schema import SCHEMAS, TABLES
from minerwatch.networks import Network, get_network

# ~128 k rows per row group: the column lists of one group of outputs stay under ~60 MB of Python objects.
ROW_GROUP_ROWS = 131_072


class PartWriter:
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

    def add(self, facts: BlockFacts, block: Block) -> None:
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


@dataclass(frozen=True, slots=True)
class WrittenPart:
    """What a worker sends back: the part, renamed but not listed, and where its chain starts."""

    part: Part
    prev_hash: str        # display hex of the block before the part's first: the parent checks that parts join


def write_part(uri: str, network_name: str, blocks: HeightRange) -> WrittenPart:
    """Read, parse and write the part of `blocks` into the lake at `uri` (runs in a worker process).

    Memory holds one block and one row group per table. On any error the part's `.partial` files
    are deleted; a worker killed with its parent leaves them for the next export to delete."""
    network = get_network(network_name)
    fs, root = open_lake(uri)
    writer = PartWriter(fs, root, blocks.first_height, network)
    try:
        first_prev = block_hash = ""
        for h, block in blocks.blocks():
            facts = block_facts(h, block, network)
            if not block_hash:
                first_prev = facts.prev_hash_hex
            elif facts.prev_hash_hex != block_hash:
                raise LakeError(f"block {h} ({facts.hash_hex}) does not build on block {h - 1} ({block_hash}): "
                                "the blocks directory changed during the export", "run the export again")
            writer.add(facts, block)
            block_hash = facts.hash_hex
        part = writer.finish(blocks.last_height, block_hash)
    except BaseException:
        writer.abandon()
        raise
    return WrittenPart(part, first_prev)
