"""A damaged blocks directory through the real CLI: every valid block stored, the damage reported
(in the summary and in `status`), and a non-zero exit when the chain may be short.

Real mainnet blocks 0–438 (tests/data/blkfiles), damaged as the attacks in the hardening issue did.
Expected heights follow from where the damage sits: a lost block h leaves the chain at h − 1 and
makes h + 1 … 438 orphans.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from minerwatch.cli import main
from minerwatch.cli.chain_cmds import EXIT_DAMAGED_FILES

BLK = Path(__file__).parent / "data" / "blkfiles" / "mainnet-heights-0-438.dat"
MAGIC = bytes.fromhex("f9beb4d9")


def _records() -> list[bytes]:
    data, out, pos = BLK.read_bytes(), [], 0
    while pos < len(data):
        (size,) = struct.unpack_from("<I", data, pos + 4)
        out.append(data[pos:pos + 8 + size])
        pos += 8 + size
    return out


RECORDS = _records()


def _sync(blocks: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["sync", "--blocks-dir", str(blocks), "--db", str(db), "--workers", "1"])
    return code, capsys.readouterr().err


def _status(db: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["status", "--db", str(db), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _write(tmp_path: Path, data: bytes) -> Path:
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    (blocks / "blk00000.dat").write_bytes(data)
    return blocks


def test_zeroed_magic_keeps_every_block_before_and_reports_the_rest(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    damaged = list(RECORDS)
    damaged[200] = bytes(4) + damaged[200][4:]
    at = sum(map(len, RECORDS[:200]))
    blocks = _write(tmp_path, b"".join(damaged))
    db = tmp_path / "m.duckdb"
    code, err = _sync(blocks, db, capsys)
    # Before: "synced 200 blocks", exit 0, and 238 blocks ignored without a word.
    assert code == EXIT_DAMAGED_FILES
    assert "synced 200 blocks; tip 199" in err
    assert "0 stale, 238 orphan and 0 invalid blocks set aside" in err
    assert f"blk00000.dat: {len(RECORDS[200]):,} bytes at byte {at:,} (a record whose magic is zeroed)" in err
    assert "error: the blocks directory is damaged" in err and "hint: re-copy" in err
    st = _status(db, capsys)
    assert st["tip_height"] == 199 and st["blocks"] == 200
    report = st["blocks_dir_report"]
    assert report["damaged"] and report["orphan_blocks"] == 238
    assert report["skipped"] == [{"file": "blk00000.dat", "offset": at, "bytes": len(RECORDS[200]),
                                  "reason": "a record whose magic is zeroed", "may_hold_block": True}]
    capsys.readouterr()
    assert main(["status", "--db", str(db)]) == 0
    assert "238 orphan" in capsys.readouterr().out


def test_zero_bytes_between_records_lose_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _write(tmp_path, b"".join(RECORDS[:200]) + bytes(64) + b"".join(RECORDS[200:]))
    db = tmp_path / "m.duckdb"
    code, err = _sync(blocks, db, capsys)
    # Before: the zeros ended the file and 239 blocks were dropped; now all 439 are stored, and the
    # 64 zero bytes (which cannot have held a block) are reported without failing the sync.
    assert code == 0 and "synced 439 blocks; tip 438" in err
    assert "64 bytes at byte" in err and "zero bytes between records" in err
    assert _status(db, capsys)["blocks_dir_report"]["damaged"] is False


def test_a_later_blk_file_is_still_read_after_damage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    # blk00000: 0–199, then garbage where 200's head was; blk00001: 200–438 intact.
    (blocks / "blk00000.dat").write_bytes(b"".join(RECORDS[:200]) + b"\xde\xad" * 40)
    (blocks / "blk00001.dat").write_bytes(b"".join(RECORDS[200:]))
    code, err = _sync(blocks, tmp_path / "m.duckdb", capsys)
    assert code == EXIT_DAMAGED_FILES   # 80 bytes that could have held a block: say so
    assert "synced 439 blocks; tip 438" in err and "80 bytes at byte" in err


def test_a_one_bit_flip_in_a_header_never_becomes_the_tip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damaged = list(RECORDS)
    rec = bytearray(damaged[200])
    rec[8 + 40] ^= 0x01          # a bit of the merkle root: the header hash no longer meets its target
    damaged[200] = bytes(rec)
    db = tmp_path / "m.duckdb"
    code, err = _sync(_write(tmp_path, b"".join(damaged)), db, capsys)
    # Before: the flipped block was stored as the tip (height 200) and 238 blocks dropped silently.
    assert code == EXIT_DAMAGED_FILES
    assert "synced 200 blocks; tip 199" in err and "238 orphan and 1 invalid blocks set aside" in err
    assert _status(db, capsys)["tip_height"] == 199


def test_a_fifo_named_like_a_blk_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _write(tmp_path, b"".join(RECORDS))
    os.mkfifo(blocks / "blk00001.dat")
    code, err = _sync(blocks, tmp_path / "m.duckdb", capsys)
    # Before: opening the FIFO waited for a writer forever.
    assert code == 1 and "blk00001.dat is not a regular file" in err and "hint:" in err
