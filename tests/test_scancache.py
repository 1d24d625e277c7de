"""The scans of a blocks directory kept between runs (store/scancache.py): a restart reads again only
the blk and rev files that changed, and what it finds equals a fresh scan in every case, damage
included.

The blocks are the real mainnet blocks 0–438 (tests/data/blkfiles), written XOR-obfuscated into
30,000-byte blk files (heights 0–133 in the first), as the blk-file tests do; their undo records
are written beside them as Core writes them (revchain, checked byte for byte against Core's own in
tests/test_revwrite.py): rev00000–rev00003.dat, 133, 126, 134 and 45 records (heights 1–438: the
genesis block is never connected), numbered like the blk files of their blocks.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from minerwatch.chain import blkscan, undoscan
from minerwatch.store import scancache
from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.blkscan import BlkIndex, scan
from minerwatch.chain.undoscan import UndoIndex, scan_undo
from minerwatch.cli import main
from minerwatch.errors import ParseError
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
    written = cache.read_bytes(), cache.stat().st_mtime_ns
    counted.clear()
    index = scancache.scan(blocks, MAINNET, cache)
    assert counted == [newest.name]
    _same(index, scan(blocks, MAINNET))
    assert len(index.records) == 439
    # Only the newest file changed: the cache is not written again, and the next start reads that
    # one file again (not the whole directory's records written at every start).
    assert (cache.read_bytes(), cache.stat().st_mtime_ns) == written
    counted.clear()
    _same(scancache.scan(blocks, MAINNET, cache), index)
    assert counted == [newest.name]


def test_blocks_written_into_preallocated_space_with_the_old_stamp_are_found(tmp_path: Path,
                                                                             counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    newest = write_blk_files(blocks, MAINNET, REAL[:400], max_file_bytes=30_000, xor_key=XOR_KEY,
                             preallocate_bytes=65_536)[-1]
    scancache.scan(blocks, MAINNET, cache)
    # Core preallocates blk files (16 MiB at a time) and writes the next blocks into the zeros:
    # the size stays, and two writes within the file system's time granularity leave the time as
    # it was. Here blocks 400–438 go in after the last record, and the old time is put back.
    last = scan(blocks, MAINNET).records[-1]
    data = bytearray(newest.read_bytes())
    at = last.offset + last.size_bytes
    for raw in REAL[400:]:
        record = MAINNET.magic + struct.pack("<I", len(raw)) + raw
        data[at:at + len(record)] = blkscan.xor_at(record, XOR_KEY, at)
        at += len(record)
    assert at < len(data)
    stat = newest.stat()
    newest.write_bytes(bytes(data))
    os.utime(newest, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    counted.clear()
    index = scancache.scan(blocks, MAINNET, cache)
    assert counted == [newest.name]
    _same(index, scan(blocks, MAINNET))
    assert len(index.records) == 439


def test_a_block_being_written_is_read_again_at_the_next_start(tmp_path: Path, counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    newest = write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)[-1]
    newest.write_bytes(newest.read_bytes()[:-100])        # the last block is not all there yet
    first = scancache.scan(blocks, MAINNET, cache)
    assert first.incomplete_tail is not None and len(first.records) == 438
    counted.clear()
    _same(scancache.scan(blocks, MAINNET, cache), first)
    assert counted == [newest.name]


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


def _respoil(kind: scancache.Kind, cache: Path, blocks: Path, spoil: str) -> None:
    """Write the cache's own scans back as made for another network, directory or key."""
    scans = scancache.load(kind, cache, blocks, "mainnet", XOR_KEY)
    assert scans                                          # the cache fitted before
    where, network, key = {"other network": (blocks, "testnet4", XOR_KEY),
                           "other directory": (blocks.parent / "elsewhere", "mainnet", XOR_KEY),
                           "other key": (blocks, "mainnet", bytes(8))}[spoil]
    scancache.save(kind, cache, where, network, key, scans)


@pytest.mark.parametrize("spoil", ["garbage", "empty", "other network", "other directory", "other key"])
def test_a_cache_that_does_not_fit_is_not_used(tmp_path: Path, counted: list[str], spoil: str) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.blkscan"
    paths = write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    scancache.scan(blocks, MAINNET, cache)
    if spoil == "garbage":
        cache.write_bytes(b"ARROW1" + os.urandom(200))
    elif spoil == "empty":
        cache.write_bytes(b"")
    else:
        _respoil(scancache.BLK, cache, blocks, spoil)
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


# --- the undo files (rev*.dat) --------------------------------------------------------------------


@pytest.fixture()
def rev_counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the rev files undoscan really reads, in order."""
    names: list[str] = []
    real = undoscan.scan_file

    def scan_file(path: Path, *args: object) -> tuple[list[undoscan.UndoRecord], int | None]:
        names.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(undoscan, "scan_file", scan_file)
    return names


def _same_undo(a: UndoIndex, b: UndoIndex) -> None:
    assert a.records == b.records
    assert a.incomplete_tail == b.incomplete_tail
    assert a.files == b.files and a.xor_key == b.xor_key


def _with_rev(blocks: Path) -> list[Path]:
    """The real blocks' blk files and, beside them, their rev files; the rev files, oldest first."""
    write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY, rev_files=True)
    return sorted(blocks.glob("rev*.dat"))


def _fresh(blocks: Path, counted: list[str]) -> UndoIndex:
    """scan_undo without a cache, not counted as the cache's reads."""
    index = scan_undo(blocks, MAINNET)
    counted.clear()
    return index


def _record_ends(path: Path) -> list[int]:
    """Where each record of a rev file ends, from a fresh scan of that file alone."""
    records = undoscan.scan_rev_file(path, int(path.stem[3:]), MAINNET, XOR_KEY)
    return [r.offset + r.size_bytes + undoscan.CHECKSUM_BYTES for r in records]


def test_undo_a_second_scan_reads_no_file_and_finds_the_same(tmp_path: Path, rev_counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    revs = _with_rev(blocks)
    first = scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == [p.name for p in revs] and cache.exists()
    rev_counted.clear()
    again = scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == []
    _same_undo(first, again)
    _same_undo(again, _fresh(blocks, rev_counted))
    # Heights 1–438, one record each; the first file holds heights 1–133 of blk00000.dat's 0–133.
    assert [len(again.records[n]) for n in range(4)] == [133, 126, 134, 45]


@pytest.mark.parametrize("how", ["appended", "written into preallocated space, old stamp put back"])
def test_undo_records_the_node_adds_to_the_newest_file_are_found(tmp_path: Path, rev_counted: list[str],
                                                                  how: str) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    newest = _with_rev(blocks)[-1]
    full = newest.read_bytes()
    cut = _record_ends(newest)[19]                         # the file as it was after its 20th record
    if how == "appended":
        newest.write_bytes(full[:cut])
    else:
        # Core preallocates rev files 1 MiB at a time: later records go into zero bytes, and the
        # size does not change; here the time is put back too, so only the bytes tell.
        newest.write_bytes(full[:cut] + bytes(len(full) - cut + 4096))
    stat = newest.stat()
    assert len(scancache.scan_undo(blocks, MAINNET, cache).records[3]) == 20
    written = cache.read_bytes()
    if how == "appended":
        with open(newest, "ab") as f:
            f.write(full[cut:])
    else:
        with open(newest, "r+b") as f:
            f.seek(cut)
            f.write(full[cut:])
        os.utime(newest, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert newest.stat().st_size == stat.st_size
    rev_counted.clear()
    index = scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == [newest.name]
    _same_undo(index, _fresh(blocks, rev_counted))
    assert len(index.records[3]) == 45
    # Only the newest file changed: the cache is left as it was, and that file is read again next time.
    assert cache.read_bytes() == written
    assert scancache.scan_undo(blocks, MAINNET, cache).records == index.records and rev_counted == [newest.name]


def test_undo_a_new_file_is_read_and_the_one_before_it_again(tmp_path: Path, rev_counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    revs = _with_rev(blocks)
    held = revs[-1].read_bytes()
    revs[-1].unlink()
    scancache.scan_undo(blocks, MAINNET, cache)
    revs[-1].write_bytes(held)
    rev_counted.clear()
    index = scancache.scan_undo(blocks, MAINNET, cache)
    # rev00002.dat is no longer the newest (a record cut short at its end is damage now): read again.
    assert rev_counted == ["rev00002.dat", "rev00003.dat"]
    _same_undo(index, _fresh(blocks, rev_counted))
    assert scancache.scan_undo(blocks, MAINNET, cache).records == index.records and rev_counted == []


@pytest.mark.parametrize(("which", "read_again"), [(0, []), (3, ["rev00002.dat"])])
def test_undo_a_deleted_file_is_gone_from_the_scan(tmp_path: Path, rev_counted: list[str], which: int,
                                                   read_again: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    revs = _with_rev(blocks)
    scancache.scan_undo(blocks, MAINNET, cache)
    revs[which].unlink()                                  # pruned (the oldest), or lost (the newest)
    rev_counted.clear()
    index = scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == read_again and which not in index.records
    _same_undo(index, _fresh(blocks, rev_counted))


def test_undo_a_truncated_newest_file_ends_in_the_record_being_written(tmp_path: Path,
                                                                       rev_counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    newest = _with_rev(blocks)[-1]
    scancache.scan_undo(blocks, MAINNET, cache)
    ends = _record_ends(newest)
    newest.write_bytes(newest.read_bytes()[:ends[29] + 20])   # 20 bytes of the 31st record
    rev_counted.clear()
    index = scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == [newest.name]
    assert index.incomplete_tail == (3, ends[29]) and len(index.records[3]) == 30
    _same_undo(index, _fresh(blocks, rev_counted))
    # A scan that ended in a record being written is never trusted: the node finishes it next.
    scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == [newest.name]


def test_undo_damage_in_an_older_file_is_the_error_a_fresh_scan_gives(tmp_path: Path,
                                                                      rev_counted: list[str]) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    revs = _with_rev(blocks)
    scancache.scan_undo(blocks, MAINNET, cache)
    ends = _record_ends(revs[1])
    revs[1].write_bytes(revs[1].read_bytes()[:ends[-1] - 10])  # its last record cut by 10 bytes
    with pytest.raises(ParseError) as cached:
        scancache.scan_undo(blocks, MAINNET, cache)
    with pytest.raises(ParseError) as fresh:
        scan_undo(blocks, MAINNET)
    assert (cached.value.message, cached.value.source, cached.value.offset) == \
        (fresh.value.message, fresh.value.source, fresh.value.offset)
    assert "runs 10 bytes past the end of the file" in cached.value.message and cached.value.source == "rev00001.dat"


@pytest.mark.parametrize("time", ["new", "old put back"])
def test_undo_a_file_rewritten_with_the_same_size_is_read_again(tmp_path: Path, rev_counted: list[str],
                                                                time: str) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    revs = _with_rev(blocks)
    scancache.scan_undo(blocks, MAINNET, cache)
    # rev00001.dat holds the first spends (block 170 on); rewritten (as by -reindex) with its
    # records in another order: the first with a spend opens the file, same bytes, same size.
    path = revs[1]
    plain = blkscan.xor_at(path.read_bytes(), XOR_KEY, 0)
    starts = [0] + _record_ends(path)[:-1]
    records = [plain[a:b] for a, b in zip(starts, _record_ends(path))]
    first = next(i for i, r in enumerate(records) if len(r) > 8 + 1 + 32)   # a CBlockUndo of more than "00"
    rewritten = b"".join(records[first:] + records[:first])
    assert len(rewritten) == len(plain) and rewritten != plain
    stat = path.stat()
    path.write_bytes(blkscan.xor_at(rewritten, XOR_KEY, 0))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + (0 if time == "old put back" else 1_000_000)))
    rev_counted.clear()
    index = scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == ["rev00001.dat"]
    _same_undo(index, _fresh(blocks, rev_counted))
    assert index.records[1][0].tx_count == 1               # block 170's spend now opens the file


@pytest.mark.parametrize("spoil", ["garbage", "empty", "other network", "other directory", "other key",
                                   "the blk files' cache"])
def test_undo_a_cache_that_does_not_fit_is_not_used(tmp_path: Path, rev_counted: list[str], spoil: str) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    revs = _with_rev(blocks)
    scancache.scan_undo(blocks, MAINNET, cache)
    if spoil == "garbage":
        cache.write_bytes(b"ARROW1" + os.urandom(200))
    elif spoil == "empty":
        cache.write_bytes(b"")
    elif spoil == "the blk files' cache":
        scancache.scan(blocks, MAINNET, cache)             # the same directory, network and key
    else:
        _respoil(scancache.REV, cache, blocks, spoil)
    rev_counted.clear()
    index = scancache.scan_undo(blocks, MAINNET, cache)
    assert rev_counted == [p.name for p in revs]
    _same_undo(index, _fresh(blocks, rev_counted))


def test_cached_undo_records_are_made_when_read_and_equal_the_scanned_ones(tmp_path: Path) -> None:
    blocks, cache = tmp_path / "blocks", tmp_path / "db.revscan"
    _with_rev(blocks)
    fresh = scan_undo(blocks, MAINNET)
    scancache.scan_undo(blocks, MAINNET, cache)
    cached = scancache.scan_undo(blocks, MAINNET, cache)
    for n, want in fresh.records.items():
        got = cached.records[n]
        assert isinstance(got, scancache.Records) and isinstance(want, list)
        assert len(got) == len(want) and list(got) == want and got == want
        assert got[0] == want[0] and got[-1] == want[-1] and got[-len(want)] == want[0]
        assert got[5:17] == want[5:17] and got[:-1] == want[:-1] and got[::7] == want[::7]
        with pytest.raises(IndexError):
            got[len(want)]
    # What the sync hands its parser workers: a window of records per blk file of a chunk.
    from minerwatch.chain.undo import ChunkUndo
    spans = {0: (3, 40), 1: (0, 125), 3: (30, 44)}
    assert ChunkUndo.of(cached, spans, frozenset()) == ChunkUndo.of(fresh, spans, frozenset())


@pytest.mark.parametrize("workers", [1, 2])
def test_sync_keeps_the_undo_scan_beside_the_database_and_uses_it(tmp_path: Path, rev_counted: list[str],
                                                                  workers: int) -> None:
    from minerwatch.store import bind_network, connect
    from minerwatch.sync import Syncer

    blocks, db = tmp_path / "blocks", tmp_path / "mw.duckdb"
    _with_rev(blocks)
    args = ["sync", "--blocks-dir", str(blocks), "--db", str(db), "--network", "mainnet", "--workers", "1"]
    assert main([*args, "--stop-height", "150"]) == 0
    assert (tmp_path / "mw.duckdb.revscan").exists() and rev_counted == [f"rev0000{n}.dat" for n in range(4)]
    # The next run takes blocks 151–438, among them mainnet's first spends (170 on), whose spent
    # outputs come from the undo records found through the cache: no rev file is read again, and
    # the tracker never needs the unspent outputs it would hold without undo data.
    rev_counted.clear()
    con = connect(db)
    bind_network(con, MAINNET.name, db)
    syncer = Syncer(con, MAINNET)
    assert syncer.sync_blocks_dir(blocks, workers=workers) == 288
    assert rev_counted == [] and syncer.ingest.tracker.utxos is None
    assert con.execute("SELECT count(*) FROM blocks WHERE fees_paid_sat IS NOT NULL AND height > 150").fetchone() == (288,)
    con.close()
