"""A crash at every commit point of a sync, then a resume: the database must equal an uninterrupted one.

tests/crash_driver.py runs the real CLI in a child process and ends it like a kill -9 at the Nth
commit point, just ahead of a COMMIT or just behind it. Each test walks N = 1, 2, … until a run
completes, so every commit of the run is reached; after each crash a plain sync resumes, and every
table must equal the uninterrupted sync's (tests/db_dump.py). Real SIGKILLs at seeded random moments
cover the points between commits. The RPC variant is in tests/test_crash_resume_rpc.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crash_support import crash_at_every_commit, kill_at_random_moments
from db_dump import differences, dump
from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, h20, key65, p2pk, p2wpkh
from minerwatch.chain.revchain import write_rev_files
from minerwatch.cli import main
from minerwatch.networks import get_network

BLK = Path(__file__).parent / "data" / "blkfiles"
REGTEST = get_network("regtest")
B, F = 100_000_000, 10_000
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
POOLS = [("/AntPool/", p2wpkh(h20("poolA"))), ("Foundry USA Pool", p2wpkh(h20("poolB"))),
         ("solo", p2pk(key65("satoshi")))]
MINERS = [p2wpkh(h20(f"miner{i}")) for i in range(4)]
EXCHANGE = p2wpkh(h20("exchange"))


def _mine_with_flows(b: ChainBuilder, upto: int, salt: int) -> None:
    """Mine to height `upto`: blocks every 3 h (8 a day) from three payers, and from height 4 on a
    payout of the coinbase three blocks back to a miner and an exchange (0-hop → 1-hop flows)."""
    while b.height < upto:
        h = b.height + 1
        tag, script = POOLS[(h + salt) % 3]
        if h > 4:
            b.spend([b.coinbase_outpoint(h - 3)], [(MINERS[(h + salt) % 4], 10 * B), (EXCHANGE, (h % 7 + 1) * B)],
                    fee_sat=F)
        if h > 12 and h % 5 == salt % 5:
            b.spend(MINERS[(h + salt) % 4], [(EXCHANGE, 3 * B)], fee_sat=F)
        b.mine(tag=tag, payouts=[(script, None)], time_s=T0 + h * 3 * 3600 + salt)


def _story() -> tuple[list[bytes], list[bytes]]:
    """Branch A: heights 0–52. Branch B: A's blocks to 40, then its own 41–58 (other payers and
    payouts): six blocks more of the same work, so B wins."""
    a = ChainBuilder("regtest", start_time_s=T0)
    _mine_with_flows(a, 40, 0)
    b = a.fork(40)
    _mine_with_flows(a, 52, 0)
    _mine_with_flows(b, 58, 1)
    return a.blocks, b.blocks


def _sync_args(blocks_dir: Path, db: Path, batch: int, network: str = "mainnet") -> list[str]:
    return ["sync", "--blocks-dir", str(blocks_dir), "--db", str(db), "--workers", "1", "--batch-blocks", str(batch),
            "--network", network]


@pytest.mark.parametrize("undo", [False, True], ids=["blk-only", "with-rev-files"])
def test_plain_sync_resumes_from_a_crash_at_every_commit(tmp_path: Path, undo: bool) -> None:
    # With rev files beside the blk files the sync decides spends from the undo records and keeps no
    # outputs (the path a node's datadir takes): its commits must resume as exactly as the other's.
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(BLK / "mainnet-heights-0-438.dat", blocks / "blk00000.dat")
    if undo:
        write_rev_files(blocks, get_network("mainnet"))
    reference = tmp_path / "reference.duckdb"
    args_for = lambda db: _sync_args(blocks, db, 60)  # noqa: E731
    assert main(args_for(reference)) == 0
    expected = dump(reference)
    assert len(expected["blocks"]) == 439
    _assert_undo_path(reference, undo)
    # Commit points: one per migration, 8 batches of ≤ 60 blocks, the metric refresh; each ahead
    # of and behind its COMMIT.
    assert crash_at_every_commit(args_for, None, tmp_path, expected) >= 2 * (8 + 1)


def _assert_undo_path(db: Path, undo: bool) -> None:
    """The sync of `db` took the undo-file path exactly when `undo`: only that path knows every
    block's true fees (inputs − outputs) — the other knows no spent output outside the cohorts."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        known, blocks = con.execute("SELECT count(fees_paid_sat), count(*) FROM blocks WHERE height > 0").fetchone()
    assert (known == blocks) if undo else (known == 0), (known, blocks)


@pytest.fixture(scope="module", params=[False, True], ids=["blk-only", "with-rev-files"])
def reorg(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> tuple[Path, Path, dict]:
    """(blocks dir of branch B, a database synced to branch A, the database A then B gives); with
    rev files beside both branches' blk files when the parameter says so (each branch's own records,
    as a node that followed only that branch has them: the rollback is the database's own undo)."""
    work = tmp_path_factory.mktemp("reorg")
    branch_a, branch_b = _story()
    write_blk_files(work / "a", REGTEST, branch_a, rev_files=request.param)
    write_blk_files(work / "b", REGTEST, branch_b, max_file_bytes=8_000, rev_files=request.param)
    on_a = work / "on-a.duckdb"
    assert main(_sync_args(work / "a", on_a, 5, "regtest")) == 0
    reference = work / "reference.duckdb"
    shutil.copy(on_a, reference)
    assert main(_sync_args(work / "b", reference, 5, "regtest")) == 0
    expected = dump(reference)
    assert sorted(r[0] for r in expected["blocks"]) == list(range(59))
    _assert_undo_path(reference, request.param)
    return work / "b", on_a, expected


def test_reorganising_blocks_dir_sync_resumes_from_a_crash_at_every_commit(
        reorg: tuple[Path, Path, dict], tmp_path: Path) -> None:
    branch_b, on_a, expected = reorg
    # Commit points: the rollback to height 40, 4 batches of ≤ 5 blocks (41–58), the refresh.
    assert crash_at_every_commit(lambda db: _sync_args(branch_b, db, 5, "regtest"), on_a, tmp_path, expected) >= 2 * 6


def test_reorganising_blocks_dir_sync_resumes_from_kills_at_random_moments(
        reorg: tuple[Path, Path, dict], tmp_path: Path) -> None:
    branch_b, on_a, expected = reorg
    landed = kill_at_random_moments(lambda db: _sync_args(branch_b, db, 2, "regtest"), on_a, tmp_path, expected,
                                    seed=20261128, kills=4)
    assert landed == 4, "the kills must land while the sync is running"


def test_a_rollback_with_no_new_block_leaves_no_derived_row_above_the_tip(
        reorg: tuple[Path, Path, dict], tmp_path: Path) -> None:
    from minerwatch.store import connect
    from minerwatch.sync import Syncer

    branch_b, on_a, _ = reorg
    db = tmp_path / "rolled.duckdb"
    shutil.copy(on_a, db)
    con = connect(db)
    syncer = Syncer(con, REGTEST)
    syncer.rollback_to(40)          # a reorg whose new branch has not arrived yet
    syncer.refresh_metrics()
    con.close()
    # Heights 0–40 are branch A's and branch B's alike: a sync that stopped at 40 is the expectation.
    reference = tmp_path / "to-40.duckdb"
    assert main(_sync_args(branch_b.parent / "a", reference, 5, "regtest") + ["--stop-height", "40"]) == 0
    ignore = ("blocks_dir_report",)
    assert not differences(dump(db, ignore_meta=ignore), dump(reference, ignore_meta=ignore))
