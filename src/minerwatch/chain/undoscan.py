"""Index Bitcoin Core's undo files (blocks/rev*.dat) by reading only each record's first 17 bytes.

A rev file is a run of records: network magic, little-endian uint32 size, the block's undo data
(CBlockUndo, `size` bytes), a 32-byte checksum. Core appends a record when it connects a block, to
the rev file numbered like the blk file holding the block; every byte is XORed with blocks/xor.dat
exactly as in the blk files (see blkscan), and space Core preallocated (1 MiB at a time) but has not
written yet holds plain zero bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from struct import unpack_from

from minerwatch.chain.blkscan import RECORD_HEADER_BYTES, open_read, pread, read_xor_key, xor_at
from minerwatch.chain.compress import read_compact_size
from minerwatch.errors import MinerwatchError, NetworkMismatchError, ParseError
from minerwatch.networks import Network, network_by_magic

CHECKSUM_BYTES = 32
# An upper bound on a CBlockUndo: a block of 4,000,000 weight units holds at most 24,390 inputs
# (164 WU each) and each spent output takes at most ~10,020 bytes (a 10,000-byte script, Core's
# MAX_SCRIPT_SIZE, plus its amount, height and size), ~245 MB. A larger size field is corruption.
MAX_UNDO_BYTES = 256 * 1024 * 1024
_HEAD_BYTES = RECORD_HEADER_BYTES + 9   # magic, size and the CTxUndo count (CompactSize ≤ 9 bytes)
_ZERO4 = bytes(4)
_REV_NAME = re.compile(r"^rev(\d{5,})\.dat$")


@dataclass(frozen=True, slots=True)
class UndoRecord:
    """Where one block's undo data lies in a rev file."""

    file_number: int     # N of revNNNNN.dat (= the blk file number of its block)
    offset: int          # byte offset of the CBlockUndo (after magic and size)
    size_bytes: int      # CBlockUndo size; the 32-byte checksum follows it
    tx_count: int        # CTxUndo entries: the block's transactions minus the coinbase


@dataclass(frozen=True, slots=True)
class UndoIndex:
    """Every undo record of a blocks directory, per rev file in file order (= connection order)."""

    blocks_dir: Path
    network: Network
    files: dict[int, Path]                  # file number → path
    xor_key: bytes                          # 8 bytes; all zero when the files are not obfuscated
    records: dict[int, Sequence[UndoRecord]]    # file number → its records
    # (file number, byte offset) of a record at the end of the last file that is still being
    # written (cut short); None when the last file ends cleanly.
    incomplete_tail: tuple[int, int] | None = None


def list_rev_files(blocks_dir: Path) -> dict[int, Path]:
    """revNNNNN.dat files of `blocks_dir` by number, ascending (empty when the node keeps none)."""
    if not blocks_dir.is_dir():
        raise MinerwatchError(
            f"blocks directory {blocks_dir} does not exist",
            "pass the node's blocks directory, e.g. --blocks-dir ~/.bitcoin/blocks",
        )
    try:
        names = os.listdir(blocks_dir)
    except OSError as e:
        raise MinerwatchError(f"cannot list {blocks_dir}: {e.strerror}", "check the directory's permissions") from e
    return dict(sorted((int(m.group(1)), blocks_dir / n) for n in names if (m := _REV_NAME.match(n))))


def scan_undo(blocks_dir: Path, network: Network) -> UndoIndex:
    """Index every undo record in `blocks_dir`, reading 17 bytes per record.

    Zero padding (Core's preallocation) ends a file. A record cut short at the end of the last file
    is one the node is still writing: the scan stops there. Anything else malformed raises
    ParseError naming the file and byte offset; another network's magic raises NetworkMismatchError.
    """
    blocks_dir = Path(blocks_dir).expanduser()
    files = list_rev_files(blocks_dir)
    key = read_xor_key(blocks_dir)
    records: dict[int, list[UndoRecord]] = {}
    tail: tuple[int, int] | None = None
    last = max(files, default=-1)
    for number, path in files.items():
        records[number], cut = scan_file(path, number, number == last, network, key)
        if cut is not None:
            tail = (number, cut)
    return UndoIndex(blocks_dir, network, files, key, records, tail)


def scan_file(path: Path, number: int, is_last: bool, network: Network,
              key: bytes) -> tuple[list[UndoRecord], int | None]:
    """One rev file's records, and the offset of a cut-short final record of the newest file
    (`is_last`), if any; in any other file a cut-short record raises ParseError."""
    out: list[UndoRecord] = []
    with Files({number: path}) as fds:
        try:
            cut = _scan_file(fds.fd(number), path.name, number, is_last, network, key, out)
        except OSError as e:
            raise MinerwatchError(f"cannot read {path}: {e.strerror}", "check the file and the disk") from e
    return out, cut


def scan_rev_file(path: Path, number: int, network: Network, key: bytes) -> list[UndoRecord]:
    """The records of one rev file, read as scan_undo reads it; a record cut short at its end (the
    node may be writing it) is left out."""
    return scan_file(path, number, True, network, key)[0]


def head_matches(fd: int, rec: UndoRecord, network: Network, key: bytes) -> bool:
    """Whether the record head stored where `rec` says its record is still says what `rec` says:
    the network's magic, the size and the transaction count."""
    pos = rec.offset - RECORD_HEADER_BYTES
    head = xor_at(pread(fd, _HEAD_BYTES, pos), key, pos)
    if len(head) < RECORD_HEADER_BYTES + 1 or head[:4] != network.magic \
            or unpack_from("<I", head, 4)[0] != rec.size_bytes:
        return False
    try:
        tx_count, _ = read_compact_size(head, RECORD_HEADER_BYTES, min(len(head), RECORD_HEADER_BYTES + rec.size_bytes),
                                        "transaction count", "", pos)
    except ParseError:
        return False
    return tx_count == rec.tx_count


def _scan_file(
    fd: int, name: str, number: int, is_last: bool, network: Network, key: bytes, out: list[UndoRecord],
) -> int | None:
    """Append the records of one rev file to `out`; the offset of a cut-short final record, if any."""
    size = os.fstat(fd).st_size
    pos = 0
    while pos < size:
        raw = pread(fd, _HEAD_BYTES, pos)
        if raw[:4] == _ZERO4:
            return None                      # preallocated, never-written space
        if len(raw) < RECORD_HEADER_BYTES + 1 or (is_last and raw[4:8] == _ZERO4):
            if is_last:
                return pos
            raise ParseError(f"undo record head cut short ({size - pos} bytes left)", name, pos)
        head = xor_at(raw, key, pos)
        if head[:4] != network.magic:
            _bad_magic(head[:4], network, name, pos, key)
        (length,) = unpack_from("<I", head, 4)
        if not 1 <= length <= MAX_UNDO_BYTES:
            raise ParseError(f"undo record size {length} is out of range (1 … {MAX_UNDO_BYTES} bytes)", name, pos)
        body = pos + RECORD_HEADER_BYTES
        end = body + length + CHECKSUM_BYTES
        if end > size:
            if is_last:
                return pos
            raise ParseError(f"undo record of {length} bytes runs {end - size} bytes past the end of the file",
                             name, pos)
        tx_count, _ = read_compact_size(head, RECORD_HEADER_BYTES, min(len(head), RECORD_HEADER_BYTES + length),
                                    "transaction count", name, pos)
        out.append(UndoRecord(number, body, length, tx_count))
        pos = end
    return None


def _bad_magic(magic: bytes, network: Network, name: str, pos: int, key: bytes) -> None:
    other = network_by_magic(magic)
    if other is not None:
        raise NetworkMismatchError(
            f"{name}: byte {pos}: these undo files are {other.name} data, not {network.name}",
            f"run with --network {other.name}, or point --blocks-dir at the {network.name} blocks directory",
        )
    if pos == 0:
        hint = ("xor.dat must come from the same node as the rev files (Bitcoin Core 28+ obfuscates them "
                "with its key): copy it together with them" if key == bytes(len(key)) else
                "the key in xor.dat does not decode this file: copy xor.dat and the rev files from the same node")
    else:
        hint = "the file is corrupt; re-copy it from the node"
    raise ParseError(f"no network magic at an undo record start (found {magic.hex()}, expected "
                     f"{network.magic.hex()})", name, pos, hint=hint)


class Files:
    """Read-only descriptors of some files by number, opened on first use."""

    def __init__(self, paths: dict[int, Path]) -> None:
        self._paths = paths
        self._fds: dict[int, int] = {}

    def __enter__(self) -> Files:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fd(self, number: int) -> int:
        """The open descriptor of file `number`."""
        fd = self._fds.get(number)
        if fd is None:
            path = self._paths[number]
            try:
                fd = self._fds[number] = open_read(path)
            except OSError as e:
                raise MinerwatchError(f"cannot open {path}: {e.strerror}", "check the file's permissions") from e
        return fd

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
