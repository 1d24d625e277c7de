"""`serve --follow`: the writer (the sync, as `sync --follow` runs it) in a background thread of the
server's process, on the one database the readers share.

DuckDB lets one process write a file or many read it, never both: a `sync` in another process cannot
get in while a busy dashboard keeps the file open. In one process the writer and the readers share a
single database instance instead; the writer commits one transaction per batch, readers see only
committed states, and every commit makes the response cache start afresh.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from minerwatch.errors import MinerwatchError
from minerwatch.networks import Network
from minerwatch.sync import Progress, Syncer
from minerwatch.web.app import http_server
from minerwatch.web.source import SharedSource, WriterState

log = logging.getLogger("minerwatch.follow")

# After a failure (the node gone or restarting, a refused batch) the writer starts again after this
# long, doubling up to RETRY_MAX_S: a node restarted for an upgrade is followed again without
# restarting the server, and a failure that repeats costs one attempt every few minutes.
RETRY_S = 15.0
RETRY_MAX_S = 600.0
# A bulk sync reports after every batch (~1 s each on mainnet): one log line per this many seconds.
LOG_EVERY_S = 10.0

Bulk = Callable[[Syncer], None]
Follow = Callable[[Syncer, Callable[[], bool]], None]


class _StopRequested(Exception):
    """Raised where the writer calls back (after a commit, before a wait on the node): a bulk sync has
    no stop flag, and the node's client none either."""


class Follower:
    """Runs `bulk(syncer)` (the blk files, if any) then `follow(syncer, should_stop)` (the node's tip)
    in a thread on `con`, telling `source` about every commit and about its own state."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, network: Network, bulk: Bulk, follow: Follow,
                 batch_blocks: int, node: str = "", retry_s: float = RETRY_S) -> None:
        self.con = con
        self.node = node    # where the node is, for messages (never with credentials)
        self.network = network
        self.source = SharedSource(path, con)
        self.bulk = bulk
        self.follow = follow
        self.batch_blocks = batch_blocks
        self.retry_s = retry_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stored_before = 0     # blocks stored by earlier attempts of this process
        self._syncer: Syncer | None = None
        self._in_bulk = False
        self._logged_s = 0.0
        self._logged_height = -1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="minerwatch-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the writer to stop after the batch in hand, wait for it, then close the database."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            log.info("stopping the writer after the batch in hand")
            self._thread.join()
        self.source.close()
        self.con.close()

    def stop_point(self) -> None:
        """Raise if a stop was asked for: called where the writer waits (the node's client, between
        its retries or while the node is in initial block download), so that a stop need not wait
        for the node."""
        if self._stop.is_set():
            raise _StopRequested

    @property
    def state(self) -> WriterState:
        return self.source.writer() or WriterState("starting")

    def _run(self) -> None:
        delay_s = self.retry_s
        while not self._stop.is_set():
            cursor = self.con.cursor()
            try:
                self._syncer = Syncer(cursor, self.network, batch_blocks=self.batch_blocks,
                                      on_progress=self._progress, on_commit=self.source.committed)
                self._in_bulk = True
                self.bulk(self._syncer)
                self._in_bulk = False
                self.follow(self._syncer, self._stop.is_set)
                break   # told to stop, or --stop-height reached
            except _StopRequested:
                break
            except MinerwatchError as e:
                self._failed(e.message, e.hint, delay_s)
            except Exception as e:   # a bug: keep serving what is stored, and say so
                log.exception("the writer failed")
                self._failed(f"{type(e).__name__}: {e}", "report this as a bug (the server log has the details)",
                             delay_s)
            finally:
                self._stored_before += self._syncer.progress.blocks if self._syncer else 0
                self._syncer = None
                cursor.close()
            self._stop.wait(delay_s)
            delay_s = min(delay_s * 2, RETRY_MAX_S)
        previous = self.state
        self._set("stopped", error=previous.error, hint=previous.hint)
        log.info("writer stopped; %d blocks stored by this server", self._stored_before)

    def _failed(self, message: str, hint: str, retry_in_s: float) -> None:
        log.error("the writer failed: %s (hint: %s); trying again in %.0f s", message, hint, retry_in_s)
        self._set("failed", error=message, hint=hint)

    def _set(self, state: str, error: str | None = None, hint: str | None = None) -> None:
        blocks = self._stored_before + (self._syncer.progress.blocks if self._syncer else 0)
        self.source.set_writer(WriterState(state, blocks, error, hint))

    def _progress(self, p: Progress) -> None:
        if self._in_bulk and self._stop.is_set():
            raise _StopRequested   # after a commit: what is stored is whole
        # A progress report means the source answered: the writer works (again, after a failure).
        self._set("syncing" if self._in_bulk else "following")
        now = time.monotonic()
        if p.note:
            log.info("%s", p.note)
            p.note = ""
        if p.height != self._logged_height and (p.height >= p.target_height or now - self._logged_s >= LOG_EVERY_S):
            log.info("stored up to height %d of %d", p.height, p.target_height)
            self._logged_s, self._logged_height = now, p.height


def serve_following(follower: Follower, host: str, port: int, token: str | None, sock: socket.socket) -> None:
    """Serve while `follower` writes; on SIGINT/SIGTERM the server stops, then the writer after its batch."""
    server = http_server(follower.source.path, host, port, token, source=follower.source)

    def stop_server(*_: object) -> None:
        server.should_exit = True

    # uvicorn takes both signals while it runs, then restores these handlers and raises the signal
    # again: here that only repeats the request to stop, instead of killing the process mid-batch
    # (the default for SIGTERM). A signal that arrives before uvicorn has taken over stops it too.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_server)
    follower.start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        follower.stop()
