"""A reorg takes the cohort tracker back through the abandoned blocks' undo records: the state it
leaves (members, payloads, unspent outputs, tip) is exactly the one a rebuild from the database
gives, at depth 1, 6 and past the record window (which rebuilds), after a restart (records made
from the stored rows), and after a batch that failed at any point.

The chain: a trunk to height 30 in which every block pays a pool, a payout of the coinbase three
blocks back to a new miner script and an exchange, and a sale by that miner inside the same block
(an output created and spent in one block). Above it, branch A (salt 0) and the competing branches
(salt 1) each add in every block: a new member; a P2PKH script whose hash is an old P2WPKH member's
(a payload two members share); a coinbase output to an old 1-hop member (it turns 0-hop).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from db_dump import differences, dump
from minerwatch.chain.block import Block, parse_block
from minerwatch.chain.builder import ChainBuilder, OutPoint, h20, key65, p2pk, p2pkh, p2wpkh
from minerwatch.errors import StoreError
from minerwatch import ingest as ingest_module
from minerwatch.ingest import Ingest
from minerwatch.ingest.undo import UNDO_BLOCKS, records_from_db
from minerwatch.networks import get_network
from minerwatch.store import COMMIT_HOOKS, bind_network, connect

REGTEST = get_network("regtest")
B, F = 100_000_000, 10_000
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
TRUNK = 30
POOLS = [p2wpkh(h20("poolA")), p2pkh(h20("poolB")), p2pk(key65("solo"))]
EXCHANGE = p2wpkh(h20("exchange"))


def _miner(salt: int, h: int) -> bytes:
    return p2wpkh(h20(f"{salt}-{h}"))


def _mine(b: ChainBuilder, upto: int, salt: int) -> None:
    while b.height < upto:
        h = b.height + 1
        payouts: list[tuple[bytes, int | None]] = [(POOLS[(h + salt) % 3], None)]
        if h > TRUNK:
            # An old 1-hop member (joined at h − 25 + salt) receives a coinbase output: now 0-hop too.
            payouts.append((_miner(0, h - 25 + salt), 1 * B))
        if h > 3:
            outputs = [(_miner(salt, h), 10 * B), (EXCHANGE, 2 * B)]
            if h > TRUNK:
                # A new P2PKH script with an old P2WPKH member's hash: two members, one payload.
                outputs.append((p2pkh(h20(f"0-{h - 20 + salt}")), 1 * B))
            tx = b.spend([b.coinbase_outpoint(h - 3)], outputs, fee_sat=F)
            b.spend([OutPoint(tx.txid, 0)], [(EXCHANGE, 5 * B)], fee_sat=F)   # created and spent in one block
        b.mine(tag=f"pool{(h + salt) % 3}", payouts=payouts, time_s=T0 + h * 600 + salt)


@pytest.fixture(scope="module")
def branch_a() -> ChainBuilder:
    b = ChainBuilder("regtest", start_time_s=T0)
    _mine(b, TRUNK + 12, 0)
    return b


def _competitor(a: ChainBuilder, fork: int) -> list[bytes]:
    """Blocks fork + 1 … of a branch that leaves A after `fork` and is one block longer than A."""
    # Built again from genesis (the builder is deterministic), not with ChainBuilder.fork: its
    # undo of the builder's coins fails on an output created and spent in one block.
    b = ChainBuilder("regtest", start_time_s=T0)
    _mine(b, fork, 0)
    _mine(b, a.height + 1, 1)
    assert b.blocks[:fork + 1] == a.blocks[:fork + 1]
    return b.blocks[fork + 1:]


def _open(db: Path, undo_blocks: int = UNDO_BLOCKS) -> tuple[duckdb.DuckDBPyConnection, Ingest]:
    con = connect(db)
    bind_network(con, REGTEST.name, db)
    return con, Ingest(con, REGTEST, undo_blocks)


def _add(ingest: Ingest, blocks: list[bytes], first_height: int, batch: int = 4) -> None:
    for i in range(0, len(blocks), batch):
        ingest.add_batch([(first_height + i + k, parse_block(raw)) for k, raw in enumerate(blocks[i:i + batch])])


def _state(ingest: Ingest) -> tuple:
    """Everything the ingest holds in memory, as plain values (the unspent cohort outputs loaded if
    they are not held: a rebuild reads them only when a block needs them)."""
    t = ingest.tracker
    members = {sid: (m.script_type, m.payload, m.zero_hop_height, m.one_hop_height, m.parent_script_id)
               for sid, m in t.members.items()}
    if t.utxos is None:
        ingest._hold_outputs()
    return ingest.tip, list(ingest._times), members, set(t.payloads), dict(t.utxos), set(t.prejoin)


def _rebuilt(con: duckdb.DuckDBPyConnection) -> tuple:
    return _state(Ingest(con, REGTEST))


def _sync_straight(db: Path, blocks: list[bytes]) -> dict:
    con, ingest = _open(db)
    _add(ingest, blocks[1:], 1, batch=7)
    con.close()
    return dump(db)


@pytest.mark.parametrize(("depth", "undo_blocks", "path"), [(1, UNDO_BLOCKS, "undo"), (6, UNDO_BLOCKS, "undo"),
                                                            (10, 8, "reload")])
def test_a_reorg_undoes_exactly_what_a_rebuild_gives(branch_a: ChainBuilder, tmp_path: Path, depth: int,
                                                      undo_blocks: int, path: str) -> None:
    con, ingest = _open(tmp_path / "a.duckdb", undo_blocks)
    _add(ingest, branch_a.blocks[1:], 1)
    tip = branch_a.height
    assert tip == 42 and len(ingest.undo.records) == min(undo_blocks, tip)
    fork = tip - depth
    # What the abandoned blocks did: members joined, a shared payload, a 1-hop member made 0-hop.
    above = ingest.undo.above(fork, tip) if path == "undo" else None
    if above is not None:
        assert sum(len(r.members_before) for r in above) == 3 * depth
        assert any(before is not None for r in above for _, before in r.members_before)
        # Spent: the pool's coinbase three blocks back, the new miner's output of the same block.
        assert sum(len(r.spent) for r in above) == 2 * depth
        # Added: two coinbase outputs, the payout's three and its change, the sale's two.
        assert sum(len(r.added) for r in above) == 8 * depth
    ingest.rollback_to(fork)
    assert ingest.last_rollback == path
    assert ingest.tip.height == fork
    before_fork = _state(ingest)
    assert before_fork == _rebuilt(con)
    # The state at the fork is the one a sync that never went past it holds.
    con2, straight = _open(tmp_path / "straight-to-fork.duckdb")
    _add(straight, branch_a.blocks[1:fork + 1], 1)
    assert _state(straight) == before_fork
    con2.close()
    # The winning branch goes on top; memory and every table then equal a sync of it alone.
    branch = _competitor(branch_a, fork)
    _add(ingest, branch, fork + 1, batch=3)
    assert _state(ingest) == _rebuilt(con)
    con.close()
    want = _sync_straight(tmp_path / "straight.duckdb", branch_a.blocks[:fork + 1] + branch)
    assert differences(dump(tmp_path / "a.duckdb"), want) == []


def test_records_made_from_the_database_equal_the_live_ones(branch_a: ChainBuilder, tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    con, ingest = _open(db)
    _add(ingest, branch_a.blocks[1:], 1)
    live = [_normal(r) for r in ingest.undo.records]
    assert [r[0] for r in live] == list(range(1, 43))
    assert [_normal(r) for r in records_from_db(con, 42)] == live
    assert [_normal(r) for r in records_from_db(con, 42, 6)] == live[-6:]
    con.close()
    # After a restart the records come from the database, and a reorg still needs no rebuild.
    con, ingest = _open(db)
    assert [_normal(r) for r in ingest.undo.records] == live
    ingest.rollback_to(36)
    assert ingest.last_rollback == "undo"
    assert _state(ingest) == _rebuilt(con)
    con.close()


def _normal(r) -> tuple:  # noqa: ANN001
    return r.height, r.block_hash, sorted(r.added), sorted(r.spent), sorted(r.members_before, key=lambda m: m[0])


@pytest.fixture
def on_a(branch_a: ChainBuilder, tmp_path: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, Ingest, list[bytes]]]:
    """An ingest synced on A to height 36, and all of A's blocks."""
    con, ingest = _open(tmp_path / "a.duckdb")
    _add(ingest, branch_a.blocks[1:37], 1)
    yield con, ingest, branch_a.blocks
    COMMIT_HOOKS.clear()
    con.close()


def _fail_at(point: str) -> None:
    def hook(at: str) -> None:
        if at == point:
            raise RuntimeError(f"injected failure {point} COMMIT")
    COMMIT_HOOKS.append(hook)


def _batch(blocks: list[bytes], first: int, last: int) -> list[tuple[int, Block]]:
    return [(h, parse_block(blocks[h])) for h in range(first, last + 1)]


def test_a_batch_whose_transaction_rolls_back_is_taken_back_in_memory(on_a: tuple) -> None:
    con, ingest, blocks = on_a
    before = _state(ingest)
    _fail_at("before")
    with pytest.raises(RuntimeError, match="injected"):
        ingest.add_batch(_batch(blocks, 37, 42))
    COMMIT_HOOKS.clear()
    assert _state(ingest) == before == _rebuilt(con)
    assert con.execute("SELECT max(height) FROM blocks").fetchone()[0] == 36
    # The failed batch's records were not kept: a reorg after it undoes exactly the stored blocks.
    ingest.rollback_to(33)
    assert ingest.last_rollback == "undo"
    assert _state(ingest) == _rebuilt(con)
    ingest.add_batch(_batch(blocks, 34, 42))
    assert _state(ingest) == _rebuilt(con)
    assert [r.height for r in ingest.undo.records] == list(range(1, 43))


def test_a_batch_that_stops_at_a_block_not_extending_the_last_is_taken_back(branch_a: ChainBuilder,
                                                                             on_a: tuple) -> None:
    con, ingest, blocks = on_a
    before = _state(ingest)
    stray = parse_block(_competitor(branch_a, 37)[1])   # height 39 of a branch leaving A after 37
    with pytest.raises(StoreError, match="does not extend"):
        ingest.add_batch([*_batch(blocks, 37, 38), (39, stray)])
    assert _state(ingest) == before == _rebuilt(con)


def test_an_error_after_the_commit_leaves_memory_equal_to_the_stored_batch(on_a: tuple) -> None:
    con, ingest, blocks = on_a
    _fail_at("after")
    with pytest.raises(RuntimeError, match="injected"):
        ingest.add_batch(_batch(blocks, 37, 42))
    COMMIT_HOOKS.clear()
    assert ingest.tip.height == 42
    assert _state(ingest) == _rebuilt(con)


def test_a_block_the_tracker_applied_only_in_part_is_rebuilt_from_the_database(on_a: tuple,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    con, ingest, blocks = on_a
    before = _state(ingest)
    apply = ingest.tracker.apply

    def breaks_at_39(height: int, block: Block, spent: object = None) -> object:
        changes = apply(height, block, spent)
        if height == 39:
            raise MemoryError("injected")
        return changes

    monkeypatch.setattr(ingest.tracker, "apply", breaks_at_39)
    with pytest.raises(MemoryError):
        ingest.add_batch(_batch(blocks, 37, 42))
    assert _state(ingest) == before == _rebuilt(con)


def test_the_tracker_read_back_in_height_ranges_is_the_one_the_blocks_built(
        branch_a: ChainBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A restart reads the unspent cohort outputs range by range of creation height (each range's
    # spends anti-joined on their own). Ranges of 1 block holding 3 outputs or more: ~40 ranges,
    # with outputs spent in the block that made them and outputs spent blocks later.
    con, ingest = _open(tmp_path / "r.duckdb")
    _add(ingest, branch_a.blocks, 0)
    built = _state(ingest)
    monkeypatch.setattr(ingest_module, "RELOAD_CHUNK_OUTPUTS", 3)
    monkeypatch.setattr(ingest_module, "RELOAD_BUCKET_BLOCKS", 1)
    assert len(ingest_module._height_ranges(con, 3)) >= 30
    assert _rebuilt(con) == built
    assert len(built[4]) > 30          # unspent cohort outputs compared, not two empty sets
    con.close()
