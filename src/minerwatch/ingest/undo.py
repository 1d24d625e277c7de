"""The undo records of the last blocks, so that a reorg takes the cohort tracker back to its fork
point by what each abandoned block changed, not by rebuilding the tracker from the database.

A rebuild reads every cohort script and every unspent cohort output (with the demo's miner tables
grown ×30 — 135,000 scripts, 534,000 unspent of 9.8 M outputs — 1.2–2.1 s; at mainnet's cohort sizes,
a minute or more: docs/benchmarks.md), whereas a block's record holds only the outputs it created and spent and the
members it changed. Records are kept for the last `UNDO_BLOCKS` blocks; a deeper rollback rebuilds.
They are made as blocks are applied, and on start (and after any rebuild) from the stored rows, so
a reorg right after a restart needs no rebuild either.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import duckdb

from minerwatch.ingest.tracker import BlockUndo, MemberBefore

# Deeper than any reorg mainnet has seen since 2013 (24 blocks; the value-overflow fix of 2010 was
# 53) and than coinbase maturity (100). A record costs ~190 bytes per cohort output a block creates
# or spends (the last 100 blocks of the demo grown ×30: 29,340 entries, 5.6 MB): for 100 blocks of
# a few thousand such outputs each, ~60 MB.
UNDO_BLOCKS = 100


class UndoWindow:
    """The undo records of the newest blocks, oldest first, one per height up to the tip."""

    def __init__(self, max_blocks: int = UNDO_BLOCKS) -> None:
        self.max_blocks = max_blocks
        self.records: deque[BlockUndo] = deque(maxlen=max_blocks)

    def reset(self, records: Iterable[BlockUndo] = ()) -> None:
        self.records.clear()
        self.records.extend(records)

    def extend(self, records: Iterable[BlockUndo]) -> None:
        self.records.extend(records)

    def above(self, height: int, tip_height: int) -> list[BlockUndo] | None:
        """The records of heights height + 1 … tip_height, oldest first; None unless all are held."""
        n = tip_height - height
        if n <= 0:
            return []
        records = self.records
        if n > len(records) or records[-1].height != tip_height or records[-n].height != height + 1:
            return None
        return [records[i] for i in range(len(records) - n, len(records))]

    def drop_above(self, height: int) -> None:
        records = self.records
        while records and records[-1].height > height:
            records.pop()


def records_from_db(con: duckdb.DuckDBPyConnection, tip_height: int, max_blocks: int = UNDO_BLOCKS) -> list[BlockUndo]:
    """The undo records of the last `max_blocks` stored blocks, rebuilt from the rows a rollback
    deletes or reverts (the same height predicates), oldest first."""
    above = tip_height - max_blocks
    if max_blocks <= 0:
        return []
    hashes = con.execute("SELECT height, hash FROM blocks WHERE height > ? ORDER BY height", [above]).fetchall()
    added: dict[int, list[tuple[bytes, int]]] = {}
    for height, txid, vout in con.execute("SELECT height, txid, vout FROM miner_outputs WHERE height > ?",
                                          [above]).fetchall():
        added.setdefault(height, []).append((bytes.fromhex(txid)[::-1], vout))
    spent: dict[int, list[tuple[bytes, int, int, int, int]]] = {}
    for height, txid, vout, sid, value, created in con.execute(
            "SELECT height, txid, vout, script_id, value_sat, out_height FROM miner_spends WHERE height > ?",
            [above]).fetchall():
        spent.setdefault(height, []).append((bytes.fromhex(txid)[::-1], vout, sid, value, created))
    members: dict[int, list[tuple[int, MemberBefore]]] = {}
    for sid, zero_hop, one_hop, parent in con.execute(
            "SELECT script_id, zero_hop_height, one_hop_height, parent_script_id FROM miner_scripts "
            "WHERE zero_hop_height > ? OR one_hop_height > ?", [above, above]).fetchall():
        # A script joins 1-hop only while it is in no cohort, so its 1-hop join made it a member;
        # a 0-hop join either made it one or found it 1-hop already (joined at a lower height).
        if one_hop is not None and one_hop > above:
            members.setdefault(one_hop, []).append((sid, None))
        if zero_hop is not None and zero_hop > above:
            before = (None, one_hop, parent) if one_hop is not None and one_hop < zero_hop else None
            members.setdefault(zero_hop, []).append((sid, before))
    return [BlockUndo(h, block_hash, tuple(added.get(h, ())), tuple(spent.get(h, ())), tuple(members.get(h, ())))
            for h, block_hash in hashes]
