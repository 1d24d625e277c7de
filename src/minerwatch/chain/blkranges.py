"""Whole height ranges of a blocks directory, each read and consumed by one of the parser's workers.

`blkfiles.iter_blocks` hands the workers chunks to parse and takes the blocks back, in height order,
for one consumer. A consumer whose work on a range of heights stands alone (a lake part: its rows
need no earlier block) goes further: each worker reads, parses and consumes a whole range itself,
so only the range's location goes out (file, offset and size per block) and only a small result
comes back. The workers are a `ParserPool`'s: started from the fork server, leaving when their
parent is gone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from minerwatch.chain.blkchain import BestChain
from minerwatch.chain.blkfiles import ParserPool, _Item, _plan, _Reader
from minerwatch.chain.block import Block, parse_block
from minerwatch.errors import MinerwatchError
from minerwatch.networks import Network

T = TypeVar("T")

# Ranges given out per worker ahead of the oldest unfinished one: a worker that finishes its range
# while an earlier one is still being written starts the next at once, and the results waiting for
# their turn stay few (each is a range's files, renamed but not yet taken in by the parent).
_RANGES_PER_WORKER = 2


@dataclass(frozen=True, slots=True)
class HeightRange:
    """The blocks of heights first_height..last_height and where they lie: all a worker needs to read them."""

    first_height: int
    last_height: int
    paths: dict[int, str]          # blk file number → path, only the files the range reads
    xor_key: bytes
    items: tuple[_Item, ...]       # (height, file number, offset, size) per block, in height order

    def blocks(self) -> Iterator[tuple[int, Block]]:
        """(height, parsed block), read one block at a time: memory holds one block, whatever the range."""
        with _Reader(self.paths, self.xor_key) as reader:
            for height, number, offset, size in self.items:
                data = reader.read(number, offset, size)
                yield height, parse_block(data, source=reader.paths[number].name, base_offset=offset)


def height_ranges(
    blocks_dir: Path, network: Network, chain: BestChain, start_height: int, stop_height: int | None,
    range_blocks: int,
) -> Iterator[HeightRange]:
    """`chain`'s blocks from `start_height` to `stop_height` (inclusive, None: the tip) in the aligned
    ranges [k·N, k·N + N − 1], N = `range_blocks`; the first and last may be cut by the bounds."""
    files, key, records = _plan(blocks_dir, network, start_height, stop_height, None, chain)
    paths = {n: str(p) for n, p in files.items()}
    items: list[_Item] = []
    for height, rec in records:
        items.append((height, rec.file_number, rec.offset, rec.size_bytes))
        if (height + 1) % range_blocks == 0:
            yield _range(items, paths, key)
            items = []
    if items:
        yield _range(items, paths, key)


def _range(items: list[_Item], paths: dict[int, str], key: bytes) -> HeightRange:
    used = {n: paths[n] for n in {item[1] for item in items}}
    return HeightRange(items[0][0], items[-1][0], used, key, tuple(items))


def map_ranges(ranges: Iterable[HeightRange], task: Callable[[HeightRange], T], parsers: ParserPool) -> Iterator[T]:
    """task(range) for each range, run in the pool's workers; the results in the ranges' order.

    A worker's exception is raised here when its range's turn comes. The pool is closed at the end;
    on an exception, or when the consumer stops early (close() this generator), the workers are
    terminated at once: ranges in hand are abandoned half done, and none is started after."""
    pool = parsers.executor
    todo = iter(ranges)
    window: deque[Future[T]] = deque()

    def fill() -> None:
        while len(window) < parsers.workers * _RANGES_PER_WORKER:
            nxt = next(todo, None)
            if nxt is None:
                return
            window.append(pool.submit(task, nxt))

    try:
        fill()
        while window:
            result = window.popleft().result()
            fill()
            yield result
    except BrokenProcessPool as e:
        parsers.terminate()
        raise MinerwatchError("a worker process died", "run again with --workers 1 to see the cause") from e
    except BaseException:
        parsers.terminate()
        raise
    finally:
        parsers.close()
