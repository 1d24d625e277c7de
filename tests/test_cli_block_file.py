"""`minerwatch block --file`: facts of a raw block, in binary, hex or one blk record, against INDEX.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from minerwatch.cli import main

DATA = Path(__file__).parent / "data" / "blocks"
ROWS = {r["file"]: r for r in csv.DictReader(open(DATA / "INDEX.csv"))}


def _facts(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert main(["block", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", ["mainnet-830000.bin", "mainnet-169482.bin", "mainnet-702861.bin"])
def test_binary_hex_and_blk_record_agree_with_index(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = ROWS[name]
    raw = (DATA / name).read_bytes()
    hex_file = tmp_path / "block.hex"
    hex_file.write_text(raw.hex() + "\n")
    blk_file = tmp_path / "one.blk"
    blk_file.write_bytes(bytes.fromhex("f9beb4d9") + len(raw).to_bytes(4, "little") + raw)
    results = [_facts(capsys, "--file", str(p)) for p in (DATA / name, hex_file, blk_file)]
    assert results[0] == results[1] == results[2]
    f = results[0]
    assert f["hash"] == row["hash"] and f["prev_hash"] == row["prev_hash"]
    assert f["time_utc"] == row["time_utc"] and f["bits"] == row["bits"][:2] + row["bits"][2:].rjust(8, "0")
    assert f["version"] == int(row["version"], 16)
    assert (f["tx_count"], f["size_bytes"]) == (int(row["tx_count"]), int(row["size_bytes"]))
    assert (f["segwit_tx_count"], f["p2tr_output_count"]) == (int(row["segwit_tx_count"]), int(row["p2tr_output_count"]))
    assert f["coinbase_value_sat"] == int(row["coinbase_value_sat"])
    if row["height"] and int(row["height"]) >= 227_931:
        assert f["height"] == int(row["height"])
    assert f["pool"]["pool_name"] == (row["pool_per_mempool_pools_v2"] or "Unknown")
    assert f["weight_wu"] <= 4_000_000 and f["coinbase_tag"] is not None


def test_testnet_block_needs_its_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = (DATA / "testnet3-924634.bin").read_bytes()
    blk = tmp_path / "t.blk"
    blk.write_bytes(bytes.fromhex("0b110907") + len(raw).to_bytes(4, "little") + raw)
    capsys.readouterr()
    assert main(["block", "--file", str(blk), "--json"]) == 1
    assert "testnet3" in capsys.readouterr().err
    f = _facts(capsys, "--file", str(blk), "--network", "testnet3")
    assert f["hash"] == ROWS["testnet3-924634.bin"]["hash"]
    # testnet addresses: bech32 with hrp "tb", base58 with versions 0x6f (m/n) and 0xc4 (2)
    addresses = [p["address"] for p in f["coinbase_payouts"] if p["address"]]
    assert addresses and all(a.startswith("tb1") or a[0] in "mn2" for a in addresses)


def test_truncated_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes((DATA / "mainnet-169482.bin").read_bytes()[:4000])
    capsys.readouterr()
    assert main(["block", "--file", str(cut), "--json"]) == 1
    err = capsys.readouterr().err
    assert "cut.bin" in err and "byte" in err and "hint:" in err
