"""A reorganising sync from a real node (bcoin, regtest), crashed at every commit point and killed at
random moments: each resume must equal the uninterrupted sync, table by table (tests/crash_support.py).

The node's chain: 101 blocks of one pool (coinbases mature after 100), a wallet payment (a 0-hop
outflow), 4 blocks of another; the database is synced to that. Then the node replaces heights
102–105 by 8 blocks of a third pool, so the sync under test rolls back to height 101 and stores
102–109: the rollback, its batches and the metric refresh are every commit point there is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crash_support import crash_at_every_commit, kill_at_random_moments
from db_dump import dump
from minerwatch.cli import main

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z


def _args(url: str, db: Path) -> list[str]:
    return ["sync", "--rpc", url, "--db", str(db), "--network", "regtest", "--batch-blocks", "3"]


def test_reorganising_rpc_sync_resumes_from_a_crash_at_every_commit_and_random_kills(
        regtest_node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    node = regtest_node
    monkeypatch.setenv("MINERWATCH_RPC_PASSWORD", node.api_key)   # children inherit it
    node.mine(101, tag="/AntPool/", start_time_s=T0)
    node.send(node.new_address(), 7 * 10**8)
    old = node.mine(4, tag="Foundry USA Pool", start_time_s=T0 + 101 * 600)
    on_old = tmp_path / "on-old.duckdb"
    assert main(_args(node.url, on_old)) == 0
    node.invalidate(old[0])
    node.mine(8, tag="/ViaBTC/", start_time_s=T0 + 101 * 600 + 45)
    assert node.height() == 109
    reference = tmp_path / "reference.duckdb"
    shutil.copy(on_old, reference)
    assert main(_args(node.url, reference)) == 0
    expected = dump(reference)
    assert sorted(h for h, *_ in expected["blocks"]) == list(range(110))
    assert {r[1] for r in expected["blocks"]} == {node.rpc("getblockhash", h) for h in range(110)}
    args_for = lambda db: _args(node.url, db)  # noqa: E731
    # Commit points: the rollback to 101, three batches (102–104, 105–107, 108–109), the refresh.
    assert crash_at_every_commit(args_for, on_old, tmp_path, expected) >= 2 * 5
    assert kill_at_random_moments(args_for, on_old, tmp_path, expected, seed=925_000, kills=3) == 3
