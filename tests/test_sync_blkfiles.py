"""Sync from real blk files (mainnet heights 0–438) through the real CLI into a real DuckDB file."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.block import parse_block
from minerwatch.chain.builder import ChainBuilder, h20, key65, p2pk, p2wpkh
from minerwatch.chain.txbuild import op_return
from minerwatch.cli import main
from minerwatch.networks import get_network

from crash_support import kill_at_random_moments
from db_dump import differences, dump

BLK = Path(__file__).parent / "data" / "blkfiles"
GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"


@pytest.fixture()
def blocks_dir(tmp_path: Path) -> Path:
    d = tmp_path / "blocks"
    d.mkdir()
    shutil.copy(BLK / "mainnet-heights-0-438.dat", d / "blk00000.dat")
    return d


def _run(*args: str) -> int:
    return main(list(args))


def test_sync_status_and_block(blocks_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.duckdb"
    assert _run("sync", "--blocks-dir", str(blocks_dir), "--db", str(db), "--workers", "1") == 0
    capsys.readouterr()
    assert _run("status", "--db", str(db), "--json") == 0
    st = json.loads(capsys.readouterr().out)
    assert st["network"] == "mainnet" and st["blocks"] == 439 and st["tip_height"] == 438
    assert st["tip_hash"] == "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a"
    assert st["schema_version"] >= 1 and st["db_path"] == str(db)
    assert _run("block", "170", "--db", str(db), "--json") == 0
    b = json.loads(capsys.readouterr().out)
    # Height 170: the first block with a payment (Satoshi → Hal Finney), 2 transactions.
    assert b["hash"] == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
    assert b["tx_count"] == 2 and b["size_bytes"] == 490 and b["weight_wu"] == 4 * 490
    assert b["time_utc"] == "2009-01-12T03:30:25Z" and b["bits"] == "0x1d00ffff" and b["version"] == 1
    # Every block to 438 has bits 0x1d00ffff, whose work is 2^256 / (target + 1) = 4,295,032,833;
    # 171 blocks (0..170) → chainwork 734,450,614,443 (Core's getblockheader shows 0xab00ab00ab).
    assert b["chainwork"] == 171 * 4_295_032_833 == 0xAB00AB00AB
    assert b["subsidy_sat"] == 50 * 10**8 and b["fees_sat"] == 0 and b["unclaimed_sat"] == 0
    assert b["coinbase_payouts"][0]["address"].startswith("pk:04d46c4968bde028")
    assert _run("block", GENESIS, "--db", str(db), "--json") == 0
    assert json.loads(capsys.readouterr().out)["height"] == 0


def _independent_zero_hop_reserve(path: Path) -> tuple[int, int]:
    """Reserve of the coinbase-receiving scripts, from a full UTXO set built here with plain dicts:
    (value of all unspent outputs paying to any script that ever received a coinbase output,
     the same without the genesis coinbase, which the protocol never lets anyone spend)."""
    data = path.read_bytes()
    blocks, pos = [], 0
    while pos < len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        blocks.append(parse_block(data[pos + 8:pos + 8 + size]))
        pos += 8 + size
    by_prev = {b.header.prev_hash: b for b in blocks}
    chain = [next(b for b in blocks if b.header.prev_hash == bytes(32))]
    while chain[-1].hash in by_prev:
        chain.append(by_prev[chain[-1].hash])
    utxo: dict[tuple[bytes, int], tuple[tuple[int, bytes], int]] = {}
    coinbase_scripts: set[tuple[int, bytes]] = set()
    for b in chain:
        for t, prev, vout in zip(b.in_tx, b.in_prev_txid, b.in_prev_vout):
            del utxo[(prev, vout)]
        for t, vout, value, stype, payload in zip(b.out_tx, b.out_vout, b.out_value_sat, b.out_type, b.out_payload):
            utxo[(b.txids[t], vout)] = ((stype, payload), value)
            if t == 0:
                coinbase_scripts.add((stype, payload))
    total = sum(v for s, v in utxo.values() if s in coinbase_scripts)
    return total, total - 50 * 10**8


def test_zero_hop_reserve_equals_independent_count(blocks_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    assert _run("sync", "--blocks-dir", str(blocks_dir), "--db", str(db), "--workers", "1") == 0
    with_genesis, without_genesis = _independent_zero_hop_reserve(BLK / "mainnet-heights-0-438.dat")
    # 439 coinbases × 50 BTC = 21,950 BTC, less what the coinbase keys paid to other keys by height
    # 438 — all from block 9's key: 10 BTC to Hal Finney at 170, then 10 at 181, 1 at 182, 1 at 183
    # and 10 at 248 (change back to the same key each time): 21,950 − 32 = 21,918 BTC.
    assert with_genesis == 2_191_800_000_000 and without_genesis == 2_186_800_000_000
    con = duckdb.connect(str(db), read_only=True)
    # The genesis coinbase is counted: its key holds it, even though it can never move.
    reserve = con.execute("SELECT reserve_sat FROM daily_miner_flows WHERE cohort = '0hop' ORDER BY day DESC LIMIT 1"
                          ).fetchone()[0]
    assert reserve == with_genesis


def _cohort_chain() -> list[bytes]:
    """A regtest chain whose cohorts move: pools paid by coinbases pay miners (1-hop), a coinbase of
    40 outputs (P2Pool-style), bare keys, an output spent in the block that creates it, and four
    blocks of ~1.1 MB (a 1 MB non-standard script each), so that a read spans several 4 MiB chunks."""
    b = ChainBuilder("regtest")
    pool, solo = p2wpkh(h20("pool")), p2pk(key65("solo"))
    miners = [p2wpkh(h20(f"miner{i}")) for i in range(40)]
    b.mine(tag="/pool/", payouts=[(pool, None)])
    b.mine(tag="solo", payouts=[(solo, None)])
    b.mine(tag="p2pool", payouts=[(m, 100_000_000) for m in miners] + [(pool, None)])
    for _ in range(100):
        b.mine(tag="/pool/", payouts=[(pool, None)])
    payout = b.spend([b.coinbase_outpoint(1)], [(m, 100_000_000) for m in miners[:10]], fee_sat=10_000)
    b.spend([payout.outpoint(0)], [(p2wpkh(h20("exchange")), 99_990_000)], fee_sat=10_000)
    b.spend([b.coinbase_outpoint(2)], [(solo, 1_000_000_000), (op_return(b"note"), 0)], fee_sat=10_000)
    b.mine(tag="/pool/", payouts=[(pool, None)])
    for i in range(4):
        b.spend([b.coinbase_outpoint(10 + i)], [(bytes([0x51]) * 1_000_000, 1_000)], fee_sat=10_000)
        b.mine(tag="/pool/", payouts=[(pool, None)])
    b.spend(miners[3], [(p2wpkh(h20("exchange")), 50_000_000)], fee_sat=10_000)
    b.mine(tag="/pool/", payouts=[(pool, None)])
    return b.blocks


def test_two_workers_store_exactly_what_one_stores(blocks_dir: Path, tmp_path: Path) -> None:
    """With workers the blocks' facts are computed and their columns packed in other processes."""
    built = tmp_path / "built"
    write_blk_files(built, get_network("regtest"), _cohort_chain())
    for source, network in ((blocks_dir, "mainnet"), (built, "regtest")):
        dumps = []
        for workers in ("1", "2"):
            db = tmp_path / f"{network}-{workers}.duckdb"
            assert _run("sync", "--blocks-dir", str(source), "--db", str(db), "--network", network,
                        "--workers", workers, "--batch-blocks", "7") == 0
            dumps.append(dump(db))
        assert dumps[0] == dumps[1]
        # Built chain: the payout (10 miners + change), a miner's sale (1), the solo key's spend (3),
        # the four big transactions (2 each), a miner's second sale (2); 110 coinbases, 40 more
        # outputs in the P2Pool-style one, 6 segwit commitments.
        assert len(dumps[0]["miner_spend_outputs"]) == (12 if network == "mainnet" else 11 + 1 + 3 + 8 + 2)
        assert len(dumps[0]["coinbase_outputs"]) == (439 if network == "mainnet" else 110 + 40 + 6)


def _sync_cmd(blocks_dir: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "minerwatch", "sync", "--blocks-dir", str(blocks_dir), "--db", str(db),
            "--workers", "1", "--batch-blocks", "7"]


def test_kill_9_at_any_moment_then_resume_gives_the_same_database(blocks_dir: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.duckdb"
    subprocess.run(_sync_cmd(blocks_dir, reference), check=True, capture_output=True)
    expected = dump(reference)
    assert len(expected["blocks"]) == 439
    # Kill a real sync process at seeded random moments of its run (start-up, mid-ingest, during the
    # metric refresh), then sync again: the result must equal the uninterrupted database. A kill
    # that comes after the run ended is tried again earlier, so a loaded machine cannot make the
    # test pass without killing anything.
    landed = kill_at_random_moments(lambda db: _sync_cmd(blocks_dir, db)[3:], None, tmp_path, expected,
                                    seed=20261128, kills=4)
    assert landed == 4, "the kills must land while the sync is running"


def test_ctrl_c_at_any_moment_says_interrupted_and_resumes_to_the_same_database(blocks_dir: Path,
                                                                                tmp_path: Path) -> None:
    reference = tmp_path / "reference.duckdb"
    subprocess.run(_sync_cmd(blocks_dir, reference), check=True, capture_output=True)
    expected = dump(reference)
    rng = random.Random(20261128)
    interrupted = tries = 0
    latest = 3.0
    # SIGINT (what Ctrl-C sends) at seeded random moments, with one parser process (the ingest
    # then also runs Python inside DuckDB calls, where the interrupt comes back as DuckDB's error):
    # the exit is 130 with one line saying so, never a traceback, and the next sync completes the
    # database exactly. A signal that lands after the run ended is tried again earlier.
    while interrupted < 4 and tries < 12:
        tries += 1
        db = tmp_path / f"int-{tries}.duckdb"
        proc = subprocess.Popen(_sync_cmd(blocks_dir, db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.5, latest))
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=120)[1]
        if proc.returncode == 0 or "synced 439 blocks" in err:
            # The run had ended (the signal came after its last line, while the process exited):
            # aim earlier next time.
            latest = max(0.8, latest * 0.7)
        else:
            interrupted += 1
            # 130, or ended by the SIGINT itself (a second interrupt while exiting): what a shell
            # reports as 130 either way
            assert proc.returncode in (130, -signal.SIGINT), err
            # (before the modules are loaded: "interrupted; nothing was written")
            assert "interrupted; " in err and "Traceback" not in err, err
        subprocess.run(_sync_cmd(blocks_dir, db), check=True, capture_output=True)
        diff = differences(dump(db), expected)
        assert not diff, f"after an interrupt (try {tries}): " + "; ".join(diff)
    assert interrupted == 4, "the interrupts must land while the sync is running"


def test_resume_is_a_no_op_and_wrong_network_is_refused(blocks_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.duckdb"
    assert _run("sync", "--blocks-dir", str(blocks_dir), "--db", str(db), "--workers", "1") == 0
    before = dump(db)
    assert _run("sync", "--blocks-dir", str(blocks_dir), "--db", str(db), "--workers", "1") == 0
    assert dump(db) == before
    capsys.readouterr()
    assert _run("sync", "--blocks-dir", str(blocks_dir), "--db", str(db), "--network", "testnet3") == 1
    err = capsys.readouterr().err
    assert "holds mainnet data, not testnet3" in err and "hint:" in err
