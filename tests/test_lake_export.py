"""`minerwatch lake export`: the chain as Parquet, checked against the parser on real and constructed
chains; an export killed mid-part and resumed, and one appended to, equal an uninterrupted export."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from minerwatch.chain.blkfiles import iter_blocks, write_blk_files
from minerwatch.chain.script import SCRIPT_TYPE_NAMES, script_id
from minerwatch.cli import main
from minerwatch.lake.layout import open_lake, read_manifest
from minerwatch.lake.schema import TABLES
from minerwatch.networks import get_network

from test_miner_flows_constructed import REGTEST, _build

BLK = Path(__file__).parent / "data" / "blkfiles"
MAINNET = get_network("mainnet")


@pytest.fixture(scope="module")
def real_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("lake-real") / "blocks"
    d.mkdir()
    shutil.copy(BLK / "mainnet-heights-0-438.dat", d / "blk00000.dat")
    return d


def _export(lake: Path, blocks: Path, *more: str) -> None:
    assert main(["lake", "export", str(lake), "--blocks-dir", str(blocks), "--workers", "1", *more]) == 0


def _tables(lake: Path) -> dict[str, list[dict]]:
    """Every table of the lake as rows, read through the manifest, in key order."""
    fs, root = open_lake(str(lake))
    m = read_manifest(fs, root)
    assert m is not None
    return {t: sorted(pq.read_table([f"{root}/{f}" for f in m.files(t)]).to_pylist(),
                      key=lambda r: tuple(r[k] for k in ("height", "tx_index", "vout", "vin") if k in r))
            for t in TABLES}


def _assert_equals_parser(lake: Path, blocks: Path, network) -> None:  # noqa: ANN001
    """Every block's txids, outputs and inputs in the lake are the parser's, row for row."""
    t = _tables(lake)
    parsed = list(iter_blocks(blocks, network))
    assert [r["hash"] for r in t["blocks"]] == [b.hash[::-1].hex() for _, _, b in parsed]
    assert [(r["height"], r["txid"]) for r in t["transactions"]] == [
        (h, x[::-1].hex()) for h, _, b in parsed for x in b.txids]
    assert [(r["height"], r["tx_index"], r["vout"], r["value_sat"], r["script_type"], r["payload"], r["script_id"])
            for r in t["outputs"]] == [
        (h, tx, vout, value, SCRIPT_TYPE_NAMES[st], payload, script_id(st, payload))
        for h, _, b in parsed
        for tx, vout, value, st, payload in zip(b.out_tx, b.out_vout, b.out_value_sat, b.out_type, b.out_payload)]
    assert [(r["height"], r["tx_index"], r["prev_txid"], r["prev_vout"]) for r in t["inputs"]] == [
        (h, tx, prev[::-1].hex(), vout)
        for h, _, b in parsed for tx, prev, vout in zip(b.in_tx, b.in_prev_txid, b.in_prev_vout)]


def test_real_blocks_round_trip(real_blocks: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _export(lake, real_blocks, "--part-blocks", "100")
    _assert_equals_parser(lake, real_blocks, MAINNET)
    fs, root = open_lake(str(lake))
    m = read_manifest(fs, root)
    # 439 blocks in parts of 100: 0–99, …, 300–399, and 400–438 (the tip, short of its range).
    assert [(p.first_height, p.last_height) for p in m.parts] == [(0, 99), (100, 199), (200, 299), (300, 399),
                                                                   (400, 438)]
    assert m.parts[-1].last_hash == "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a"
    con = duckdb.connect()
    files = [f"{root}/{f}" for f in m.files("inputs")]
    outs = [f"{root}/{f}" for f in m.files("outputs")]
    # An input's prevout is a join of inputs and outputs. Block 170's one payment (Satoshi to Hal
    # Finney) spends the 50 BTC coinbase of block 9, which pays a bare public key.
    row = con.execute("SELECT o.height, o.value_sat, o.script_type FROM read_parquet(?) i "
                      "JOIN read_parquet(?) o ON o.txid = i.prev_txid AND o.vout = i.prev_vout WHERE i.height = 170",
                      [files, outs]).fetchall()
    assert row == [(9, 50 * 10**8, "p2pk")]
    # The coinbase payouts are the coinbase's outputs: one 50 BTC payout per block, 439 of them.
    assert con.execute("SELECT count(*), sum(value_sat) FROM read_parquet(?)",
                       [[f"{root}/{f}" for f in m.files("coinbase_payouts")]]).fetchone() == (439, 439 * 50 * 10**8)


def test_constructed_chain_round_trip(tmp_path: Path) -> None:
    chain, _ = _build()
    write_blk_files(tmp_path / "blocks", REGTEST, chain.blocks)
    lake = tmp_path / "lake"
    _export(lake, tmp_path / "blocks", "--network", "regtest")
    _assert_equals_parser(lake, tmp_path / "blocks", REGTEST)
    t = _tables(lake)
    # Four payments (tx1–tx4), each with one input; tx1 spends the coinbase of height 1.
    assert len(t["inputs"]) == 4
    coinbase_1 = next(r["txid"] for r in t["transactions"] if r["height"] == 1)
    assert (t["inputs"][0]["height"], t["inputs"][0]["prev_txid"], t["inputs"][0]["prev_vout"]) == (3, coinbase_1, 0)


_KILLED_EXPORT = """
import os, sys
from pathlib import Path
from minerwatch.lake.export import blk_source, export
from minerwatch.networks import get_network
net = get_network("mainnet")
def die(height):
    if height == 250:
        os._exit(9)     # as kill -9: no clean-up, no flush
export(sys.argv[1], net, blk_source(Path(sys.argv[2]), net), part_blocks=100, on_block=die)
"""


def test_killed_export_resumes(real_blocks: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    _export(whole, real_blocks, "--part-blocks", "100")
    lake = tmp_path / "lake"
    r = subprocess.run([sys.executable, "-c", _KILLED_EXPORT, str(lake), str(real_blocks)], timeout=120)
    assert r.returncode == 9
    fs, root = open_lake(str(lake))
    # Killed at height 250: the parts 0–99 and 100–199 are complete and listed; 200–… was half written.
    assert [p.last_height for p in read_manifest(fs, root).parts] == [99, 199]
    assert list((lake / "outputs").glob("*.partial"))
    _export(lake, real_blocks)
    assert not list(lake.rglob("*.partial"))
    assert _tables(lake) == _tables(whole)
    assert (lake / "manifest.json").read_text() == (whole / "manifest.json").read_text()


def test_append_as_the_chain_grows(real_blocks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = tmp_path / "whole"
    _export(whole, real_blocks, "--part-blocks", "100")
    lake = tmp_path / "lake"
    _export(lake, real_blocks, "--part-blocks", "100", "--stop-height", "250")
    _export(lake, real_blocks, "--stop-height", "399")
    _export(lake, real_blocks)
    assert _tables(lake) == _tables(whole)
    assert (lake / "manifest.json").read_text() == (whole / "manifest.json").read_text()
    # The short part 200–250 was replaced by 200–299: no file of it is left.
    assert not list(lake.rglob("h0000000200-0000000250.parquet"))
    # A lake keeps its part size, and its network.
    capsys.readouterr()
    assert main(["lake", "export", str(lake), "--blocks-dir", str(real_blocks), "--part-blocks", "50"]) == 1
    assert "parts of 100 blocks" in capsys.readouterr().err
    assert main(["lake", "export", str(lake), "--blocks-dir", str(real_blocks), "--network", "regtest"]) == 1
    assert "holds mainnet blocks" in capsys.readouterr().err


def test_export_from_the_node_equals_the_blk_export(real_blocks: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The node's answers (getblockhash, getblock HASH 0, over real JSON-RPC) give the same lake as the
    blk files; a node that has grown is appended to."""
    from fake_node import FakeNode, read_blk_file

    blocks = read_blk_file(BLK / "mainnet-heights-0-438.dat")
    whole = tmp_path / "whole"
    _export(whole, real_blocks, "--part-blocks", "100")
    monkeypatch.setenv("MINERWATCH_RPC_PASSWORD", "x")
    lake = tmp_path / "lake"
    node = FakeNode(blocks[:301])
    try:
        assert main(["lake", "export", str(lake), "--rpc", node.url, "--rpc-user", "u", "--part-blocks", "100"]) == 0
    finally:
        node.stop()
    node = FakeNode(blocks)
    try:
        assert main(["lake", "export", str(lake), "--rpc", node.url, "--rpc-user", "u"]) == 0
    finally:
        node.stop()
    assert _tables(lake) == _tables(whole)
    assert (lake / "manifest.json").read_text() == (whole / "manifest.json").read_text()


def test_reorg_of_the_short_last_part_is_followed_deeper_is_refused(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Parts of 2 blocks over a regtest chain A of heights 0–4: [0–1], [2–3] and the short [4]. A branch
    that replaces height 4 is taken (the short part is written again anyway); one that forks below
    height 4 would leave the kept part [2–3] on another chain, and is refused."""
    from minerwatch.chain.builder import ChainBuilder

    a = ChainBuilder("regtest", start_time_s=1_700_000_000)
    for _ in range(4):
        a.mine()
    b, c = a.fork(3), a.fork(2)       # b: a's blocks to 3, c: to 2
    for _ in range(3):
        b.mine(tag="branch b")
        c.mine(tag="branch c")
    for name, chain in (("a", a), ("b", b), ("c", c)):
        write_blk_files(tmp_path / name, REGTEST, chain.blocks)
    lake = tmp_path / "lake"
    _export(lake, tmp_path / "a", "--network", "regtest", "--part-blocks", "2")
    _export(lake, tmp_path / "b", "--network", "regtest")
    whole = tmp_path / "whole"
    _export(whole, tmp_path / "b", "--network", "regtest", "--part-blocks", "2")
    assert _tables(lake) == _tables(whole)
    capsys.readouterr()
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "c"), "--network", "regtest",
                 "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "the lake's block 5 is" in err and "the chain was reorganised below the lake's tip" in err
    # A source that ends below the lake's kept blocks is refused too (a's blocks end at 4).
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "a"), "--network", "regtest",
                 "--workers", "1"]) == 1
    assert "the source ends below the lake's tip 6: it has no block 5" in capsys.readouterr().err
    assert _tables(lake) == _tables(whole)
