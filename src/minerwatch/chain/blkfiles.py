"""Read a Bitcoin Core blocks directory in height order, in one process or several.

The pieces: blkscan (index the records), blkchain (choose the chain), blkwrite (write blk files);
this module reads the chosen blocks. With workers > 1, each worker process gets chunks of about
4 MiB of block data as (file path, offset, size) triples, reads and de-obfuscates them itself and
returns parsed blocks; the parent yields them in height order with at most 2 chunks per worker in
flight (4 when packed), so memory stays flat however long the chain is. For the ingest (`iter_parsed`) the workers
also compute each block's facts and send its columns packed in flat buffers (`chain/parsed.py`),
not pickled `Block` objects.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from minerwatch.chain.blkchain import BestChain, best_chain
from minerwatch.chain.blkscan import (
    MAX_BLOCK_BYTES,
    BlkIndex,
    BlockRecord,
    Skipped,
    list_blk_files,
    open_read,
    pread,
    read_xor_key,
    scan,
    xor_at,
)
from minerwatch.chain.blkwrite import MAX_BLOCKFILE_BYTES, write_blk_files
from minerwatch.chain.block import Block, parse_block
from minerwatch.chain.parsed import PackedBlock, ParsedBlock
from minerwatch.chain.undo import ChunkUndo, UndoIndex, UndoReader
from minerwatch.errors import MinerwatchError, ParseError, UsageError
from minerwatch.networks import Network

__all__ = [
    "MAX_BLOCKFILE_BYTES", "MAX_BLOCK_BYTES", "BestChain", "BlkIndex", "BlockRecord", "FilesReport", "ParserPool",
    "Skipped",
    "best_chain", "files_report",
    "iter_blocks", "iter_parsed", "iter_raw_blocks", "list_blk_files", "read_xor_key", "scan", "write_blk_files",
    "xor_at",
]

@dataclass(frozen=True, slots=True)
class FilesReport:
    """What a blocks directory held besides the chain read from it: damage stepped over, and blocks
    set aside (stale: lost a race; orphan: their ancestors are missing or invalid; invalid: header
    fails its proof of work or, on mainnet, the retarget rule)."""

    tip_height: int
    skipped: list[Skipped]
    stale: int
    orphans: int
    invalid: int
    duplicates: int

    @property
    def damaged(self) -> bool:
        """True when the files may hold more chain than was read: a gap leaves the chain short."""
        return bool(self.orphans or self.invalid or any(k.may_hold_block for k in self.skipped))

    def summary(self) -> str:
        """One line for a person: what was set aside and skipped."""
        parts = [f"{self.stale:,} stale, {self.orphans:,} orphan and {self.invalid:,} invalid blocks set aside"]
        if self.skipped:
            shown = "; ".join(k.describe() for k in self.skipped[:5])
            more = f"; and {len(self.skipped) - 5:,} more" if len(self.skipped) > 5 else ""
            parts.append(f"{len(self.skipped):,} damaged stretch(es) skipped: {shown}{more}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"tip_height": self.tip_height, "stale_blocks": self.stale, "orphan_blocks": self.orphans,
                "invalid_blocks": self.invalid, "duplicate_records": self.duplicates, "damaged": self.damaged,
                "skipped": [{"file": k.file_name, "offset": k.offset, "bytes": k.size_bytes, "reason": k.reason,
                             "may_hold_block": k.may_hold_block}
                            for k in self.skipped],
                "summary": self.summary()}


def files_report(index: BlkIndex, chain: BestChain) -> FilesReport:
    return FilesReport(chain.tip_height, index.skipped, chain.stale_count, chain.orphan_count, chain.invalid_count,
                       chain.duplicate_count)


# ~4 MiB per task: large enough that pickling and scheduling (~1 ms per task) stay under 1 % of
# the parse time (~0.3 s per 4 MiB at ~13 MB/s per process), small enough to keep memory flat.
CHUNK_BYTES = 4 * 1024 * 1024
# How often a parser worker checks that the sync that started it is still there.
PARENT_CHECK_S = 1.0
_IN_FLIGHT_PER_WORKER = 2
# Packed results take 0.43 byte of memory per byte of block (Block objects 1.5), so the ingest's
# workers get 4 chunks each: 16 MiB of parsing keeps them busy while the parent writes a 64 MB batch
# (~0.25 s), instead of idling once their 2 chunks are done.
_IN_FLIGHT_PER_WORKER_PACKED = 4

# One chunk: (height, file number, offset, size) of consecutive chain blocks.
_Item = tuple[int, int, int, int]


def iter_raw_blocks(
    blocks_dir: Path, network: Network, start_height: int = 0, stop_height: int | None = None,
    canonical_hashes: dict[int, str] | None = None, chain: BestChain | None = None,
) -> Iterator[tuple[int, BlockRecord, bytes]]:
    """(height, record, serialized block) from `start_height` to `stop_height` (inclusive), in height order.

    Pass `chain` (from best_chain on a scan of the same directory) to skip the scan.
    """
    index_files, key, records = _plan(blocks_dir, network, start_height, stop_height, canonical_hashes, chain)
    with _Reader(index_files, key) as reader:
        for height, rec in records:
            yield height, rec, reader.read(rec.file_number, rec.offset, rec.size_bytes)


def iter_blocks(
    blocks_dir: Path, network: Network, start_height: int = 0, stop_height: int | None = None,
    workers: int = 1, canonical_hashes: dict[int, str] | None = None, chain: BestChain | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[tuple[int, BlockRecord, Block]]:
    """(height, record, parsed block) from `start_height` to `stop_height` (inclusive), in height order.

    With `workers` > 1 the blocks are parsed in that many processes; the result is the same.
    """
    yield from _read(blocks_dir, network, start_height, stop_height, workers, canonical_hashes, chain, chunk_bytes,
                     None, None)


def iter_parsed(
    blocks_dir: Path, network: Network, start_height: int = 0, stop_height: int | None = None,
    workers: int = 1, canonical_hashes: dict[int, str] | None = None, chain: BestChain | None = None,
    chunk_bytes: int = CHUNK_BYTES, parsers: ParserPool | None = None, undo: UndoIndex | None = None,
    contested: set[bytes] | None = None,
) -> Iterator[tuple[int, BlockRecord, ParsedBlock]]:
    """(height, record, block ready for the ingest) from `start_height` to `stop_height`, in height order.

    With `workers` > 1 the workers also compute each block's facts and send its columns packed;
    `parsers`, started earlier with as many workers, is used (and closed) instead of a new pool.
    With `undo` (scan_undo of the same directory) each block also brings what its inputs spent, read
    from its undo record (`ParsedBlock.spent`; None for a block whose record is missing or damaged);
    `contested`: contested_parents of the directory's scan.
    """
    yield from _read(blocks_dir, network, start_height, stop_height, workers, canonical_hashes, chain, chunk_bytes,
                     network, parsers, undo, contested or set())


class ParserPool:
    """The worker processes of one parallel read, started ahead of it in the background.

    Starting them takes ~0.3 s (a fork server that imports the parser, then a fork per worker): a
    sync spends that time scanning the blocks directory instead of waiting, which is ~3 % of a
    2-worker sync of 600 MB.
    """

    def __init__(self, workers: int) -> None:
        # fork would copy a parent that may hold DuckDB's threads and locks, which can deadlock a child;
        # forkserver starts workers from a clean process (spawn where forkserver does not exist).
        if "forkserver" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("forkserver")
            # Workers fork from a server that has imported the parser already (~0.2 s saved per worker).
            ctx.set_forkserver_preload([__name__])
        else:
            ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_watch_parent,
                                            initargs=(os.getpid(),))
        self._starting = threading.Thread(target=self._start, name="start parser workers", daemon=True)
        self._starting.start()

    def _start(self) -> None:
        # One no-op per worker makes the executor start them all; a failure to start shows again,
        # with its cause, when the read submits its first chunk.
        try:
            for future in [self.executor.submit(_ready) for _ in range(self.workers)]:
                future.result()
        except Exception:  # noqa: BLE001,S110 - see above
            pass

    def close(self) -> None:
        """Stop the workers; chunks not started are cancelled. Closing twice is harmless."""
        self._starting.join()
        self.executor.shutdown(wait=True, cancel_futures=True)

    def terminate(self) -> None:
        """Stop the workers now, whatever they are doing (their tasks' work is lost), then close.

        For a consumer that gives up (Ctrl-C, an error): a worker's task may be minutes of work (a
        lake part of 1,000 blocks), not worth waiting for."""
        stop = getattr(self.executor, "terminate_workers", None)      # Python 3.14+
        if stop is not None:
            stop()
        else:
            # ProcessPoolExecutor's own map of its worker processes (private, the same from 3.8 to
            # 3.13; None once shut down).
            for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                process.terminate()
        self.close()


def _ready() -> None:
    """The warm-up task of a ParserPool worker."""


def _watch_parent(pid: int) -> None:
    """A worker leaves when the process that started it is gone (killed, say, with SIGKILL or
    SIGTERM, which run no clean-up): otherwise it would wait for work forever, holding its memory,
    and keep the fork server alive too — each worker holds both ends of its task queue, so the
    queue never reports the end.

    A worker ignores SIGINT: Ctrl-C in a terminal reaches every process of the group, and the
    process that started the workers decides (it closes or terminates them). A worker interrupted
    inside the executor's queues could leave the executor waiting forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if _gone(pid):
                os._exit(1)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _gone(pid: int) -> bool:
    """True when process `pid` has ended. A killed process that its own parent has not reaped yet
    (a zombie) has ended too: its parent may be waiting for the end of the output pipes that the
    workers inherited (Python's subprocess.run with captured output does), so waiting for the reap
    would wait forever."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):   # gone (or its number reused by another user)
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return os.path.exists("/proc/self/stat")     # gone since the signal; without /proc, alive
    return stat[stat.rindex(b")") + 2:][:1] == b"Z"


def _read(
    blocks_dir: Path, network: Network, start_height: int, stop_height: int | None, workers: int,
    canonical_hashes: dict[int, str] | None, chain: BestChain | None, chunk_bytes: int, facts_of: Network | None,
    parsers: ParserPool | None = None, undo: UndoIndex | None = None, contested: set[bytes] | None = None,
) -> Iterator[tuple[int, BlockRecord, Any]]:
    """Blocks, or with `facts_of` (the network) blocks ready for the ingest, in height order."""
    if workers < 1:
        raise UsageError(f"workers must be at least 1, not {workers}", "use --workers 1 or more")
    if parsers is not None and parsers.workers != workers:
        raise UsageError(f"a pool of {parsers.workers} parsers for {workers} workers", "report this as a bug")
    files, key, records = _plan(blocks_dir, network, start_height, stop_height, canonical_hashes, chain)
    paths = {n: str(p) for n, p in files.items()}
    chunks = _chunks(records, chunk_bytes)
    if undo is not None and facts_of is not None:
        chunks = _with_undo(chunks, undo, _chain_ordinals(blocks_dir, network, canonical_hashes, chain, records),
                            contested or set())
    else:
        chunks = ((recs, items, None) for recs, items in chunks)
    if workers == 1 and parsers is None:
        for recs, items, chunk_undo in chunks:
            blocks = _raise_error(_parse_chunk(_paths_of(paths, items), key, items, facts_of, False, chunk_undo), paths)
            yield from zip(*_unzip_heights(recs), blocks)
        return
    yield from _iter_parallel(paths, key, chunks, parsers or ParserPool(workers), facts_of)


def _chain_ordinals(
    blocks_dir: Path, network: Network, canonical_hashes: dict[int, str] | None, chain: BestChain | None,
    records: list[tuple[int, BlockRecord]],
) -> dict[int, int]:
    """height → how many chain blocks of its blk file come before it (ChunkUndo's expected record)."""
    if chain is None:
        chain = best_chain(scan(Path(blocks_dir).expanduser(), network), network, canonical_hashes)
    wanted = {h for h, _ in records}
    seen: dict[int, int] = {}
    ordinals: dict[int, int] = {}
    for height, rec in enumerate(chain.records, chain.start_height):
        k = seen.get(rec.file_number, 0)
        seen[rec.file_number] = k + 1
        if height in wanted:
            ordinals[height] = k
    return ordinals


def _with_undo(
    chunks: Iterator[tuple[list[tuple[int, BlockRecord]], list[_Item]]], undo: UndoIndex, ordinals: dict[int, int],
    contested: set[bytes],
) -> Iterator[tuple[list[tuple[int, BlockRecord]], list[_Item], ChunkUndo]]:
    for recs, items in chunks:
        spans: dict[int, tuple[int, int]] = {}
        for height, rec in recs:
            k = ordinals[height]
            lo, hi = spans.get(rec.file_number, (k, k))
            spans[rec.file_number] = (min(lo, k), max(hi, k))
        hot = frozenset(h for h, rec in recs if rec.prev_hash in contested)
        yield recs, items, ChunkUndo.of(undo, spans, hot)


class _Chunk:
    """A chunk read ahead: given to a worker (`future`), parsed here (`result`: blocks, an error tuple or
    an exception, raised only when the chunk's turn comes, after every block before it, as when a
    worker parses it), or neither yet."""

    __slots__ = ("recs", "items", "undo", "future", "result")

    def __init__(self, recs: list[tuple[int, BlockRecord]], items: list[_Item], undo: ChunkUndo | None) -> None:
        self.recs, self.items, self.undo = recs, items, undo
        self.future: Future[Any] | None = None
        self.result: Any = None


def _iter_parallel(
    paths: dict[int, str], key: bytes, chunks: Iterator[tuple[list[tuple[int, BlockRecord]], list[_Item]]],
    parsers: ParserPool, facts_of: Network | None,
) -> Iterator[tuple[int, BlockRecord, Any]]:
    """`chunks`: (records, items, ChunkUndo or None)."""
    pool, workers = parsers.executor, parsers.workers
    to_workers = workers * (_IN_FLIGHT_PER_WORKER if facts_of is None else _IN_FLIGHT_PER_WORKER_PACKED)
    # The oldest chunks go to the workers; `workers` more are read ahead for this process to parse
    # when it would otherwise wait for the next chunk in order. What it parses itself needs no
    # packing, pickling or rebuilding (~13 % of the read and parse, benchmarks/bench_handoff.py).
    ahead = to_workers + workers
    window: deque[_Chunk] = deque()

    def fill() -> None:
        while sum(c.result is None for c in window) < ahead:
            nxt = next(chunks, None)
            if nxt is None:
                break
            window.append(_Chunk(*nxt))
        given = sum(c.future is not None for c in window)
        for c in window:
            if given >= to_workers:
                break
            if c.future is None and c.result is None:
                c.future = pool.submit(_parse_chunk, _paths_of(paths, c.items), key, c.items, facts_of, True, c.undo)
                given += 1

    def parse_here(c: _Chunk) -> None:
        try:
            c.result = _parse_chunk(_paths_of(paths, c.items), key, c.items, facts_of, False, c.undo)
        except MinerwatchError as e:
            c.result = e
        fill()

    def parse_newest() -> bool:
        """Parse the newest chunk no worker has; False if there is none, or enough are parsed here
        already (a worker that stalls must not make this process read the chain ahead unbounded)."""
        if sum(c.result is not None for c in window) >= ahead:
            return False
        for c in reversed(window):
            if c.future is None and c.result is None:
                parse_here(c)
                return True
        return False

    try:
        fill()
        while window:
            head = window[0]
            while head.result is None and head.future is not None and not head.future.done() and parse_newest():
                pass
            if head.result is None and head.future is None:
                parse_here(head)   # only when no worker could take it (not expected: the oldest go first)
            window.popleft()
            if head.result is not None:
                if isinstance(head.result, MinerwatchError):
                    raise head.result
                blocks = _raise_error(head.result, paths)
            else:
                assert head.future is not None
                blocks = _raise_error(head.future.result(), paths)
                if facts_of is not None:
                    blocks = [packed.unpack() for packed in blocks]
            fill()
            yield from zip(*_unzip_heights(head.recs), blocks)
    except BrokenProcessPool as e:
        raise MinerwatchError(
            "a block-parsing worker process died", "run again with --workers 1 to see the cause",
        ) from e
    finally:
        # A consumer that stops early must not wait for chunks nobody will read.
        parsers.close()


def _paths_of(paths: dict[int, str], items: list[_Item]) -> dict[int, str]:
    """Only the files a chunk reads: a full node has ~5,000 blk files, ~250 kB of paths per task."""
    return {n: paths[n] for n in {item[1] for item in items}}


def _unzip_heights(recs: list[tuple[int, BlockRecord]]) -> tuple[list[int], list[BlockRecord]]:
    return [h for h, _ in recs], [r for _, r in recs]


def _plan(
    blocks_dir: Path, network: Network, start_height: int, stop_height: int | None,
    canonical_hashes: dict[int, str] | None, chain: BestChain | None,
) -> tuple[dict[int, Path], bytes, list[tuple[int, BlockRecord]]]:
    """The files, the XOR key and the (height, record) pairs to read."""
    blocks_dir = Path(blocks_dir).expanduser()
    if chain is None:
        index = scan(blocks_dir, network)
        chain = best_chain(index, network, canonical_hashes)
        files, key = index.files, index.xor_key
    else:
        files, key = list_blk_files(blocks_dir), read_xor_key(blocks_dir)
    lo = max(start_height, chain.start_height)
    hi = chain.tip_height if stop_height is None else min(stop_height, chain.tip_height)
    base = chain.start_height
    return files, key, [(h, chain.records[h - base]) for h in range(lo, hi + 1)]


def _chunks(
    records: list[tuple[int, BlockRecord]], chunk_bytes: int,
) -> Iterator[tuple[list[tuple[int, BlockRecord]], list[_Item]]]:
    """Consecutive runs of records holding about `chunk_bytes` of block data each."""
    recs: list[tuple[int, BlockRecord]] = []
    items: list[_Item] = []
    total = 0
    for height, rec in records:
        recs.append((height, rec))
        items.append((height, rec.file_number, rec.offset, rec.size_bytes))
        total += rec.size_bytes
        if total >= chunk_bytes:
            yield recs, items
            recs, items, total = [], [], 0
    if recs:
        yield recs, items


class _Reader:
    """Reads block bytes by (file number, offset, size), keeping each file open once."""

    def __init__(self, paths: dict[int, Path] | dict[int, str], key: bytes) -> None:
        self.paths = {n: Path(p) for n, p in paths.items()}
        self.key = key
        self.fds: dict[int, int] = {}

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    def read(self, file_number: int, offset: int, size: int) -> bytes:
        """The de-obfuscated bytes of one block."""
        path = self.paths[file_number]
        try:
            fd = self.fds.get(file_number)
            if fd is None:
                fd = self.fds[file_number] = open_read(path)
            data = pread(fd, size, offset)
        except OSError as e:
            raise MinerwatchError(f"cannot read {path}: {e.strerror}", "check the file and the disk") from e
        if len(data) != size:
            raise ParseError(f"block of {size} bytes cut short to {len(data)}", path.name, offset,
                             hint="the file shrank since it was scanned; run again")
        return xor_at(data, self.key, offset)


def _parse_chunk(
    paths: dict[int, str], key: bytes, items: list[_Item], facts_of: Network | None = None, pack: bool = False,
    undo: ChunkUndo | None = None,
) -> list[Block] | list[ParsedBlock] | list[PackedBlock] | tuple[str, int, str, str]:
    """Read and parse one chunk (runs in a worker): blocks, or with `facts_of` (the network) blocks
    ready for the ingest, packed with `pack`, with what their inputs spent when `undo` is given.
    A ParseError comes back as (source, offset, text, hint)."""
    undo_reader: UndoReader | None = undo.reader(facts_of) if undo is not None and facts_of is not None else None
    try:
        return _parse_items(paths, key, items, facts_of, pack, undo, undo_reader)
    finally:
        if undo_reader is not None:
            undo_reader.close()


def _parse_items(
    paths: dict[int, str], key: bytes, items: list[_Item], facts_of: Network | None, pack: bool,
    undo: ChunkUndo | None, undo_reader: UndoReader | None,
) -> list[Any] | tuple[str, int, str, str]:
    blocks: list[Any] = []
    with _Reader(paths, key) as reader:
        for height, number, offset, size in items:
            try:
                data = reader.read(number, offset, size)
                block = parse_block(data, source=reader.paths[number].name, base_offset=offset)
            except ParseError as e:
                # ParseError does not survive pickling (it is rebuilt from its formatted message),
                # so its parts travel back as a tuple.
                prefix = f"{e.source}: byte {e.offset}: "
                return e.source, e.offset, e.message.removeprefix(prefix), e.hint
            if facts_of is None:
                blocks.append(block)
            else:
                parsed = ParsedBlock.of(height, block, facts_of)
                if undo is not None and undo_reader is not None:
                    parsed = ParsedBlock(parsed.facts, parsed.columns, undo.spent(undo_reader, height, number, block))
                blocks.append(parsed.packed() if pack else parsed)
    return blocks


def _raise_error(result: list[Any] | tuple[str, int, str, str], paths: dict[int, str]) -> list[Any]:
    if isinstance(result, tuple):
        source, offset, text, hint = result
        if source == Path(paths[max(paths)]).name:
            # Core preallocates the last file, so a block it is writing right now has the right
            # size field but is still zeros inside.
            hint += "; if the node is running, it may still be writing this block: run again in a moment"
        raise ParseError(text, source, offset, hint=hint)
    return result
