"""The server's one door to the database: a read-only connection opened on demand and released when
idle (so that `sync --follow` can take the file between batches), or, with `serve --follow`, cursors
on the database this process writes; and a response cache that is valid until the database changes."""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
import duckdb

from minerwatch.errors import StoreError
from minerwatch.queries import series
from minerwatch.queries.db import connect_readonly, is_locked

T = TypeVar("T")

# Opening the file costs ~20 ms; a connection idle this long is closed so that a writer can get in.
IDLE_CLOSE_S = 1.0
# stat() of the file and its WAL is ~5 µs, but 100 clients × thousands of requests add up: look at
# most every 250 ms, so a new block shows within a quarter second of being committed.
STAT_EVERY_S = 0.25
CACHE_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class CachedResponse:
    status: int
    media_type: str
    body: bytes


_OPEN_SOURCES: "weakref.WeakSet[DataSource]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Close connections before the interpreter tears down: a DuckDB connection finalized during
    # shutdown (or by the idle thread waking then) can abort the process.
    for source in list(_OPEN_SOURCES):
        source.close()


class DataSource:
    """Runs read functions against the database at `path`, one at a time (DuckDB connections are
    not shared across threads)."""

    def __init__(self, path: Path, stat_every_s: float = STAT_EVERY_S) -> None:
        self.path = path
        self.stat_every_s = stat_every_s
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._last_use = 0.0
        self._closer: threading.Thread | None = None
        self._generation: tuple[int, ...] = ()
        self._stat_at = 0.0
        self._reopen = False
        _OPEN_SOURCES.add(self)

    def generation(self) -> tuple[int, ...]:
        """Changes whenever the database file or its WAL changes."""
        now = time.monotonic()
        if now - self._stat_at >= self.stat_every_s:
            parts: list[int] = []
            for p in (self.path, Path(str(self.path) + ".wal")):
                try:
                    st = os.stat(p)
                    parts += [st.st_mtime_ns, st.st_size, st.st_ino]
                except FileNotFoundError:
                    parts += [0, 0, 0]
            if tuple(parts) != self._generation:
                self._generation = tuple(parts)
                self._reopen = True      # closed by the next run(), never from the event loop
            self._stat_at = now
        return self._generation

    def exists(self) -> bool:
        return self.path.exists()

    def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """fn(connection), on a read-only connection opened if needed."""
        with self._lock:
            if self._reopen and self._con is not None:
                self._close_locked()
            self._reopen = False
            if self._con is None:
                self._con = self._open()
                series.remember(self._con)
            self._last_use = time.monotonic()
            try:
                return fn(self._con)
            except duckdb.Error as e:
                raise StoreError(f"the database could not answer: {str(e).splitlines()[0]}",
                                 "run `minerwatch sync` to bring it up to date") from e
            finally:
                self._last_use = time.monotonic()
                self._start_closer()

    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            return connect_readonly(self.path)
        except StoreError as e:
            raise served_error(self.path, e) from e

    def _close_locked(self) -> None:
        series.forget()
        if self._con is not None:
            self._con.close()
            self._con = None

    def _release(self) -> None:
        with self._lock:
            self._close_locked()

    def _start_closer(self) -> None:
        if self._closer is None or not self._closer.is_alive():
            self._closer = threading.Thread(target=self._close_when_idle, name="minerwatch-db-idle", daemon=True)
            self._closer.start()

    def _close_when_idle(self) -> None:
        while True:
            time.sleep(IDLE_CLOSE_S / 2)
            with self._lock:
                if self._con is None:
                    return
                if time.monotonic() - self._last_use >= IDLE_CLOSE_S:
                    self._close_locked()
                    return

    def close(self) -> None:
        self._release()

    def writer(self) -> WriterState | None:
        """No writer in this process: a sync, if any, runs elsewhere."""
        return None


@dataclass(frozen=True, slots=True)
class WriterState:
    """What the writer of `serve --follow` is doing, for the status answer."""

    state: str                  # "starting" | "syncing" (blk files) | "following" (the node) | "failed" | "stopped"
    blocks_stored: int = 0      # by this process
    error: str | None = None    # the last failure's message, until the writer is back
    hint: str | None = None


class SharedSource:
    """The door to a database this process also writes (`serve --follow`): one DuckDB instance, one
    cursor per read (DuckDB's way to share a database across threads) and each read in one
    transaction, so that it sees one committed state (a batch is one transaction: never half of it).
    The generation moves when the writer commits, not when the file's time does."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = con
        self._lock = threading.Lock()
        self._commits = 0
        self._writer = WriterState("starting")

    def generation(self) -> tuple[int, ...]:
        return (self._commits,)

    def committed(self) -> None:
        """The writer committed (or changed state): every answer cached before is stale."""
        with self._lock:
            self._commits += 1

    def set_writer(self, state: WriterState) -> None:
        self._writer = state
        self.committed()

    def writer(self) -> WriterState | None:
        return self._writer

    def exists(self) -> bool:
        return True   # opened (created if new) before the server started

    def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """fn(cursor), inside one read transaction."""
        with self._lock:
            if self._con is None:
                raise StoreError("the server is stopping", "retry once it is back")
            cur = self._con.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            return fn(cur)
        except duckdb.Error as e:
            raise StoreError(f"the database could not answer: {str(e).splitlines()[0]}",
                             "retry; the server log has the details if it persists") from e
        finally:
            cur.close()   # ends the read transaction: nothing was written in it

    def close(self) -> None:
        """No new reads; the connection itself belongs to whoever opened it."""
        with self._lock:
            self._con = None


Source = DataSource | SharedSource


def served_error(path: Path, e: StoreError) -> StoreError:
    """The open error `e` as a client sees it: the file's name, never the folder it is in (nor, for a
    lock, the writer's process id and executable, which DuckDB's message carries)."""
    if is_locked(e):
        return StoreError("the database is busy (another process, such as a sync, is writing to it)",
                          "retry in a moment; `sync --follow` releases the file between batches")
    message = e.message
    # DuckDB quotes the absolute path, the store the path as given: replace the longer one first.
    for shown in sorted({str(path.resolve()), str(path)}, key=len, reverse=True):
        message = message.replace(shown, path.name)
    return StoreError(message, e.hint)


class ResponseCache:
    """Rendered responses keyed by request, valid for one database generation. Concurrent misses of
    one key share a single computation."""

    def __init__(self, source: Source, entries: int = CACHE_ENTRIES) -> None:
        self.source = source
        self.entries = entries
        self._store: OrderedDict[str, tuple[tuple[int, ...], CachedResponse]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[CachedResponse]] = {}

    def peek(self, key: str) -> CachedResponse | None:
        """The cached response for `key` if it is still valid, without computing anything."""
        hit = self._store.get(key)
        return hit[1] if hit is not None and hit[0] == self.source.generation() else None

    async def get(self, key: str, compute: Callable[[], CachedResponse]) -> CachedResponse:
        gen = self.source.generation()
        hit = self._store.get(key)
        if hit is not None and hit[0] == gen:
            self._store.move_to_end(key)
            return hit[1]
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        fut: asyncio.Future[CachedResponse] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            try:
                value = await anyio.to_thread.run_sync(compute)
            except StoreError:
                # A sync holding the file: the previous answer is better than none.
                if hit is not None:
                    value = hit[1]
                else:
                    raise
            else:
                if value.status < 500:
                    self._store[key] = (gen, value)
                    self._store.move_to_end(key)
                    while len(self._store) > self.entries:
                        self._store.popitem(last=False)
            fut.set_result(value)
            return value
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]
