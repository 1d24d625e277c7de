"""Miner-cohort tracking: which scripts are 0-hop / 1-hop, which of their outputs are unspent.

Pure Python over parsed blocks, no database: the ingest persists what it reports. The state held
in memory is (a) every cohort script and (b) every unspent output paid to a cohort script once it
was a member — the miner-tracking state whose size docs/benchmarks.md measures. It never holds the
rest of the UTXO set, so memory grows with the miner cohorts, not with the chain.

Where the node keeps undo data (chain/undo.py), a block comes with what each of its inputs spent
(script, value, creation height), and (b) is not needed at all: an input spends a tracked output
exactly when its script is a member and the output was created after the script joined. The one
case that takes more than heights is an output created in the very block where its script joined
1-hop, by a transaction before the joining one: such outputs are remembered (`prejoin`, a few per
join block, also persisted) so that their later spend is known to be untracked.

Rules (docs/metrics.md, "Miner cohorts"):
- a script joins 0-hop at the first height it receives a coinbase output (value > 0, not OP_RETURN);
- a script joins 1-hop at the first height it receives an output of a transaction that spends an
  output of a 0-hop script (Coin Metrics' 1-hop); its parent is the first such 0-hop script;
- an output is tracked if its script is a member (either cohort) when the output is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minerwatch.chain.parsed import Columns, SpentColumns
from minerwatch.chain.script import SCRIPT_TYPE_NAMES, script_id

_OP_RETURN = 8


@dataclass(slots=True)
class Member:
    script_type: int
    payload: bytes
    zero_hop_height: int | None = None
    one_hop_height: int | None = None
    parent_script_id: int | None = None


# A member's (zero_hop_height, one_hop_height, parent_script_id) before a block changed it; None
# when the script was no member before it.
MemberBefore = tuple[int | None, int | None, int | None] | None


@dataclass(slots=True)
class BlockChanges:
    """What one block changed in the cohorts, for the ingest to write and to take back on a reorg."""

    new_outputs: list[tuple] = field(default_factory=list)      # (txid, vout, tx_index, value, sid, is_cb)
    spends: list[tuple] = field(default_factory=list)           # (prev txid, vout, spending txid, sid, value, created height)
    spend_outputs: list[tuple] = field(default_factory=list)    # (txid, vout, tx_index, value, sid, type)
    members_before: dict[int, MemberBefore] = field(default_factory=dict)   # every member the block changed
    prejoin: list[tuple[bytes, int, int]] = field(default_factory=list)     # (txid, vout, sid): see the module
    coinbase_txid_added: bytes | None = None     # the coinbase txid put in Tracker.coinbase_txids

    def undo_record(self, height: int, block_hash: str) -> BlockUndo:
        """What Tracker.undo needs to take this block back (none of the rows the ingest writes)."""
        return BlockUndo(height, block_hash, tuple((o[0], o[1]) for o in self.new_outputs),
                         tuple((s[0], s[1], s[3], s[4], s[5]) for s in self.spends), tuple(self.members_before.items()),
                         tuple((t, v) for t, v, _ in self.prejoin),
                         self.coinbase_txid_added)


@dataclass(frozen=True, slots=True)
class BlockUndo:
    """One block's changes to the tracker, enough to undo them: a reorg rolls back through these
    instead of rebuilding the tracker from the database (a cost that grows with the cohorts)."""

    height: int
    block_hash: str                                      # display hex: checked against the stored chain
    added: tuple[tuple[bytes, int], ...]                 # tracked outputs created: (txid, vout)
    spent: tuple[tuple[bytes, int, int, int, int], ...]  # tracked outputs spent: (txid, vout, sid, value, created height)
    members_before: tuple[tuple[int, MemberBefore], ...]
    prejoin: tuple[tuple[bytes, int], ...] = ()          # prejoin outpoints the block added
    coinbase_txid: bytes | None = None                   # added to Tracker.coinbase_txids by the block


class Tracker:
    """Cohort membership and unspent cohort outputs, advanced block by block."""

    def __init__(self, utxos: bool = True) -> None:
        self.members: dict[int, Member] = {}
        # The members' payloads alone: a payload-bytes lookup (SipHash, ~50 ns) rules out almost
        # every output before the 64-bit script id (blake2b, ~600 ns) is computed.
        self.payloads: set[bytes] = set()
        # (txid internal bytes, vout) → (script_id, value_sat, height created). The height goes into
        # the spend's row (miner_spends.out_height), so that a block's refresh never looks the output up.
        # None when not held: every block then brings its spent outputs (undo data).
        self.utxos: dict[tuple[bytes, int], tuple[int, int, int]] | None = {} if utxos else None
        # Outputs paid to a script in its 1-hop join block before the joining transaction (untracked).
        self.prejoin: set[tuple[bytes, int]] = set()
        # Coinbase txids of tracked outputs, kept only while a later coinbase may repeat one (before
        # BIP 34) and the utxos are not held: see the ingest's repeated-coinbase check. None: not kept.
        self.coinbase_txids: set[bytes] | None = None

    def apply(self, height: int, block: Columns, spent: SpentColumns | None = None) -> BlockChanges:
        """Advance over one block (in chain order) and report the changes. `spent`: what each input
        spent (undo data); without it the spends are looked up in the held unspent outputs."""
        if spent is None and self.utxos is None:
            raise RuntimeError("a block without undo data needs the unspent cohort outputs loaded first")
        ch = BlockChanges()
        members, utxos, payloads = self.members, self.utxos, self.payloads
        txids = block.txids
        out_tx, out_vout, out_value = block.out_tx, block.out_vout, block.out_value_sat
        out_type, out_payload = block.out_type, block.out_payload
        in_tx, in_prev, in_vout = block.in_tx, block.in_prev_txid, block.in_prev_vout
        n_out, n_in = len(out_tx), len(in_tx)
        if spent is not None and len(spent.payload) != n_in:
            raise ValueError(f"block at height {height}: {len(spent.payload)} spent outputs for {n_in} inputs")
        joins: dict[int, int] = {}      # script id → transaction index where it joined 1-hop here
        tx_index: dict[bytes, int] | None = None
        oi = ii = 0
        for t in range(block.tx_count):
            txid = txids[t]
            spent_sids: list[int] = []
            if spent is None:
                while ii < n_in and in_tx[ii] == t:
                    hit = utxos.pop((in_prev[ii], in_vout[ii]), None) if utxos else None
                    if hit is not None:
                        spent_sids.append(hit[0])
                        ch.spends.append((in_prev[ii], in_vout[ii], txid, hit[0], hit[1], hit[2]))
                    ii += 1
            else:
                sp_payload = spent.payload
                while ii < n_in and in_tx[ii] == t:
                    if sp_payload[ii] in payloads and spent.value_sat[ii]:
                        sid = script_id(spent.script_type[ii], sp_payload[ii])
                        m = members.get(sid)
                        created = spent.height[ii]
                        if m is not None:
                            if created == height and tx_index is None:
                                tx_index = {x: i for i, x in enumerate(txids)}
                            if self._was_tracked(m, sid, created, in_prev[ii], in_vout[ii], height, joins, tx_index):
                                value = spent.value_sat[ii]
                                spent_sids.append(sid)
                                ch.spends.append((in_prev[ii], in_vout[ii], txid, sid, value, created))
                                if utxos is not None:
                                    utxos.pop((in_prev[ii], in_vout[ii]), None)
                    ii += 1
            first = oi
            while oi < n_out and out_tx[oi] == t:
                oi += 1
            if t == 0:
                self._coinbase(height, txid, first, oi, block, ch)
                continue
            if not spent_sids:
                # Common case: nothing of the cohorts is spent; only payments *to* members matter.
                for k in range(first, oi):
                    if out_payload[k] not in payloads or out_type[k] == _OP_RETURN or not out_value[k]:
                        continue
                    sid = script_id(out_type[k], out_payload[k])
                    if sid in members:
                        if utxos is not None:
                            utxos[(txid, out_vout[k])] = (sid, out_value[k], height)
                        ch.new_outputs.append((txid, out_vout[k], t, out_value[k], sid, False))
                continue
            parent = next((s for s in spent_sids if members[s].zero_hop_height is not None), None)
            for k in range(first, oi):
                stype, value = out_type[k], out_value[k]
                sid = script_id(stype, out_payload[k])
                ch.spend_outputs.append((txid, out_vout[k], t, value, sid, stype))
                if stype == _OP_RETURN or not value:
                    continue
                m = members.get(sid)
                if parent is not None and (m is None or (m.one_hop_height is None and m.zero_hop_height is None)):
                    if m is None:
                        ch.members_before[sid] = None
                        m = members[sid] = Member(stype, out_payload[k])
                        payloads.add(out_payload[k])
                    else:
                        ch.members_before.setdefault(sid, (m.zero_hop_height, m.one_hop_height, m.parent_script_id))
                    m.one_hop_height, m.parent_script_id = height, parent
                    joins[sid] = t
                if m is not None:
                    if utxos is not None:
                        utxos[(txid, out_vout[k])] = (sid, value, height)
                    ch.new_outputs.append((txid, out_vout[k], t, value, sid, False))
        if joins:
            self._note_prejoin(block, joins, ch)
        return ch

    def _was_tracked(self, m: Member, sid: int, created: int, txid: bytes, vout: int, height: int,
                     joins: dict[int, int], tx_index: dict[bytes, int] | None) -> bool:
        """Whether an output of member `m`'s script created at `created` was tracked: created after
        the script joined, or in its join block unless it came before the joining transaction."""
        zero, one = m.zero_hop_height, m.one_hop_height
        joined = zero if one is None or (zero is not None and zero <= one) else one
        if created != joined:
            return created > joined
        if joined == zero:
            return True      # a 0-hop script joins at its block's coinbase, before any other transaction
        if created == height:
            assert tx_index is not None
            return tx_index[txid] >= joins[sid]
        return (txid, vout) not in self.prejoin

    def _note_prejoin(self, block: Columns, joins: dict[int, int], ch: BlockChanges) -> None:
        """Remember the outputs paid to scripts that joined 1-hop in this block by earlier transactions."""
        payloads = {self.members[sid].payload for sid in joins}
        last = max(joins.values())
        out_tx, out_payload, out_type, out_value = block.out_tx, block.out_payload, block.out_type, block.out_value_sat
        for k in range(len(out_tx)):
            t = out_tx[k]
            if t >= last:
                break
            if out_payload[k] not in payloads or out_type[k] == _OP_RETURN or not out_value[k]:
                continue
            sid = script_id(out_type[k], out_payload[k])
            if t < joins.get(sid, -1):
                outpoint = (block.txids[t], block.out_vout[k])
                self.prejoin.add(outpoint)
                ch.prejoin.append((*outpoint, sid))

    def _coinbase(self, height: int, txid: bytes, first: int, end: int, block: Columns, ch: BlockChanges) -> None:
        members, utxos = self.members, self.utxos
        if self.coinbase_txids is not None and txid not in self.coinbase_txids:
            self.coinbase_txids.add(txid)
            ch.coinbase_txid_added = txid
        for k in range(first, end):
            stype, value = block.out_type[k], block.out_value_sat[k]
            if stype == _OP_RETURN or not value:
                continue
            payload = block.out_payload[k]
            sid = script_id(stype, payload)
            m = members.get(sid)
            if m is None:
                ch.members_before[sid] = None
                m = members[sid] = Member(stype, payload)
                self.payloads.add(payload)
            if m.zero_hop_height is None:
                ch.members_before.setdefault(sid, (m.zero_hop_height, m.one_hop_height, m.parent_script_id))
                m.zero_hop_height = height
            if utxos is not None:
                utxos[(txid, block.out_vout[k])] = (sid, value, height)
            ch.new_outputs.append((txid, block.out_vout[k], 0, value, sid, True))

    def undo(self, rec: BlockUndo) -> None:
        """Take back one block that apply() advanced over: the newest one not yet taken back."""
        utxos, members = self.utxos, self.members
        # Spent outputs come back before the block's own outputs go: an output created and spent
        # inside the block is then put back and removed again, as the database deletes its row.
        if utxos is not None:
            for txid, vout, sid, value, created in rec.spent:
                utxos[(txid, vout)] = (sid, value, created)
            for outpoint in rec.added:
                utxos.pop(outpoint, None)
        self.prejoin.difference_update(rec.prejoin)
        if rec.coinbase_txid is not None and self.coinbase_txids is not None:
            self.coinbase_txids.discard(rec.coinbase_txid)
        for sid, before in rec.members_before:
            m = members[sid]
            if before is None:
                del members[sid]
                self._forget_payload(m.payload)
            else:
                m.zero_hop_height, m.one_hop_height, m.parent_script_id = before

    def _forget_payload(self, payload: bytes) -> None:
        # P2PKH and P2WPKH of one key (and P2PK/P2TR-style key payloads) share payload bytes under
        # different script ids: the payload stays while any member of another type still has it.
        members = self.members
        if not any(script_id(code, payload) in members for code in SCRIPT_TYPE_NAMES):
            self.payloads.discard(payload)
