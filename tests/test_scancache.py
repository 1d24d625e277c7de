"""The scan of a blocks directory kept between runs (store/scancache.py): a restart reads again only
the blk files that changed, and what it finds equals a fresh scan in every case, damage included.

The blocks are the real mainnet blocks 0–438 (tests/data/blkfiles), written XOR-obfuscated into
30,000-byte blk files (heights 0–133 in the first), as the blk-file tests do.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from minerwatch.chain import blkscan
from minerwatch.store import scancache
from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.blkscan import BlkIndex, scan
from minerwatch.cli import main
from minerwatch.networks import get_network

DATA = Path(__file__).parent / "data" / "blkfiles"
MAINNET = get_network("mainnet")
XOR_KEY = bytes.fromhex("a1b2c3d4e5f60718")


def _real_blocks() -> list[bytes]:
    data = (DATA / "mainnet-heights-0-438.dat").read_bytes()
    blocks, pos = [], 0
    while pos < len(data):
        (size,) = struct.unpack_from("<I", data, pos + 4)
        blocks.append(data[pos + 8:pos + 8 + size])
        pos += 8 + size
    return blocks


REAL = _real_blocks()


def _same(a: BlkIndex, b: BlkIndex) -> None:
    assert a.records == b.records
    assert a.skipped == b.skipped
    assert a.incomplete_tail == b.incomplete_tail
    assert a.files == b.files and a.xor_key == b.xor_key


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files blkscan really reads, in order."""
    names: list[str] = []
    real = blkscan.scan_file

    def scan_file(path: Path, *args: object) -> int | None:
        names.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(blkscan, "scan_file", scan_file)
    return names


def test_a_second_scan_reads_no_file_and_finds_the_same(tmp_path: Path, counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    paths = write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    first = scancache.scan(blocks, MAINNET, cache)
    assert counted == [p.name for p in paths] and cache.exists()
    counted.clear()
    again = scancache.scan(blocks, MAINNET, cache)
    assert counted == []
    _same(again, scan(blocks, MAINNET))
    _same(first, again)
    assert len(again.records) == 439                      # heights 0–438, every record


def test_a_grown_newest_file_and_new_files_are_read_again(tmp_path: Path, counted: list[str]) -> None:
    blocks, full, cache = tmp_path / "blocks", tmp_path / "full", tmp_path / "db.blkscan"
    write_blk_files(blocks, MAINNET, REAL[:300], max_file_bytes=30_000, xor_key=XOR_KEY)
    before = sorted(p.name for p in blocks.glob("blk*.dat"))
    scancache.scan(blocks, MAINNET, cache)
    # The node writes on to block 438: its newest file grows and new files follow; the older
    # files are left as they are (the same bytes and modification time).
    write_blk_files(full, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    changed = []
    for path in sorted(full.glob("blk*.dat")):
        mine = blocks / path.name
        if not mine.exists() or mine.read_bytes() != path.read_bytes():
            mine.write_bytes(path.read_bytes())
            changed.append(path.name)
    assert changed[0] == before[-1] and len(changed) > 1
    counted.clear()
    index = scancache.scan(blocks, MAINNET, cache)
    assert counted == changed
    _same(index, scan(blocks, MAINNET))
    assert len(index.records) == 439


def test_only_the_changed_file_is_read_again(tmp_path: Path, counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    paths = write_blk_files(blocks, MAINNET, REAL[:400], max_file_bytes=30_000, xor_key=XOR_KEY)
    scancache.scan(blocks, MAINNET, cache)
    newest = paths[-1]
    # The node appends blocks 400–438 to its newest file (the same bytes a Core node writes:
    # magic, size, block, XORed from the file offset on).
    data = bytearray(newest.read_bytes())
    for raw in REAL[400:]:
        record = MAINNET.magic + struct.pack("<I", len(raw)) + raw
        at = len(data)
        data += bytes(b ^ XOR_KEY[(at + i) % 8] for i, b in enumerate(record))
    newest.write_bytes(bytes(data))
    counted.clear()
    index = scancache.scan(blocks, MAINNET, cache)
    assert counted == [newest.name]
    _same(index, scan(blocks, MAINNET))
    assert len(index.records) == 439


def test_damage_after_the_scan_is_found_as_a_fresh_scan_finds_it(tmp_path: Path, counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    scancache.scan(blocks, MAINNET, cache)
    middle = blocks / "blk00001.dat"
    data = bytearray(middle.read_bytes())
    (first_size,) = struct.unpack("<I", bytes(b ^ XOR_KEY[4 + i] for i, b in enumerate(data[4:8])))
    at = 8 + first_size                                   # the second record's magic, zeroed
    data[at:at + 4] = bytes(4)
    stat = middle.stat()
    middle.write_bytes(bytes(data))
    # Even with its old size and modification time put back, the changed head is noticed only if
    # it is the first or last record's: this damage is in the second, so the time must differ.
    os.utime(middle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    counted.clear()
    index = scancache.scan(blocks, MAINNET, cache)
    assert counted == ["blk00001.dat"]
    fresh = scan(blocks, MAINNET)
    _same(index, fresh)
    assert [k.file_name for k in index.skipped] == ["blk00001.dat"] and len(index.records) == 438


def test_a_rewritten_first_record_with_the_old_stamp_is_read_again(tmp_path: Path, counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    scancache.scan(blocks, MAINNET, cache)
    first = blocks / "blk00000.dat"
    data = bytearray(first.read_bytes())
    data[8 + 4] ^= 0x01                                   # a bit of genesis' prev-hash field
    stat = first.stat()
    first.write_bytes(bytes(data))
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    counted.clear()
    index = scancache.scan(blocks, MAINNET, cache)
    assert counted == ["blk00000.dat"]
    _same(index, scan(blocks, MAINNET))


@pytest.mark.parametrize("spoil", ["garbage", "empty", "other network", "other directory", "other key"])
def test_a_cache_that_does_not_fit_is_not_used(tmp_path: Path, counted: list[str], spoil: str) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    paths = write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    scancache.scan(blocks, MAINNET, cache)
    if spoil == "garbage":
        cache.write_bytes(b"ARROW1" + os.urandom(200))
    elif spoil == "empty":
        cache.write_bytes(b"")
    elif spoil == "other network":
        scancache.save(cache, blocks, "testnet4", XOR_KEY, scancache.load(cache, blocks, "mainnet", XOR_KEY))
    elif spoil == "other directory":
        scancache.save(cache, tmp_path / "elsewhere", "mainnet", XOR_KEY,
                       scancache.load(cache, blocks, "mainnet", XOR_KEY))
    else:
        scancache.save(cache, blocks, "mainnet", bytes(8), scancache.load(cache, blocks, "mainnet", XOR_KEY))
    counted.clear()
    index = scancache.scan(blocks, MAINNET, cache)
    assert counted == [p.name for p in paths]
    _same(index, scan(blocks, MAINNET))


def test_sync_keeps_the_scan_beside_the_database_and_uses_it(tmp_path: Path, counted: list[str]) -> None:
    blocks, db = tmp_path / "blocks", tmp_path / "mw.duckdb"
    write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    args = ["sync", "--blocks-dir", str(blocks), "--db", str(db), "--network", "mainnet", "--workers", "1"]
    assert main(args) == 0
    assert (tmp_path / "mw.duckdb.blkscan").exists()
    counted.clear()
    assert main(args) == 0
    assert counted == []
