"""The first 439 real mainnet blocks through `minerwatch sync`, then the network metrics, checked
against counts made here directly from the blk file's headers."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from minerwatch.cli import main

BLK = Path(__file__).parent / "data" / "blkfiles" / "mainnet-heights-0-438.dat"
WORK_AT_DIFFICULTY_1 = (1 << 256) // (0xFFFF * 256 ** 26 + 1)   # 4,295,032,833 hashes per block


def _headers_in_height_order() -> list[tuple[int, int]]:
    """(height, header time) read straight from the blk records (magic, size, block), ordered
    by following each header's prev-hash link from the genesis block."""
    data = BLK.read_bytes()
    by_prev: dict[bytes, tuple[bytes, int]] = {}
    pos = 0
    while pos + 8 <= len(data):
        magic, size = struct.unpack_from("<4sI", data, pos)
        assert magic == bytes.fromhex("f9beb4d9")
        header = data[pos + 8:pos + 88]
        block_hash = hashlib.sha256(hashlib.sha256(header).digest()).digest()
        by_prev[header[4:36]] = (block_hash, struct.unpack_from("<I", header, 68)[0])
        pos += 8 + size
    out, prev = [], bytes(32)
    while prev in by_prev:
        prev, t = by_prev[prev]
        out.append((len(out), t))
    return out


def test_synced_first_blocks_give_exact_daily_hashrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headers = _headers_in_height_order()
    assert len(headers) == 439
    blocks_dir = tmp_path / "blocks"
    blocks_dir.mkdir()
    shutil.copy(BLK, blocks_dir / "blk00000.dat")
    db = str(tmp_path / "chain.duckdb")
    assert main(["sync", "--blocks-dir", str(blocks_dir), "--db", db]) == 0
    capsys.readouterr()
    assert main(["metrics", "hashrate_ehs", "--db", db, "--format", "json"]) == 0
    got = {r["date"]: r["value"] for r in json.loads(capsys.readouterr().out)["rows"]}
    # Every block of January 2009 is at difficulty 1: a day's estimate is its block count × 2^32
    # hashes / 86,400 s (Coin Metrics' definition with the mean difficulty 1).
    per_day = Counter((date(1970, 1, 1) + timedelta(days=t // 86_400)).isoformat() for _, t in headers)
    assert set(got) == set(per_day)
    for day, n in per_day.items():
        assert got[day] == pytest.approx(n * 2**32 / 86_400 / 1e18, rel=1e-12), day
    assert per_day["2009-01-03"] == 1        # the genesis block alone; the next block came 6 days later
    assert main(["metrics", "hashrate_chainwork_ehs", "--db", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    # At the tip (height 438, the last day's close): 120 blocks of work at difficulty 1 over the
    # spread of the last 121 header times.
    times = [t for _, t in headers[438 - 120:]]
    expect = 120 * WORK_AT_DIFFICULTY_1 / (max(times) - min(times)) / 1e18
    assert rows[-1]["value"] == pytest.approx(expect, rel=1e-12)
