"""What the last scans of a blocks directory found, kept beside the database, so that a restart
reads only the files that changed since: the blk files' record heads (`DB.blkscan`) and the undo
files' (`DB.revscan`).

A node appends to its newest blk file and never rewrites the others, and appends each block's undo
record to the rev file numbered like the block's blk file; so on a restart all but the last file or
two are as the last scan left them. Scanning them again is the largest part of a restart's scan (the
rehearsal chain's 925,000 blk records in 20 files: 10 s of CPU, 38–90 s of wall time on a busy
machine, reading 88 bytes per record; its 925,005 undo records: 4 s of CPU and 8–16 s of wall time,
17 bytes per record). Reading them back from these files takes 3–4 s of CPU for the blk records
(chain selection needs every one as an object) and 0.01 s for the undo records, which are made only
when read (Records). docs/benchmarks.md, "Restart: the blk and undo scans", has the figures.

A file's cached result is used only while the file's size and modification time are unchanged,
it holds the same place (newest file or not: the newest file's cut-short last record is one being
written, elsewhere it is damage), and the heads of its first and last cached records still say what
the cache says (as git trusts a file's stat data: a node never rewrites a file in place keeping its
size and time). A file must also still end where its scan ended (Core writes new records into space
it preallocated, so the size need not change, and within the file system's time granularity the
time need not either), and one whose last record was being written is always read again. Anything
else, and a cache that is missing, unreadable or made for another directory, network, key or kind
of file, means the file is scanned again (tests/test_scancache.py compares every case with a fresh
scan, errors included).

A cache is written to a temporary file and renamed into place, so a crash leaves the old cache or
the new one; deleting it only makes the next start slower. It is written only when a file other
than the newest was read again, or files came or went: the newest file grows with every block, and
reading it again at each start costs less than writing every record of the directory again (the
rehearsal's 24,782 records of its newest blk file: 0.22 s of CPU, against 0.72 s and 81 MB written
for all 925,006; on mainnet a blk file holds at most ~130 of today's blocks).
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Generic, TypeVar, overload

import pyarrow as pa
import pyarrow.ipc as ipc

from minerwatch.chain import blkscan, undoscan
from minerwatch.chain.blkscan import BlkIndex, BlockRecord, Skipped
from minerwatch.chain.undoscan import CHECKSUM_BYTES, UndoIndex, UndoRecord
from minerwatch.networks import Network

FORMAT = 2
R = TypeVar("R", BlockRecord, UndoRecord)


@dataclass(frozen=True, slots=True)
class FileScan(Generic[R]):
    """One file's scan: its records, the damage stepped over (blk files only), and where a
    cut-short last record starts (newest file only)."""

    size: int
    mtime_ns: int
    is_last: bool
    records: Sequence[R]
    skipped: list[Skipped]
    cut: int | None


class Records(Sequence[R]):
    """One file's cached records, each made when it is read, from columns of unsigned integers.

    The undo records of a restart are read only in windows around the blocks it takes (a follower:
    the newest file's last few), while making all of them (925,000 frozen dataclasses on the
    rehearsal) costs 1.4 s of CPU at every start."""

    __slots__ = ("_make", "_columns", "_start", "_stop")

    def __init__(self, make: type[R], columns: list[array[int]], start: int, stop: int) -> None:
        self._make, self._columns, self._start, self._stop = make, columns, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, i: int) -> R: ...

    @overload
    def __getitem__(self, i: slice) -> list[R]: ...

    def __getitem__(self, i: int | slice) -> R | list[R]:
        if isinstance(i, slice):
            return [self._at(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError("record index out of range")
        return self._at(i % n)

    def _at(self, i: int) -> R:
        j = self._start + i
        return self._make(*[c[j] for c in self._columns])

    def __iter__(self) -> Iterator[R]:
        return map(self._make, *(c[self._start:self._stop] for c in self._columns))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, Records)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Records({list(self)!r})"


@dataclass(frozen=True, slots=True)
class Kind(Generic[R]):
    """What the blk and the rev files' caches differ in."""

    name: str                     # "blk" or "rev": part of the cache's identity
    record: type[R]
    schema: pa.Schema             # one column per field of `record`, in the field order
    # Records made when read (Records) rather than at load: only for integer columns, and only
    # where the users of the scan read a few (chain selection reads every blk record).
    lazy: bool
    # (path, number, is_last, network, key) → (records, skipped, cut), as a fresh scan reads the file
    scan_file: Callable[[Path, int, bool, Network, bytes], tuple[list[R], list[Skipped], int | None]]
    # (path, cached scan, network, key) → whether the file still holds what the scan found, beyond
    # its size and modification time
    unchanged: Callable[[Path, FileScan[R], Network, bytes], bool]


def stamp(path: Path) -> tuple[int, int]:
    """(size, modification time in ns) of a file, as the cache compares them."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _identity(kind: Kind[R], blocks_dir: Path, network: str, key: bytes) -> dict[str, object]:
    return {"format": FORMAT, "kind": kind.name, "blocks_dir": str(Path(blocks_dir).resolve()), "network": network,
            "key": key.hex()}


def _values(column: pa.ChunkedArray) -> list[object]:
    """A column as Python values. Fixed-size binary is cut from its buffer directly: 0.15 s of CPU
    for 925,000 hashes against 0.55 s for to_pylist."""
    if column.null_count:
        raise ValueError("a cache column holds nulls")
    if not pa.types.is_fixed_size_binary(column.type):
        return column.to_pylist()
    width = column.type.byte_width
    out: list[object] = []
    for chunk in column.chunks:
        raw = bytes(memoryview(chunk.buffers()[1])[chunk.offset * width:(chunk.offset + len(chunk)) * width])
        if len(raw) != len(chunk) * width:
            raise ValueError("a cache column is shorter than its length")
        out += [raw[i:i + width] for i in range(0, len(raw), width)]
    return out


def _array(column: pa.ChunkedArray) -> array[int]:
    """An unsigned integer column as an array, copied from its buffers: no Python object per value."""
    code = {pa.uint32(): "I", pa.uint64(): "Q"}.get(column.type)
    if code is None or column.null_count or array(code).itemsize * 8 != column.type.bit_width:
        raise ValueError(f"a cache column of {column.type} cannot be read as an array")
    out: array[int] = array(code)
    width = out.itemsize
    for chunk in column.chunks:
        raw = memoryview(chunk.buffers()[1])[chunk.offset * width:(chunk.offset + len(chunk)) * width]
        if len(raw) != len(chunk) * width:
            raise ValueError("a cache column is shorter than its length")
        out.frombytes(raw)
    return out


def load(kind: Kind[R], path: Path, blocks_dir: Path, network: str, key: bytes) -> dict[str, FileScan[R]]:
    """The cached scans by file name; empty when there is no usable cache."""
    try:
        with ipc.open_file(pa.memory_map(str(path))) as reader:
            table = reader.read_all()
        meta = json.loads(table.schema.metadata[b"minerwatch"])
        if meta.get("identity") != _identity(kind, blocks_dir, network, key) or not table.schema.equals(kind.schema):
            return {}
        if kind.lazy:
            columns = [_array(table.column(name)) for name in kind.schema.names]

            def records(start: int, stop: int) -> Sequence[R]:
                return Records(kind.record, columns, start, stop)
        else:
            built = list(map(kind.record, *(_values(table.column(name)) for name in kind.schema.names)))

            def records(start: int, stop: int) -> Sequence[R]:
                return built[start:stop]
        out: dict[str, FileScan[R]] = {}
        start = 0
        for name, f in meta["files"].items():
            n = f["count"]
            out[name] = FileScan(f["size"], f["mtime_ns"], f["is_last"], records(start, start + n),
                                 [Skipped(*s) for s in f["skipped"]], f["cut"])
            start += n
    except (OSError, KeyError, ValueError, TypeError, AttributeError, pa.ArrowException):
        return {}
    return out if start == table.num_rows else {}


def save(kind: Kind[R], path: Path, blocks_dir: Path, network: str, key: bytes,
         scans: dict[str, FileScan[R]]) -> None:
    """Write the cache (atomically); a cache that cannot be written is only a slower next start."""
    records = [r for s in scans.values() for r in s.records]
    files = {name: {"size": s.size, "mtime_ns": s.mtime_ns, "is_last": s.is_last, "count": len(s.records),
                    "cut": s.cut, "skipped": [[k.file_name, k.offset, k.size_bytes, k.reason, k.may_hold_block]
                                              for k in s.skipped]}
             for name, s in scans.items()}
    meta = {"identity": _identity(kind, blocks_dir, network, key), "files": files}
    tmp = path.with_name(path.name + ".tmp")
    try:
        table = pa.table([pa.array(list(map(attrgetter(f.name), records)), f.type) for f in kind.schema],
                         schema=kind.schema.with_metadata({"minerwatch": json.dumps(meta)}))
        with ipc.new_file(str(tmp), table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    except (OSError, OverflowError, pa.ArrowException):
        tmp.unlink(missing_ok=True)


def cached_scans(kind: Kind[R], blocks_dir: Path, files: dict[int, Path], network: Network, key: bytes,
                 cache: Path) -> dict[int, FileScan[R]]:
    """Each file's scan by number, read again only where the scan cached at `cache` no longer
    holds; the cache is brought up to date (see the module's docstring for when it is written)."""
    before = load(kind, cache, blocks_dir, network.name, key)
    last = max(files, default=None)
    now: dict[str, FileScan[R]] = {}
    read_again: list[int] = []
    for number, path in files.items():
        try:
            # Taken before the file is read: a block written meanwhile leaves the cache an older stamp.
            size, mtime_ns = stamp(path)
        except OSError:
            size = mtime_ns = -1                # the scan says what is wrong with the file
        old = before.get(path.name)
        if old is not None and (old.size, old.mtime_ns, old.is_last) == (size, mtime_ns, number == last) \
                and kind.unchanged(path, old, network, key):
            now[path.name] = old
        else:
            records, skipped, cut = kind.scan_file(path, number, number == last, network, key)
            now[path.name] = FileScan(size, mtime_ns, number == last, records, skipped, cut)
            read_again.append(number)
    if set(before) != set(now) or any(n != last for n in read_again):
        save(kind, cache, blocks_dir, network.name, key, now)
    return {n: now[p.name] for n, p in files.items()}


def _ends_at(fd: int, pos: int) -> bool:
    """Whether the file ends at byte `pos` or never-written (zero) space begins there: where a node
    appends its next record, so a record there is one written since the scan."""
    return blkscan.pread(fd, 4, pos) in (b"", bytes(4))


def _open_or_none(path: Path) -> int | None:
    try:
        return blkscan.open_read(path)
    except OSError:
        return None


def _scan_blk(path: Path, number: int, is_last: bool, network: Network,
              key: bytes) -> tuple[list[BlockRecord], list[Skipped], int | None]:
    records: list[BlockRecord] = []
    skipped: list[Skipped] = []
    cut = blkscan.scan_file(path, number, is_last, network, key, records, skipped)
    return records, skipped, cut


def _blk_unchanged(path: Path, old: FileScan[BlockRecord], network: Network, key: bytes) -> bool:
    """The first and last cached records' headers still hash to the cached hashes, no record follows
    where the scan ended, and none was being written."""
    if old.cut is not None:
        return False
    fd = _open_or_none(path)
    if fd is None:
        return False
    try:
        ends = [r.offset + r.size_bytes for r in old.records[-1:]] + [k.offset + k.size_bytes for k in old.skipped[-1:]]
        return all(blkscan.record_hash_at(fd, key, r) == r.hash for r in old.records[:1] + old.records[-1:]) \
            and _ends_at(fd, max(ends, default=0))
    except OSError:
        return False
    finally:
        os.close(fd)


def _scan_rev(path: Path, number: int, is_last: bool, network: Network,
              key: bytes) -> tuple[list[UndoRecord], list[Skipped], int | None]:
    records, cut = undoscan.scan_file(path, number, is_last, network, key)
    return records, [], cut


def _rev_unchanged(path: Path, old: FileScan[UndoRecord], network: Network, key: bytes) -> bool:
    """The first and last cached record heads are still there, no record follows the last one, and
    none was being written."""
    if old.cut is not None:
        return False
    fd = _open_or_none(path)
    if fd is None:
        return False
    try:
        end = old.records[-1].offset + old.records[-1].size_bytes + CHECKSUM_BYTES if old.records else 0
        return all(undoscan.head_matches(fd, r, network, key) for r in old.records[:1] + old.records[-1:]) \
            and _ends_at(fd, end)
    except OSError:
        return False
    finally:
        os.close(fd)


BLK: Kind[BlockRecord] = Kind(
    "blk", BlockRecord,
    pa.schema([("hash", pa.binary(32)), ("prev_hash", pa.binary(32)), ("bits", pa.uint32()), ("time", pa.uint32()),
               ("file_number", pa.uint32()), ("offset", pa.uint64()), ("size_bytes", pa.uint32())]),
    False, _scan_blk, _blk_unchanged)
# tx_count is a CompactSize that scan_undo does not bound: uint64, so that any record it accepts fits.
REV: Kind[UndoRecord] = Kind(
    "rev", UndoRecord,
    pa.schema([("file_number", pa.uint32()), ("offset", pa.uint64()), ("size_bytes", pa.uint32()),
               ("tx_count", pa.uint64())]),
    True, _scan_rev, _rev_unchanged)


def scan(blocks_dir: Path, network: Network, cache: Path | None) -> BlkIndex:
    """blkscan.scan, reading again only the blk files that changed since the scan cached at `cache`
    (None: no cache), and keeping the new result there."""
    blocks_dir = Path(blocks_dir).expanduser()
    if cache is None:
        return blkscan.scan(blocks_dir, network)
    files = blkscan.list_blk_files(blocks_dir)
    key = blkscan.read_xor_key(blocks_dir)
    records: list[BlockRecord] = []
    skipped: list[Skipped] = []
    tail: tuple[int, int] | None = None
    for number, found in cached_scans(BLK, blocks_dir, files, network, key, cache).items():
        records.extend(found.records)
        skipped.extend(found.skipped)
        if found.cut is not None:
            tail = (number, found.cut)
    return BlkIndex(blocks_dir, network, files, key, records, tail, skipped)


def scan_undo(blocks_dir: Path, network: Network, cache: Path | None) -> UndoIndex:
    """undoscan.scan_undo, reading again only the rev files that changed since the scan cached at
    `cache` (None: no cache), and keeping the new result there."""
    blocks_dir = Path(blocks_dir).expanduser()
    if cache is None:
        return undoscan.scan_undo(blocks_dir, network)
    files = undoscan.list_rev_files(blocks_dir)
    key = blkscan.read_xor_key(blocks_dir)
    scans = cached_scans(REV, blocks_dir, files, network, key, cache)
    tail = next(((n, s.cut) for n, s in scans.items() if s.cut is not None), None)
    return UndoIndex(blocks_dir, network, files, key, {n: s.records for n, s in scans.items()}, tail)
