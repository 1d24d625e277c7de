"""A pruned node (bcoin regtest, pruning for real): every header and the blocks the node still has
are synced without an error, and each series says where it starts and why."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from minerwatch.cli import main
from minerwatch.metrics.registry import Query, read

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
# Keep the last 50 blocks, prune above height 20: with a tip at 400, the node keeps blocks 0–20 and
# 351–400 and says `pruneheight` 350 (bcoin states one below its first kept block; Bitcoin Core
# states the first). minerwatch takes the blocks from the first the node serves: 351.
KEEP, AFTER, TIP, FIRST = 50, 20, 400, 351


@pytest.fixture()
def pruned_node(regtest_node_factory, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    node = regtest_node_factory(prune_keep=KEEP, prune_after=AFTER)
    monkeypatch.setenv("MINERWATCH_RPC_PASSWORD", node.api_key)
    return node


def test_pruned_node_syncs_every_header_and_the_blocks_it_has(pruned_node, tmp_path: Path,  # noqa: ANN001
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    node = pruned_node
    # 400 blocks 600 s apart from 2024-01-01 00:00 (heights 1–400): 144 a day; height 351 is on
    # Jan 3 (heights 289–432 would be Jan 3).
    node.mine(TIP, start_time_s=T0)
    info = node.rpc("getblockchaininfo")
    assert info["pruned"] is True and info["pruneheight"] == TIP - KEEP
    db = tmp_path / "pruned.duckdb"
    assert main(["sync", "--db", str(db), "--network", "regtest", "--rpc", node.url]) == 0
    con = duckdb.connect(str(db), read_only=True)
    # Blocks from the first the node has; headers for every height below it.
    assert con.execute("SELECT min(height), max(height), count(*) FROM blocks").fetchone() == (FIRST, TIP, TIP - FIRST + 1)
    assert con.execute("SELECT min(height), max(height) FROM headers").fetchone() == (0, FIRST - 1)
    # The stored chainwork continues the headers': regtest's work is 2 per block (target 2^255 …),
    # so the block at 351 carries (351 + 1) × 2.
    assert con.execute("SELECT chainwork FROM blocks WHERE height = ?", [FIRST]).fetchone()[0] == (FIRST + 1) * 2
    # Header series cover every day: Jan 1 has heights 1–144 — all headers only — and 144 blocks.
    blocks = dict(read(con, "blocks", Query()).points)
    assert blocks[date(2024, 1, 1)] == 144 and blocks[date(2024, 1, 2)] == 144
    hashrate = read(con, "hashrate_ehs", Query())
    assert hashrate.values[-1][0] == date(2024, 1, 3) and not hashrate.warnings
    # Revenue: a gap wherever a day holds a height without its block (Jan 1, 2, and Jan 3, whose
    # heights 289–350 are headers only), never a zero or a partial sum, and the reader says why.
    revenue = read(con, "revenue_btc", Query())
    assert dict(revenue.points)[date(2024, 1, 2)] is None
    assert dict(revenue.points)[date(2024, 1, 3)] is None
    assert any("they start at height 351 (the node is pruned (prune height 350): it no longer has the blocks "
               "below)" in w
               for w in revenue.warnings)
    # The 0-hop reserve counts coinbases from 351 on only: said, with the reason.
    reserve = read(con, "miner_reserve_btc", Query())
    assert any("the 0-hop reserve needs every block since 2009" in w and "reads too low" in w
               for w in reserve.warnings)
    con.close()
    # `status` says which series cover what, and why.
    capsys.readouterr()
    assert main(["status", "--db", str(db), "--json"]) == 0
    series = json.loads(capsys.readouterr().out)["series"]
    assert (series["headers"]["from_height"], series["headers"]["through_height"], series["headers"]["complete"]) \
        == (0, TIP, True)
    assert (series["blocks"]["from_height"], series["blocks"]["complete"]) == (FIRST, False)
    assert "pruned" in series["blocks"]["summary"]
    assert series["genesis"]["complete"] is False


def test_a_database_behind_the_prune_height_is_told_so(pruned_node, tmp_path: Path,  # noqa: ANN001
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    node = pruned_node
    node.mine(60, start_time_s=T0)
    db = tmp_path / "behind.duckdb"
    # Nothing is pruned yet (60 − 50 ≤ 20): the sync takes every block.
    assert main(["sync", "--db", str(db), "--network", "regtest", "--rpc", node.url]) == 0
    node.mine(TIP - 60, start_time_s=T0 + 60 * 600)
    capsys.readouterr()
    assert main(["sync", "--db", str(db), "--network", "regtest", "--rpc", node.url]) == 1
    err = capsys.readouterr().err
    assert "the database's blocks end at height 60, but the node is pruned and keeps blocks from height 350 on" in err
    assert "hint: sync into a new --db" in err
