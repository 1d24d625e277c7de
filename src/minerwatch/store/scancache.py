"""What the last scan of a blocks directory found, kept beside the database, so that a restart
reads the heads of only the blk files that changed since.

A node appends to its newest blk file and never rewrites the others, so on a restart every file
but the newest is as the last scan left it. Scanning them again is the largest part of a restart
(the rehearsal chain's 925,000 records in 20 files: 10 s of CPU, 38–90 s of wall time on a busy
machine, reading 88 bytes per record); reading them back from this file takes about a second.

A file's cached result is used only while the file's size and modification time are unchanged,
it holds the same place (newest file or not: the newest file's cut-short last record is a block
being written, elsewhere it is damage), and the heads of its first and last cached records still
hash to the cached hashes (as git trusts a file's stat data: a node never rewrites a blk file in
place keeping its size and time). Anything else, and a cache that is missing, unreadable or made
for another directory, network or key, means the file is scanned again (tests/test_scancache.py
compares every case with a fresh scan). It is written to a temporary file and renamed into place,
so a crash leaves the old cache or the new one; deleting it only makes the next start slower.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from minerwatch.chain import blkscan
from minerwatch.chain.blkscan import BlkIndex, BlockRecord, Skipped
from minerwatch.networks import Network

FORMAT = 1


@dataclass(frozen=True, slots=True)
class FileScan:
    """One blk file's scan: its records, the damage stepped over, and where a cut-short last
    record starts (newest file only)."""

    size: int
    mtime_ns: int
    is_last: bool
    records: list[BlockRecord]
    skipped: list[Skipped]
    cut: int | None


def stamp(path: Path) -> tuple[int, int]:
    """(size, modification time in ns) of a file, as the cache compares them."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _identity(blocks_dir: Path, network: str, key: bytes) -> dict[str, object]:
    return {"format": FORMAT, "blocks_dir": str(Path(blocks_dir).resolve()), "network": network, "key": key.hex()}


def load(path: Path, blocks_dir: Path, network: str, key: bytes) -> dict[str, FileScan]:
    """The cached scans by file name; empty when there is no usable cache."""
    try:
        with ipc.open_file(pa.memory_map(str(path))) as reader:
            table = reader.read_all()
        meta = json.loads(table.schema.metadata[b"minerwatch"])
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return {}
    if meta.get("identity") != _identity(blocks_dir, network, key):
        return {}
    cols = table.to_pydict()
    records = [BlockRecord(*row) for row in zip(cols["hash"], cols["prev_hash"], cols["bits"], cols["time"],
                                                 cols["file_number"], cols["offset"], cols["size_bytes"])]
    out: dict[str, FileScan] = {}
    start = 0
    for name, f in meta["files"].items():
        n = f["count"]
        out[name] = FileScan(f["size"], f["mtime_ns"], f["is_last"], records[start:start + n],
                             [Skipped(*s) for s in f["skipped"]], f["cut"])
        start += n
    return out


def save(path: Path, blocks_dir: Path, network: str, key: bytes, scans: dict[str, FileScan]) -> None:
    """Write the cache (atomically); a cache that cannot be written is only a slower next start."""
    records = [r for s in scans.values() for r in s.records]
    files = {name: {"size": s.size, "mtime_ns": s.mtime_ns, "is_last": s.is_last, "count": len(s.records),
                    "cut": s.cut, "skipped": [[k.file_name, k.offset, k.size_bytes, k.reason, k.may_hold_block]
                                              for k in s.skipped]}
             for name, s in scans.items()}
    table = pa.table({
        "hash": pa.array([r.hash for r in records], pa.binary(32)),
        "prev_hash": pa.array([r.prev_hash for r in records], pa.binary(32)),
        "bits": pa.array([r.bits for r in records], pa.uint32()),
        "time": pa.array([r.time for r in records], pa.uint32()),
        "file_number": pa.array([r.file_number for r in records], pa.uint32()),
        "offset": pa.array([r.offset for r in records], pa.uint64()),
        "size_bytes": pa.array([r.size_bytes for r in records], pa.uint32()),
    })
    meta = {"identity": _identity(blocks_dir, network, key), "files": files}
    table = table.replace_schema_metadata({"minerwatch": json.dumps(meta)})
    tmp = path.with_name(path.name + ".tmp")
    try:
        with ipc.new_file(str(tmp), table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def scan(blocks_dir: Path, network: Network, cache: Path | None) -> BlkIndex:
    """blkscan.scan, reading again only the files that changed since the scan cached at `cache`
    (None: no cache), and keeping the new result there."""
    blocks_dir = Path(blocks_dir).expanduser()
    if cache is None:
        return blkscan.scan(blocks_dir, network)
    files = blkscan.list_blk_files(blocks_dir)
    key = blkscan.read_xor_key(blocks_dir)
    before = load(cache, blocks_dir, network.name, key)
    last = max(files)
    records: list[BlockRecord] = []
    skipped: list[Skipped] = []
    tail: tuple[int, int] | None = None
    now: dict[str, FileScan] = {}
    changed = set(before) != {p.name for p in files.values()}
    for number, path in files.items():
        size, mtime_ns = stamp(path)
        old = before.get(path.name)
        if old is not None and (old.size, old.mtime_ns, old.is_last) == (size, mtime_ns, number == last) \
                and _heads_unchanged(path, key, old.records):
            found = old
        else:
            recs: list[BlockRecord] = []
            skips: list[Skipped] = []
            cut = blkscan.scan_file(path, number, number == last, network, key, recs, skips)
            found = FileScan(size, mtime_ns, number == last, recs, skips, cut)
            changed = True
        now[path.name] = found
        records.extend(found.records)
        skipped.extend(found.skipped)
        if found.cut is not None:
            tail = (number, found.cut)
    if changed:
        save(cache, blocks_dir, network.name, key, now)
    return BlkIndex(blocks_dir, network, files, key, records, tail, skipped)


def _heads_unchanged(path: Path, key: bytes, records: list[BlockRecord]) -> bool:
    """Whether the first and last cached records' headers are still where the cache says."""
    if not records:
        return True
    try:
        fd = blkscan.open_read(path)
    except OSError:
        return False
    try:
        return all(blkscan.record_hash_at(fd, key, r) == r.hash for r in (records[0], records[-1]))
    except OSError:
        return False
    finally:
        os.close(fd)
