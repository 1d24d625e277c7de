"""Parsed blocks → stored rows, one DuckDB transaction per batch, so that a crash at any moment
leaves the database exactly at the end of a whole batch."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from minerwatch.chain.address import owner_label
from minerwatch.chain.block import Block, hash_hex
from minerwatch.chain.parsed import ParsedBlock
from minerwatch.chain.script import SCRIPT_TYPE_NAMES
from minerwatch.consensus import median_time_past, work_from_bits
from minerwatch.errors import StoreError
from minerwatch.ingest.tracker import BlockUndo, Member, Tracker
from minerwatch.ingest.undo import UNDO_BLOCKS, UndoWindow, records_from_db
from minerwatch.networks import Network
from minerwatch.store import get_meta, lower_metrics_mark, transaction

_BLOCK_COLUMNS = (
    "height", "hash", "prev_hash", "time_s", "median_time_past_s", "version", "bits", "difficulty",
    "chainwork", "size_bytes", "weight_wu", "tx_count", "input_count", "output_count", "segwit_tx_count",
    "p2tr_output_count", "coinbase_value_sat", "subsidy_sat", "fees_sat", "unclaimed_sat", "coinbase_tag",
    "coinbase_script_hex", "fees_paid_sat",
)


@dataclass(frozen=True, slots=True)
class Tip:
    height: int
    hash: str
    chainwork: int


class Ingest:
    """Writes batches of consecutive blocks and rolls back to a fork point.

    The in-memory state (tip, recent times, cohort tracker) equals what the database holds between
    calls: a batch that fails is taken back from its undo records, a rollback undoes the abandoned
    blocks from theirs (or, deeper than `undo_blocks`, rebuilds everything from the database).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, network: Network, undo_blocks: int = UNDO_BLOCKS) -> None:
        self.con = con
        self.network = network
        self.tracker = Tracker()
        self._times: deque[int] = deque(maxlen=11)
        self.tip: Tip | None = None
        self.undo = UndoWindow(undo_blocks)
        # How the last rollback brought memory back: "undo" (records) or "reload" (benchmarks read it).
        self.last_rollback = ""
        # False while memory may differ from the database (an undo interrupted half-way): the next
        # batch or rollback rebuilds first.
        self._state_ok = False
        self.reload()

    def reload(self) -> None:
        """Rebuild the in-memory state (tip, recent times, cohort tracker, undo records) from the database.

        The unspent cohort outputs are not read here: blocks that bring their undo data never need
        them, and the first block that does not loads them (`_hold_outputs`).
        """
        self._state_ok = False
        con = self.con
        self._load_tip()
        tracker = Tracker(utxos=False)
        for sid, stype, payload_hex, zh, oh, parent in con.execute(
            "SELECT s.script_id, s.script_type, p.payload_hex, s.zero_hop_height, s.one_hop_height, s.parent_script_id "
            "FROM miner_scripts s LEFT JOIN miner_script_payloads p USING (script_id)"
        ).fetchall():
            payload = bytes.fromhex(payload_hex or "")
            tracker.members[sid] = Member(_TYPE_CODES[stype], payload, zh, oh, parent)
            tracker.payloads.add(payload)
        tracker.prejoin = {(bytes.fromhex(txid)[::-1], vout)
                           for txid, vout in con.execute("SELECT txid, vout FROM miner_prejoin_outputs").fetchall()}
        # A database tracked before miner_prejoin_outputs existed cannot decide every spend from
        # undo data (see store/sql/250_undo_data.sql): it keeps its outputs in memory.
        self.undo_capable = get_meta(con, "prejoin_complete_from_height") is None
        next_height = self.tip.height + 1 if self.tip else 0
        bip34 = self.network.bip34_height
        if bip34 is None or next_height < bip34:
            # Before BIP 34 a coinbase may repeat an earlier one's txid (mainnet 91842 and 91880).
            tracker.coinbase_txids = {bytes.fromhex(t)[::-1] for (t,) in con.execute(
                "SELECT DISTINCT txid FROM miner_outputs WHERE is_coinbase").fetchall()}
        self.tracker = tracker
        self.undo.reset(records_from_db(con, self.tip.height, self.undo.max_blocks) if self.tip else ())
        self._state_ok = True

    def _hold_outputs(self) -> None:
        """Load every unspent cohort output into the tracker (as the database holds them now), for
        blocks whose spends must be looked up: no undo data, or a repeated coinbase txid."""
        utxos: dict[tuple[bytes, int], tuple[int, int, int]] = {}
        for lo, hi in _height_ranges(self.con, RELOAD_CHUNK_OUTPUTS):
            for txid, vout, sid, value, height in self.con.execute(_UNSPENT_SQL, [lo, hi]).fetchall():
                utxos[(bytes.fromhex(txid)[::-1], vout)] = (sid, value, height)
        self.tracker.utxos = utxos

    def _needs_outputs(self, blocks: list[tuple[int, ParsedBlock]]) -> bool:
        """Whether this batch needs the unspent cohort outputs held: a block without undo data (or
        a database that cannot do without), or a coinbase that repeats an earlier coinbase's txid."""
        tracker = self.tracker
        if tracker.utxos is not None:
            return False
        if not self.undo_capable or any(p.spent is None for _, p in blocks):
            return True
        seen = tracker.coinbase_txids
        if seen is None:
            return False
        txids = [p.columns.txids[0] for _, p in blocks]
        return len(set(txids)) < len(txids) or any(t in seen for t in txids)

    def _load_tip(self) -> None:
        """The tip and the last 11 header times, from the database."""
        con = self.con
        row = con.execute("SELECT height, hash, chainwork FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
        self.tip = Tip(row[0], row[1], int(row[2])) if row else None
        self._times.clear()
        if row:
            times = con.execute("SELECT time_s FROM blocks WHERE height > ? ORDER BY height", [row[0] - 11]).fetchall()
            self._times.extend(t for (t,) in times)

    def add_batch(self, blocks: list[tuple[int, Block | ParsedBlock]], chainwork_before: int | None = None) -> Tip:
        """Store consecutive blocks after the current tip, atomically.

        A `ParsedBlock` (from the blk-file workers) brings its facts; a `Block`'s are computed here.
        """
        if not blocks:
            raise StoreError("empty batch", "report this as a bug")
        if not self._state_ok:
            self.reload()
        con, net = self.con, self.network
        blocks = [(h, b if isinstance(b, ParsedBlock) else ParsedBlock.of(h, b, net)) for h, b in blocks]
        if self._needs_outputs(blocks):
            self._hold_outputs()
        tip = self.tip
        first_height = blocks[0][0]
        if tip is None:
            prev_hash = None
            # A chain that starts after genesis (e.g. blk files without block 0) still needs the
            # genesis' work in chainwork; every network's genesis is mined at its pow limit.
            chainwork = chainwork_before if chainwork_before is not None else (
                first_height * work_from_bits(net.pow_limit_bits))
        else:
            if first_height != tip.height + 1:
                raise StoreError(f"batch starts at height {first_height}, but the tip is {tip.height}",
                                 "report this as a bug")
            prev_hash, chainwork = tip.hash, tip.chainwork
        block_rows: list[tuple] = []
        cb_rows: list[tuple] = []
        out_rows: list[tuple] = []
        spend_rows: list[tuple] = []
        replaced: list[tuple] = []
        spend_out_rows: list[tuple] = []
        prejoin_rows: list[tuple] = []
        changed: set[int] = set()
        times = self._times
        saved_times = list(times)
        tracker = self.tracker
        applied: list[BlockUndo] = []
        half_applied = False
        self._state_ok = False
        try:
            for height, parsed in blocks:
                f = parsed.facts
                if f.height != height:
                    raise StoreError(f"block {f.hash_hex} was parsed for height {f.height}, not {height}",
                                     "report this as a bug")
                bhash = f.hash_hex
                if prev_hash is not None and f.prev_hash_hex != prev_hash:
                    raise StoreError(f"block {bhash} at height {height} does not extend {prev_hash}",
                                     "the source changed chains mid-batch; run the sync again")
                times.append(f.time_s)
                chainwork += f.work
                block_rows.append((
                    height, bhash, f.prev_hash_hex, f.time_s, median_time_past(list(times)), f.version, f.bits,
                    f.difficulty, chainwork, f.size_bytes, f.weight_wu, f.tx_count, f.input_count, f.output_count,
                    f.segwit_tx_count, f.p2tr_output_count, f.coinbase_value_sat, f.subsidy_sat, f.fees_sat,
                    f.unclaimed_sat, f.coinbase_tag, f.coinbase_script_hex,
                    None if parsed.spent is None else parsed.spent.fees_paid_sat,
                ))
                cb_rows.extend((height, *o) for o in f.coinbase_outputs)
                replaced.extend(_repeated_coinbase_outputs(tracker, parsed))
                half_applied = True
                ch = tracker.apply(height, parsed.columns, None if tracker.utxos is not None else parsed.spent)
                applied.append(ch.undo_record(height, bhash))
                half_applied = False
                out_rows.extend((hash_hex(txid), vout, height, t, value, sid, cb)
                                for txid, vout, t, value, sid, cb in ch.new_outputs)
                spend_rows.extend((hash_hex(prev), vout, height, hash_hex(txid), created, value, sid)
                                  for prev, vout, txid, sid, value, created in ch.spends)
                spend_out_rows.extend((hash_hex(txid), vout, height, t, value, sid, SCRIPT_TYPE_NAMES[stype])
                                      for txid, vout, t, value, sid, stype in ch.spend_outputs)
                prejoin_rows.extend((hash_hex(txid), vout, height, sid) for txid, vout, sid in ch.prejoin)
                changed.update(ch.members_before)
                prev_hash = bhash
            member_rows = []
            for sid in changed:
                m = tracker.members[sid]
                member_rows.append((sid, SCRIPT_TYPE_NAMES[m.script_type], owner_label(m.script_type, m.payload, net),
                                    m.zero_hop_height, m.one_hop_height, m.parent_script_id, m.payload.hex()))
            with transaction(con):
                _insert(con, "blocks", _BLOCK_COLUMNS, block_rows)
                _insert(con, "coinbase_outputs", ("height", "vout", "value_sat", "script_type", "script_id",
                                                  "address"), cb_rows)
                _upsert_members(con, member_rows)
                # Two mainnet coinbases repeat an earlier one's txid (heights 91842 and 91880 repeat
                # 91812 and 91722, before BIP 30): as in Core's UTXO set, the later output replaces the
                # earlier, whose 50 BTC can never be spent. Without this, syncing past 91842 fails.
                out_rows = list({(r[0], r[1]): r for r in out_rows}.values())
                _delete_outputs(con, replaced)
                # Both tables are appended to, never updated: an UPDATE (or INSERT OR REPLACE) of
                # miner_outputs costs DuckDB a pass over every stored row (migration 230).
                try:
                    _insert(con, "miner_outputs", ("txid", "vout", "height", "tx_index", "value_sat", "script_id",
                                                   "is_coinbase"), out_rows)
                except duckdb.ConstraintException as e:
                    raise StoreError(f"blocks {first_height}-{blocks[-1][0]} repeat the txid of a cohort output already "
                                     f"stored and spent ({e})", "report this as a bug, with the heights") from e
                _insert(con, "miner_spends", ("txid", "vout", "height", "spent_txid", "out_height", "value_sat",
                                              "script_id"), spend_rows)
                _insert(con, "miner_spend_outputs", ("txid", "vout", "height", "tx_index", "value_sat",
                                                     "script_id", "script_type"), spend_out_rows)
                _insert(con, "miner_prejoin_outputs", ("txid", "vout", "height", "script_id"), prejoin_rows)
        except BaseException:
            times.clear()
            times.extend(saved_times)
            self._restore_after_failed_batch(applied, half_applied, blocks[0][0])
            raise
        self.tip = Tip(blocks[-1][0], prev_hash, chainwork)
        self.undo.extend(applied)
        self._state_ok = True
        return self.tip

    def _restore_after_failed_batch(self, applied: list[BlockUndo], half_applied: bool, first_height: int) -> None:
        """Bring memory back to what the database holds after a batch raised: its transaction rolled
        back, so every block the tracker applied is taken back from its record, newest first."""
        try:
            stored = self.con.execute("SELECT count(*) FROM blocks WHERE height = ?", [first_height]).fetchone()[0]
            if half_applied or stored:
                # Half a block applied (what it changed is not all recorded), or an error raised after
                # the COMMIT (the batch is stored): only the database knows the state.
                self.reload()
                return
            for rec in reversed(applied):
                self.tracker.undo(rec)
            self._state_ok = True
        except Exception:  # noqa: BLE001 - the batch's own error is the one to raise; _state_ok stays False
            pass

    def rollback_to(self, height: int) -> None:
        """Forget every block above `height` (a reorg's fork point), atomically.

        The mark of derived metrics moves back below `height` in the same transaction: were it a
        separate write, a crash between the two would leave the abandoned branch's derived rows
        (block_network, block_pools, …) in place for good, since the next refresh starts at the mark.
        Memory follows once the transaction is committed: the abandoned blocks are undone from
        their records, newest first, when the window holds them all; otherwise it is rebuilt.
        """
        if not self._state_ok:
            self.reload()
        con = self.con
        records = self.undo.above(height, self.tip.height) if self.tip is not None else []
        try:
            with transaction(con):
                if records and not _records_match(con, height, records):
                    records = None   # another process changed the file: only a rebuild can be trusted
                # miner_spends' height is the spending block's: deleting its rows above the fork
                # makes the outputs they spent unspent again.
                for table in ("blocks", "coinbase_outputs", "miner_outputs", "miner_spends", "miner_spend_outputs",
                              "miner_prejoin_outputs"):
                    con.execute(f"DELETE FROM {table} WHERE height > ?", [height])  # noqa: S608 (fixed names)
                # The payloads of exactly the scripts deleted next: an anti-join of the whole payload
                # table against the whole script table (as before) grows with the cohorts.
                con.execute("DELETE FROM miner_script_payloads WHERE script_id IN (SELECT script_id FROM miner_scripts "
                            "WHERE coalesce(zero_hop_height, 2147483647) > ? AND coalesce(one_hop_height, 2147483647) > ?)",
                            [height, height])
                con.execute("DELETE FROM miner_scripts WHERE coalesce(zero_hop_height, 2147483647) > ? "
                            "AND coalesce(one_hop_height, 2147483647) > ?", [height, height])
                con.execute("UPDATE miner_scripts SET zero_hop_height = NULL WHERE zero_hop_height > ?", [height])
                con.execute("UPDATE miner_scripts SET one_hop_height = NULL, parent_script_id = NULL "
                            "WHERE one_hop_height > ?", [height])
                # One below the fork: the next refresh then starts AT the fork block, which exists,
                # so it runs (deleting every derived row above the new tip) even when no block
                # follows the rollback; a mark at the fork would skip it and keep those rows.
                lower_metrics_mark(con, max(height - 1, -1))
        except BaseException:
            # Rolled back, so memory still equals the database; unless the error came after the
            # COMMIT, which only a rebuild can tell apart.
            self.reload()
            raise
        if records is None:
            self.reload()
            self.last_rollback = "reload"
            return
        self._state_ok = False
        for rec in reversed(records):
            self.tracker.undo(rec)
        self.undo.drop_above(height)
        self._load_tip()
        self._state_ok = True
        self.last_rollback = "undo"


def _repeated_coinbase_outputs(tracker: Tracker, parsed: ParsedBlock) -> list[tuple[str, int]]:
    """The tracked unspent outputs a block's coinbase is about to replace by repeating their txid
    (mainnet 91842 and 91880 only; BIP 34 made it impossible after 227,931): (txid hex, vout).
    Without the outputs held, the batch was checked for repeats before (Ingest._needs_outputs)."""
    cols = parsed.columns
    txid, utxos, out_tx = cols.txids[0], tracker.utxos, cols.out_tx
    if utxos is None:
        return []
    repeated = []
    k = 0
    # Outputs are in transaction order: the coinbase's come first (a block's loop, so it stops there).
    while k < len(out_tx) and out_tx[k] == 0:
        if (txid, cols.out_vout[k]) in utxos:
            repeated.append((hash_hex(txid), cols.out_vout[k]))
        k += 1
    return repeated


def _delete_outputs(con: duckdb.DuckDBPyConnection, keys: list[tuple[str, int]]) -> None:
    for txid, vout in keys:
        con.execute("DELETE FROM miner_outputs WHERE txid = ? AND vout = ?", [txid, vout])


def _records_match(con: duckdb.DuckDBPyConnection, height: int, records: list[BlockUndo]) -> bool:
    """Whether the stored blocks above `height` are exactly the blocks the records were made from."""
    stored = con.execute("SELECT height, hash FROM blocks WHERE height > ? ORDER BY height", [height]).fetchall()
    return stored == [(r.height, r.block_hash) for r in records]


_TYPE_CODES = {name: code for code, name in SCRIPT_TYPE_NAMES.items()}

# The unspent cohort outputs are read by ranges of creation height holding about this many
# outputs: an output created in a range can only be spent by a spend whose out_height is in it,
# so each anti-join hashes one range's spends. One anti-join over every spend took 1.8 GB with the
# demo's miner tables grown ×30 (9.2 M spends); mainnet's ~70 M would not fit beside a node.
RELOAD_CHUNK_OUTPUTS = 1_000_000
RELOAD_BUCKET_BLOCKS = 1_000        # the ranges' granularity, in blocks
_UNSPENT_SQL = """
SELECT o.txid, o.vout, o.script_id, o.value_sat, o.height
FROM (SELECT txid, vout, script_id, value_sat, height FROM miner_outputs WHERE height >= $1 AND height < $2) o
ANTI JOIN (SELECT txid, vout FROM miner_spends WHERE out_height >= $1 AND out_height < $2) s USING (txid, vout)
"""


def _height_ranges(con: duckdb.DuckDBPyConnection, outputs_per_range: int) -> list[tuple[int, int]]:
    """[lo, hi) height ranges covering every stored cohort output, about `outputs_per_range` each."""
    ranges: list[tuple[int, int]] = []
    start, n = None, 0
    size = RELOAD_BUCKET_BLOCKS
    for bucket, count in con.execute("SELECT height // $1 AS b, count(*) FROM miner_outputs GROUP BY b ORDER BY b",
                                     [size]).fetchall():
        if start is None:
            start = bucket * size
        n += count
        if n >= outputs_per_range:
            ranges.append((start, (bucket + 1) * size))
            start, n = None, 0
    if start is not None:
        ranges.append((start, 2**31 - 1))
    return ranges


# Chainwork passes 2^63 on mainnet (it is ~2^95 today): Arrow has no 128-bit integer, so it
# travels as decimal(38, 0) and DuckDB stores it as HUGEINT.
_WIDE = {"chainwork"}


def _table(columns: tuple[str, ...], rows: list[tuple]) -> pa.Table:
    arrays = {}
    for i, c in enumerate(columns):
        values = [r[i] for r in rows]
        if c in _WIDE:
            arrays[c] = pa.array([Decimal(v) for v in values], pa.decimal128(38, 0))
        else:
            arrays[c] = pa.array(values)
    return pa.table(arrays)


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    con.register("_rows", _table(columns, rows))
    cols = ", ".join(columns)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")  # noqa: S608 (fixed names)
    con.unregister("_rows")


def _upsert_members(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    if not rows:
        return
    cols = ("script_id", "script_type", "address", "zero_hop_height", "one_hop_height", "parent_script_id",
            "payload_hex")
    con.register("_members", _table(cols, rows))
    con.execute("DELETE FROM miner_scripts WHERE script_id IN (SELECT script_id FROM _members)")
    con.execute("INSERT INTO miner_scripts SELECT script_id, script_type, address, zero_hop_height, one_hop_height, "
                "parent_script_id FROM _members")
    con.execute("INSERT OR IGNORE INTO miner_script_payloads SELECT script_id, payload_hex FROM _members")
    con.unregister("_members")
