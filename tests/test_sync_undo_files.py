"""A sync from a blocks directory with the node's undo files (rev*.dat) stores exactly what a sync
of the same blk files without them stores, holding no unspent cohort outputs in memory, and adds
each block's true fees.

The directory is the kernel_chain scenario (tests/kernel_chain.py), which Bitcoin Core's own code
(py-bitcoinkernel) validated and wrote, blk and rev files both, while blocks raced: its rev files
hold stale blocks' records beside the chain's, so the records are found by their checksums.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from db_dump import differences, dump
from kernel_chain import KernelChain, build
from minerwatch.store import bind_network, connect
from minerwatch.sync import Syncer
from minerwatch.networks import get_network

REGTEST = get_network("regtest")


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> KernelChain:
    return build(tmp_path_factory.mktemp("core"))


# The columns of the true fees (blocks, the daily table and the view of both): known only with undo data.
TRUE_FEES = ("fees_paid_sat",)


def _sync(db: Path, blocks_dir: Path, workers: int = 1) -> Syncer:
    con = connect(db)
    bind_network(con, REGTEST.name, db)
    syncer = Syncer(con, REGTEST)
    syncer.sync_blocks_dir(blocks_dir, workers=workers)
    return syncer


def _without_rev_files(core: KernelChain, tmp: Path) -> Path:
    plain = tmp / "no-rev"
    plain.mkdir()
    for f in core.blocks_dir.iterdir():
        if f.name.startswith("blk") or f.name == "xor.dat":
            shutil.copy(f, plain / f.name)
    return plain


@pytest.mark.parametrize("workers", [1, 2])
def test_undo_files_give_the_same_database_without_holding_outputs(core: KernelChain, tmp_path: Path,
                                                                   workers: int) -> None:
    lean = _sync(tmp_path / "lean.duckdb", core.blocks_dir, workers)
    assert lean.ingest.tracker.utxos is None          # no block needed the outputs
    lean.con.close()
    held = _sync(tmp_path / "held.duckdb", _without_rev_files(core, tmp_path), workers)
    assert held.ingest.tracker.utxos is not None
    held.con.close()
    # Equal in every table but the true fees, which only the undo data gives (checked below).
    got, want = dump(tmp_path / "lean.duckdb", leave_out=TRUE_FEES), dump(tmp_path / "held.duckdb", leave_out=TRUE_FEES)
    fees_lean = [r for r in got["blocks"]]
    assert differences(got, want) == []
    con = duckdb.connect(str(tmp_path / "lean.duckdb"), read_only=True)
    # The true fees: every block of the scenario is mined by a builder whose coinbase claims the
    # subsidy plus every fee, so inputs − outputs equals what the coinbase claimed above the subsidy.
    rows = con.execute("SELECT height, fees_sat, fees_paid_sat FROM blocks ORDER BY height").fetchall()
    assert rows and all(paid == claimed for _, claimed, paid in rows if _ > 0), rows
    assert any(paid > 0 for _, _, paid in rows)
    assert len(fees_lean) == len(rows)
    con.close()


def _cut_rev_file(core: KernelChain, tmp_path: Path) -> Path:
    """A copy of the blocks directory whose rev file stops in the middle of a record, as when the
    node is still writing it (or a copy stopped short)."""
    cut = tmp_path / "cut"
    shutil.copytree(core.blocks_dir, cut)
    rev = cut / "rev00000.dat"
    data = rev.read_bytes().rstrip(b"\0")     # Core's preallocated space is plain zeros, never obfuscated
    rev.write_bytes(data[:len(data) * 2 // 3])
    return cut


def test_blocks_near_the_tip_without_undo_records_wait_for_the_node(core: KernelChain, tmp_path: Path) -> None:
    # Within 1,024 blocks of the tip a missing record means the node has not connected the block
    # yet: the sync stops before it, and a later sync (the records written) goes on from there.
    cut = _cut_rev_file(core, tmp_path)
    first = _sync(tmp_path / "db.duckdb", cut)
    waits = first.unconnected_from
    assert waits is not None and first.ingest.tip.height == waits - 1
    assert first.ingest.tracker.utxos is None
    first.con.close()
    shutil.copy(core.blocks_dir / "rev00000.dat", cut / "rev00000.dat")
    again = _sync(tmp_path / "db.duckdb", cut)
    assert again.unconnected_from is None and again.ingest.tracker.utxos is None
    again.con.close()
    held = _sync(tmp_path / "held.duckdb", _without_rev_files(core, tmp_path))
    held.con.close()
    got, want = dump(tmp_path / "db.duckdb", leave_out=TRUE_FEES), dump(tmp_path / "held.duckdb", leave_out=TRUE_FEES)
    assert differences(got, want) == []


def test_blocks_whose_undo_records_are_missing_fall_back_to_the_stored_outputs(
        core: KernelChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Deeper than the node's download window (here: a window of 0 blocks), a missing or damaged
    # record is read the slow way: from the first such block the ingest loads the unspent cohort
    # outputs from the database and looks the spends up there. The database is the same either way.
    monkeypatch.setattr("minerwatch.sync.UNCONNECTED_WINDOW_BLOCKS", 0)
    cut = _cut_rev_file(core, tmp_path)
    lean = _sync(tmp_path / "cut.duckdb", cut)
    assert lean.ingest.tracker.utxos is not None
    lean.con.close()
    held = _sync(tmp_path / "held.duckdb", _without_rev_files(core, tmp_path))
    held.con.close()
    got, want = dump(tmp_path / "cut.duckdb", leave_out=TRUE_FEES), dump(tmp_path / "held.duckdb", leave_out=TRUE_FEES)
    paid = [r for r in duckdb.connect(str(tmp_path / "cut.duckdb"), read_only=True).execute(
        "SELECT fees_paid_sat FROM blocks WHERE height > 0 ORDER BY height").fetchall()]
    assert differences(got, want) == []
    assert (None,) in paid and any(p != (None,) for p in paid)


def test_a_database_tracked_before_the_prejoin_table_keeps_its_outputs(core: KernelChain, tmp_path: Path) -> None:
    # A database migrated from before store/sql/250 carries the mark: its earlier join blocks'
    # untracked outputs were never recorded, so it never decides spends from undo data.
    db = tmp_path / "old.duckdb"
    con = connect(db)
    bind_network(con, REGTEST.name, db)
    con.execute("INSERT INTO meta VALUES ('prejoin_complete_from_height', '0')")
    syncer = Syncer(con, REGTEST)
    syncer.sync_blocks_dir(core.blocks_dir)
    assert syncer.ingest.tracker.utxos is not None
    assert con.execute("SELECT count(*) FROM blocks WHERE fees_paid_sat IS NOT NULL").fetchone() == (0,)
    con.close()


def _getblock3(block_hash: bytes, coins: list, tx_count: int) -> dict:
    """Bitcoin Core's `getblock HASH 3` answer, as much of it as the sync reads: per transaction its
    inputs' prevouts (value in BTC with 8 decimals, scriptPubKey hex, height, generated)."""
    txs: list[dict] = [{"vin": [{"coinbase": "00"}]}]
    for tx in coins:
        txs.append({"vin": [{"prevout": {"generated": c.is_coinbase, "height": c.height,
                                         "value": float(f"{c.value_sat / 1e8:.8f}"),
                                         "scriptPubKey": {"hex": c.script.hex()}}} for c in tx]})
    assert len(txs) == tx_count
    return {"hash": block_hash[::-1].hex(), "tx": txs}


def test_prevouts_over_rpc_give_what_the_undo_files_give(core: KernelChain) -> None:
    # Following a node over JSON-RPC, each new block's spent outputs come from `getblock HASH 3`.
    # No Bitcoin Core node runs here: its answers are built from the spent outputs Core itself
    # returns through libbitcoinkernel, and must decode to the columns the rev files decode to.
    from minerwatch.chain.blkfiles import best_chain, iter_blocks, scan
    from minerwatch.chain.undo import UndoReader, contested_parents, scan_undo, spent_from_rpc

    index = scan(core.blocks_dir, REGTEST)
    contested = contested_parents(index)
    compared = 0
    with UndoReader(scan_undo(core.blocks_dir, REGTEST)) as reader:
        for _, rec, block in iter_blocks(core.blocks_dir, REGTEST, start_height=1, chain=best_chain(index, REGTEST)):
            answer = _getblock3(block.hash, core.core_spent_outputs(block.hash), block.tx_count)
            rpc = spent_from_rpc(answer, block)
            files = reader.spent_columns(block, rec.file_number, block.header.prev_hash in contested)
            assert rpc is not None and files is not None
            assert (list(rpc.value_sat), list(rpc.height), rpc.script_type, rpc.payload, rpc.fees_paid_sat) == \
                   (list(files.value_sat), list(files.height), files.script_type, files.payload, files.fees_paid_sat)
            compared += len(rpc.payload)
    assert compared > 10
    # A node that gives no prevouts (before Core 23, or bcoin) answers without them: None.
    assert spent_from_rpc({"tx": [{"vin": [{"coinbase": "00"}]}, {"vin": [{"txid": "00" * 32, "vout": 0}]}]},
                          _a_block_with_one_spend(core)) is None


def _a_block_with_one_spend(core: KernelChain):
    from minerwatch.chain.blkfiles import iter_blocks

    return next(b for _, _, b in iter_blocks(core.blocks_dir, REGTEST, start_height=1) if b.tx_count == 2)
