"""`block` as a new user meets it: one vocabulary of JSON keys for a stored block and a block file,
the height of a pre-BIP34 block file from the database that holds it, and `status` in dates.

Real data: mainnet blocks 0–438 (tests/data/blkfiles), synced through the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from minerwatch.cli import main

BLK = Path(__file__).parent / "data" / "blkfiles" / "mainnet-heights-0-438.dat"
# Block 170: the first payment (Satoshi to Hal Finney), long before BIP34 (height 227,931), so its
# coinbase carries no height.
HASH_170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
TIP_HASH_438 = "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a"
# The keys both outputs share for the same facts (docs/cli.md, `minerwatch block`).
SHARED_KEYS = ("height", "hash", "prev_hash", "time_s", "time_utc", "bits", "version", "size_bytes", "weight_wu",
               "tx_count", "segwit_tx_count", "p2tr_output_count", "coinbase_value_sat", "coinbase_tag",
               "coinbase_payouts")


def _records(path: Path) -> dict[str, bytes]:
    """Block hash (display order) → serialized block, read here from the blk file's framing:
    4-byte magic, 4-byte little-endian size, the block; the hash is SHA256d of the 80-byte header."""
    data, out, i = path.read_bytes(), {}, 0
    while i + 8 <= len(data) and data[i:i + 4] == bytes.fromhex("f9beb4d9"):
        size = int.from_bytes(data[i + 4:i + 8], "little")
        raw = data[i + 8:i + 8 + size]
        out[hashlib.sha256(hashlib.sha256(raw[:80]).digest()).digest()[::-1].hex()] = raw
        i += 8 + size
    return out


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "blocks").mkdir()
    shutil.copy(BLK, folder / "blocks" / "blk00000.dat")
    db = folder / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(folder / "blocks"), "--db", str(db), "--workers", "1"]) == 0
    return db


@pytest.fixture(scope="module")
def block_170(tmp_path_factory: pytest.TempPathFactory) -> Path:
    f = tmp_path_factory.mktemp("file") / "block170.bin"
    f.write_bytes(_records(BLK)[HASH_170])
    return f


def test_stored_block_and_block_file_share_one_vocabulary(synced: Path, block_170: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    stored = _json(capsys, "block", "170", "--db", str(synced), "--json")
    from_file = _json(capsys, "block", "--file", str(block_170), "--db", str(synced), "--json")
    assert {k: stored[k] for k in SHARED_KEYS} == {k: from_file[k] for k in SHARED_KEYS}
    # One name per fact: no second spelling of the weight, the time or the pool's slug.
    for doc in (stored, from_file):
        assert not {"weight", "time", "time_iso"} & set(doc)
        assert not {"slug", "name"} & set(doc["pool"])
    assert stored["pool"]["pool_slug"] == from_file["pool"]["pool_slug"] == "unknown"
    # 2009-01-12 03:30:25 UTC is block 170's header time (1,231,731,025 s).
    assert from_file["time_s"] == 1_231_731_025 and from_file["time_utc"] == "2009-01-12T03:30:25Z"


def test_pre_bip34_block_file_gets_its_height_from_the_database(synced: Path, block_170: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    facts = _json(capsys, "block", "--file", str(block_170), "--db", str(synced), "--json")
    assert facts["height"] == 170 and facts["height_source"].startswith("the database")
    # No database: the file alone cannot tell, and says nothing false.
    facts = _json(capsys, "block", "--file", str(block_170), "--json")
    assert facts["height"] is None and facts["height_source"] is None
    # Plain output says the same.
    capsys.readouterr()
    assert main(["block", "--file", str(block_170), "--db", str(synced)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines() if " " in line.strip())
    assert lines["height"] == "170" and lines["height_source"].startswith("the database")


def test_status_prints_dates(synced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Block 438's header time, read from its 80-byte header (bytes 68–71, little-endian).
    tip_time_s = int.from_bytes(_records(BLK)[TIP_HASH_438][68:72], "little")
    when = datetime.fromtimestamp(tip_time_s, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert _json(capsys, "status", "--db", str(synced), "--json")["tip_time_s"] == tip_time_s
    capsys.readouterr()
    assert main(["status", "--db", str(synced)]) == 0
    out = capsys.readouterr().out
    assert f"tip_time                 {when}\n" in out and str(tip_time_s) not in out
