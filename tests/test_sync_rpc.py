"""Sync from a real node (bcoin, regtest) over JSON-RPC: several pools, payments, a reorg of depth 3,
`--follow`; and the same raw blocks written as blk files (plain and XOR-obfuscated, with the stale
branch inside) give the same database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from minerwatch.chain.blkfiles import write_blk_files
from db_dump import dump
from minerwatch.cli import main
from minerwatch.networks import get_network

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
REGTEST = get_network("regtest")


def _dump(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows; the record of what a blocks directory held (for `status`) is left out, as
    an RPC-only sync has none."""
    return dump(db, ignore_meta=("blocks_dir_report",))


def _sync(db: Path, *extra: str) -> int:
    return main(["sync", "--db", str(db), "--network", "regtest", *extra])


@pytest.fixture()
def password(regtest_node, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: ANN001
    monkeypatch.setenv("MINERWATCH_RPC_PASSWORD", regtest_node.api_key)
    return regtest_node.api_key


def test_rpc_reorg_and_blk_files_give_one_database(regtest_node, password: str, tmp_path: Path,  # noqa: ANN001
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    node = regtest_node
    hashes = node.mine(101, tag="/AntPool/", start_time_s=T0)
    other = node.new_address()
    node.send(other, 7 * 10**8)  # spends a matured coinbase of the wallet: a real payment
    hashes += node.mine(4, tag="Foundry USA Pool", start_time_s=T0 + 101 * 600)
    db = tmp_path / "rpc.duckdb"
    assert _sync(db, "--rpc", node.url) == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT max(height), count(*) FROM blocks").fetchone() == (105, 106)
    tags = dict(con.execute("SELECT height, coinbase_tag FROM blocks WHERE height IN (1, 105)").fetchall())
    assert "/AntPool/" in tags[1] and "Foundry USA Pool" in tags[105]
    # The wallet's payment is a 0-hop outflow (or internal, if it only moved between wallet keys);
    # either way a spend of a coinbase was recorded.
    assert con.execute("SELECT count(*) FROM miner_spends WHERE height = 102").fetchone()[0] >= 1
    con.close()

    # A reorg of depth 3: the last three blocks are replaced by four of another pool.
    stale = hashes[-3:]
    stale_raw = [node.raw_block(h) for h in stale]
    node.invalidate(stale[0])
    node.mine(4, tag="/ViaBTC/", start_time_s=T0 + 103 * 600 + 30)
    assert node.height() == 106
    capsys.readouterr()
    assert _sync(db, "--rpc", node.url) == 0
    con = duckdb.connect(str(db), read_only=True)
    stored = dict(con.execute("SELECT height, hash FROM blocks").fetchall())
    con.close()
    node_hashes = {h: node.rpc("getblockhash", h) for h in range(107)}
    assert stored == node_hashes
    assert not set(stale) & set(stored.values())

    # The same chain synced from scratch over RPC equals the reorganised database…
    fresh = tmp_path / "fresh.duckdb"
    assert _sync(fresh, "--rpc", node.url) == 0
    reference = _dump(db)
    assert _dump(fresh) == reference
    # …and so do blk files of the node's raw blocks, in download order with the stale branch
    # inside, plain and XOR-obfuscated.
    raws = [node.raw_block(node_hashes[h]) for h in range(107)]
    for name, key in (("plain", None), ("xor", bytes.fromhex("a1b2c3d4e5f60718"))):
        blocks_dir = tmp_path / name
        write_blk_files(blocks_dir, REGTEST, raws[:104] + stale_raw + raws[104:], xor_key=key, max_file_bytes=20_000)
        out = tmp_path / f"{name}.duckdb"
        assert _sync(out, "--blocks-dir", str(blocks_dir), "--workers", "2") == 0
        assert _dump(out) == reference, f"blk files ({name}) differ from the RPC sync"


def test_follow_keeps_up_with_the_tip_and_a_reorg(regtest_node, password: str, tmp_path: Path) -> None:  # noqa: ANN001
    node = regtest_node
    node.mine(10, tag="/AntPool/", start_time_s=T0)
    db = tmp_path / "follow.duckdb"
    env = {**os.environ, "MINERWATCH_RPC_PASSWORD": password}
    proc = subprocess.Popen([sys.executable, "-m", "minerwatch", "sync", "--db", str(db), "--network", "regtest",
                             "--rpc", node.url, "--follow", "--poll-seconds", "0.2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        node.mine(3, tag="/AntPool/", start_time_s=T0 + 10 * 600)
        time.sleep(2)
        # While the follower waits for the next block the file is free: another process (a
        # dashboard, `status`) can read it. Retry briefly in case a batch is being written.
        for _ in range(20):
            st = subprocess.run([sys.executable, "-m", "minerwatch", "status", "--db", str(db), "--json"],
                                capture_output=True, text=True)
            if st.returncode == 0:
                break
            time.sleep(0.3)
        assert st.returncode == 0, st.stderr
        assert json.loads(st.stdout)["tip_height"] == 13
        tip = node.best_hash()
        node.invalidate(node.rpc("getblockhash", 11))
        node.mine(4, tag="/ViaBTC/", start_time_s=T0 + 11 * 600 + 30)
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    # SIGINT (or SIGTERM) ends a follower at a batch boundary, cleanly.
    assert proc.returncode == 0 and "stopped on request" in err, err
    assert "secret" not in err and password not in err
    con = duckdb.connect(str(db), read_only=True)
    stored = dict(con.execute("SELECT height, hash FROM blocks").fetchall())
    con.close()
    assert stored == {h: node.rpc("getblockhash", h) for h in range(15)}
    assert tip not in stored.values()


def test_wrong_network_and_dead_node_give_clear_errors(regtest_node, password: str, tmp_path: Path,  # noqa: ANN001
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    node = regtest_node
    node.mine(1)
    assert main(["sync", "--db", str(tmp_path / "m.duckdb"), "--network", "mainnet", "--rpc", node.url]) == 1
    err = capsys.readouterr().err
    assert "regtest" in err and "hint:" in err and password not in err
    url = node.url
    node.kill()
    assert main(["sync", "--db", str(tmp_path / "r.duckdb"), "--network", "regtest", "--rpc", url]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "hint:" in err and "Traceback" not in err and password not in err


def test_frozen_node_gives_up_at_rpc_timeout(regtest_node, password: str, tmp_path: Path,  # noqa: ANN001
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # SIGSTOP: the node's port still accepts connections, but nothing answers. Without a bound on
    # the whole call, six attempts of 60 s and their backoff took 376 s to say so.
    node = regtest_node
    node.freeze()
    try:
        assert _sync(tmp_path / "t.duckdb", "--rpc", node.url, "--rpc-timeout", "1") == 1
    finally:
        node.thaw()
    assert capsys.readouterr().err.splitlines()[-2:] == [
        f"error: the node at 127.0.0.1:{node.port} did not answer getblockchaininfo within 1 s",
        "hint: a busy or slow node (or a slow link) may need longer: raise --rpc-timeout SECONDS (now 1); "
        "otherwise check that the node is running and that --rpc names its RPC port",
    ]
