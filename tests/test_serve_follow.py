"""`serve --follow`: the writer and the readers in one process, sharing one database.

A real server process follows a real node (bcoin, regtest) while 100 clients hit routes the cache
cannot answer and the node mines blocks and reorganises: no answer is a 5xx, and at the end every
block of the node's chain is stored with the node's hash. A `sync` started while a server holds the
file is told which process holds it and what to do instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient

from minerwatch import store
from minerwatch.cli import main
from minerwatch.errors import NodeError
from minerwatch.networks import get_network
from minerwatch.store.lock import Holder, holder_of, minerwatch_command
from minerwatch.sync import Syncer
from minerwatch.web.app import create_app
from minerwatch.web.follow import Follower
from minerwatch.web.shapes import Status
from minerwatch.web.source import SharedSource, WriterState
from web_support import H0, build_db

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
CLIENTS = 100
# Generous: the clients, the server, its writer and the node share whatever cores CI has.
START_TIMEOUT_S = 60.0
CATCH_UP_TIMEOUT_S = 120.0
SERIES = ("hashrate_ehs", "revenue_btc", "fees_btc", "difficulty", "blocks", "subsidy_btc", "fee_share_pct")


class Load:
    """`clients` concurrent HTTP clients, each sending GETs of `url(rng)` back to back until the block ends."""

    def __init__(self, base_url: str, url: Callable[[random.Random], str], clients: int = CLIENTS) -> None:
        self.base_url = base_url
        self.url = url
        self.clients = clients
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="load")

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def wait_for_answers(self, count: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while sum(self.statuses.values()) < count and not self.failures:
            assert time.monotonic() < deadline, f"fewer than {count} answers: {self.statuses}"
            time.sleep(0.05)

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=120.0, limits=limits) as client:
            await asyncio.gather(*(self._client(client, random.Random(i)) for i in range(self.clients)))

    async def _client(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        while not self._stop.is_set():
            url = self.url(rng)
            try:
                r = await client.get(url)
            except httpx.HTTPError as e:
                self.failures.append(f"{url}: {e!r}")
                continue
            self.statuses[r.status_code] += 1
            if r.status_code >= 500:
                self.failures.append(f"{url}: {r.status_code} {r.text[:300]}")


def uncached_url(rng: random.Random) -> str:
    """A route that reads the database, with parameters the cache has (almost surely) not seen."""
    points = rng.randrange(2, 10_000)
    kind = rng.randrange(5)
    if kind == 0:
        return f"/api/v1/series/miner_reserve_btc?interval=all&cohort=0hop&max_points={points}"
    if kind == 1:
        return f"/api/v1/series/{rng.choice(SERIES)}?interval=all&max_points={points}&format=csv"
    if kind == 2:
        return f"/api/v1/blocks/{rng.randrange(0, 200)}"   # cached until the next commit
    return f"/api/v1/series/{rng.choice(SERIES)}?interval=all&max_points={points}"


def start_serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str, Path]:
    """A `minerwatch serve` process on a free port: (process, base URL, its log file)."""
    log = tmp_path / f"serve-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        # The log goes to a file: a pipe nobody reads would fill with access-log lines and stall the server.
        proc = subprocess.Popen([sys.executable, "-m", "minerwatch", "serve", "--port", "0", *args],
                                stdout=subprocess.DEVNULL, stderr=out, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        found = re.search(r"serving (http://127\.0\.0\.1:\d+)/", log.read_text())
        if found:
            return proc, found.group(1), log
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"serve did not start: {log.read_text()}")
        time.sleep(0.1)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def wait_for_tip(base: str, tip_hash: str, log: Path) -> None:
    """Until the server's status answer (a cached route) shows `tip_hash`: the writer committed it and
    the cache let go of the answer from before."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    while (status := get_json(base + "/api/v1/status")).get("tip_hash") != tip_hash:
        assert time.monotonic() < deadline, (status, log.read_text()[-3000:])
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def stored_hashes(db: Path) -> dict[int, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("SELECT height, hash FROM blocks").fetchall())
    finally:
        con.close()


def test_serve_follow_under_load_stores_every_block_through_a_reorg(regtest_node, tmp_path: Path) -> None:  # noqa: ANN001
    node = regtest_node
    node.mine(20, tag="/AntPool/", start_time_s=T0)
    db = tmp_path / "follow.duckdb"
    env = {**os.environ, "MINERWATCH_RPC_PASSWORD": node.api_key}
    proc, base, log = start_serve(tmp_path, "--follow", "--db", str(db), "--network", "regtest", "--rpc", node.url,
                                  "--poll-seconds", "0.2", "--batch-blocks", "4", env=env)
    try:
        wait_for_tip(base, node.best_hash(), log)
        with Load(base, uncached_url) as load:
            load.wait_for_answers(200)
            # New blocks arrive while the clients read (the status answer, cached, shows each commit)...
            node.mine(3, tag="/AntPool/", start_time_s=T0 + 20 * 600)
            wait_for_tip(base, node.best_hash(), log)
            # ...a reorg of depth 2 replaces the last two with five of another pool...
            stale = [node.rpc("getblockhash", h) for h in (22, 23)]
            node.invalidate(stale[0])
            node.mine(5, tag="/ViaBTC/", start_time_s=T0 + 22 * 600 + 30)
            time.sleep(1)
            # ...and the chain grows on the new branch.
            node.mine(2, tag="/F2Pool/", start_time_s=T0 + 27 * 600 + 30)
            wait_for_tip(base, node.best_hash(), log)
            # A separate sync cannot get in, and is told what holds the file and what to do; nor can a
            # second server, which would only ever answer that the database is busy.
            sync = subprocess.run([sys.executable, "-m", "minerwatch", "sync", "--db", str(db), "--rpc", node.url],
                                  capture_output=True, text=True, env=env, timeout=120)
            second = subprocess.run([sys.executable, "-m", "minerwatch", "serve", "--db", str(db), "--port", "0"],
                                    capture_output=True, text=True, timeout=120)
        assert load.failures == [], load.failures[:10]
        assert load.statuses[200] > CLIENTS, load.statuses
        assert sync.returncode == 1
        assert sync.stderr.splitlines() == [
            f"error: the database {db} is held by `minerwatch serve --follow` (pid {proc.pid}), "
            "which stores the node's new blocks itself",
            "hint: no separate sync is needed while it runs; stop it first to write to this file yourself"]
        assert second.returncode == 1
        assert second.stderr.splitlines() == [
            f"error: the database {db} is held by `minerwatch serve --follow` (pid {proc.pid}), "
            "which stores the node's new blocks itself",
            "hint: read it through the server (the dashboard, /api/v1/…), or stop it first"]

        status = get_json(base + "/api/v1/status")
        assert status["tip_hash"] == node.best_hash() and status["tip_height"] == 28 and status["blocks"] == 29
        # 21 at the start, 3 then rolled back to 21, 5 and 2 on the new branch.
        assert status["writer"] == {"state": "following", "blocks_stored": 31, "error": None, "hint": None}
    finally:
        code = stop(proc)
    text = log.read_text()
    # SIGTERM stops the server, then the writer after the batch in hand: exit 0, no traceback.
    assert code == 0, text[-3000:]
    assert "stopped on request" in text and "Traceback" not in text and node.api_key not in text
    assert "reorg: the node's chain left ours after height 21; rolled back" in text
    stored = stored_hashes(db)
    assert stored == {h: node.rpc("getblockhash", h) for h in range(29)}
    assert not set(stale) & set(stored.values())


def test_sync_against_a_busy_serve_is_told_who_holds_the_file(tmp_path: Path) -> None:
    db = build_db(tmp_path / "web.duckdb", days=30)
    proc, base, log = start_serve(tmp_path, "--db", str(db))
    try:
        # Under steady load the server's read connection is never idle, so it never lets the file go.
        with Load(base, uncached_url) as load:
            load.wait_for_answers(200)
            sync = subprocess.run([sys.executable, "-m", "minerwatch", "sync", "--db", str(db),
                                   "--rpc", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=120)
        assert load.failures == [], load.failures[:10]
    finally:
        stop(proc)
    assert sync.returncode == 1
    assert sync.stderr.splitlines() == [
        f"error: the database {db} is held by `minerwatch serve` (pid {proc.pid}), which keeps it open for reading",
        "hint: stop the server while this runs, or run `minerwatch serve --follow --rpc URL` instead of both: "
        "it follows the node and serves the dashboard in one process"]


# --- in one process: the shared database, the writer's state, what names the holder ---------------

def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_read_sees_one_committed_state_while_the_writer_commits(tmp_path: Path) -> None:
    db = build_db(tmp_path / "w.duckdb", days=2)
    con = store.connect(db)
    source = SharedSource(db, con)

    def read_around_a_commit(cur: duckdb.DuckDBPyConnection) -> tuple[int, int]:
        before = cur.execute("SELECT count(*) FROM blocks").fetchone()[0]
        writer = con.cursor()
        writer.execute("DELETE FROM blocks WHERE height >= ?", [H0 + 100])   # one transaction, committed
        writer.close()
        after = cur.execute("SELECT count(*) FROM blocks").fetchone()[0]
        return before, after

    # Both statements of one read see the state from before the commit; the next read the new one.
    assert source.run(read_around_a_commit) == (288, 288)
    assert source.run(lambda cur: cur.execute("SELECT count(*) FROM blocks").fetchone()[0]) == 100
    source.close()
    con.close()


def test_the_response_cache_lets_go_when_the_writer_commits(tmp_path: Path) -> None:
    db = build_db(tmp_path / "w.duckdb", days=2)
    con = store.connect(db)
    source = SharedSource(db, con)
    client = TestClient(create_app(db, source=source))
    assert client.get("/api/v1/status").json()["tip_height"] == H0 + 287
    writer = con.cursor()
    writer.execute("DELETE FROM blocks WHERE height > ?", [H0 + 200])
    # Until the writer says it committed, the answer comes from the cache (no file time is looked at)...
    assert client.get("/api/v1/status").json()["tip_height"] == H0 + 287
    source.committed()
    # ...and right after, from the database.
    assert client.get("/api/v1/status").json()["tip_height"] == H0 + 200
    writer.close()
    source.close()
    con.close()


def test_a_writer_failure_is_logged_and_shown_in_the_status(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "new.duckdb"
    con = store.connect(db)

    def node_gone(syncer: Syncer, should_stop: Callable[[], bool]) -> None:
        raise NodeError("the node at 127.0.0.1:8332 did not answer after 6 attempts (connection refused)",
                        "is bitcoind running? Is --rpc right?")

    follower = Follower(db, con, get_network("regtest"), bulk=lambda syncer: None, follow=node_gone,
                        batch_blocks=10, retry_s=3600)
    client = TestClient(create_app(db, source=follower.source))
    with caplog.at_level(logging.INFO, logger="minerwatch.follow"):
        follower.start()
        wait_until(lambda: follower.state.state == "failed", "the writer never failed")
        # The server keeps answering, and says the node is no longer followed, and why.
        r = client.get("/api/v1/status")
        assert r.status_code == 200
        Status.model_validate(r.json(), strict=True)   # the shape /openapi.json documents
        assert r.json()["writer"] == {
            "state": "failed", "blocks_stored": 0,
            "error": "the node at 127.0.0.1:8332 did not answer after 6 attempts (connection refused)",
            "hint": "is bitcoind running? Is --rpc right?"}
        follower.stop()   # waiting to try again: a stop request ends the wait
    assert follower.state == WriterState("stopped", 0, "the node at 127.0.0.1:8332 did not answer after 6 "
                                                       "attempts (connection refused)",
                                         "is bitcoind running? Is --rpc right?")
    assert ("the writer failed: the node at 127.0.0.1:8332 did not answer after 6 attempts (connection refused) "
            "(hint: is bitcoind running? Is --rpc right?); trying again in 3600 s") in caplog.messages


def test_a_stop_ends_a_bulk_sync_at_the_next_batch(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    batches: list[int] = []
    finished: list[bool] = []

    def bulk(syncer: Syncer) -> None:
        # A long blk-file sync: it has no stop flag, but reports after every committed batch.
        for i in range(1000):
            syncer.on_progress(syncer.progress)
            batches.append(i)
            time.sleep(0.005)
        finished.append(True)

    follower = Follower(db, store.connect(db), get_network("regtest"), bulk=bulk,
                        follow=lambda syncer, should_stop: None, batch_blocks=10)
    follower.start()
    wait_until(lambda: len(batches) > 0, "the bulk sync never reported")
    follower.stop()
    assert finished == [] and len(batches) < 1000
    assert follower.state.state == "stopped"


def test_a_stop_ends_a_wait_on_the_node(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    waits: list[int] = []
    finished: list[bool] = []

    def follow(syncer: Syncer, should_stop: Callable[[], bool]) -> None:
        # A node in initial block download: the client waits and polls, calling back before each wait.
        for i in range(1000):
            follower.stop_point()
            waits.append(i)
            time.sleep(0.005)
        finished.append(True)

    follower = Follower(db, store.connect(db), get_network("regtest"), bulk=lambda syncer: None, follow=follow,
                        batch_blocks=10)
    follower.start()
    wait_until(lambda: len(waits) > 0, "the writer never waited")
    follower.stop()
    assert finished == [] and len(waits) < 1000
    assert follower.state == WriterState("stopped")


def test_serve_takes_the_sync_options_only_with_follow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--db", str(tmp_path / "x.duckdb"), "--rpc", "http://127.0.0.1:8332"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: serve reads blocks from a node or blk files only with --follow",
        "hint: add --follow, or run `minerwatch sync` with these options"]
    assert main(["serve", "--db", str(tmp_path / "x.duckdb"), "--follow"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: nothing to sync from",
        "hint: give --blocks-dir ~/.bitcoin/blocks, or --rpc http://127.0.0.1:8332, or --headers-file FILE"]


def test_the_holder_is_named_from_its_command_line_never_its_arguments(tmp_path: Path) -> None:
    def process(pid: int, *argv: str) -> None:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")

    process(101, "/usr/bin/python3", "-m", "minerwatch", "serve", "--follow", "--rpc", "http://u:secret@h:8332",
            "--token", "a-token-of-twenty-chars")
    process(102, "/home/u/.venv/bin/python3", "/home/u/.venv/bin/minerwatch", "sync", "--blocks-dir", "/b")
    process(103, "/usr/bin/python3", "-c", "import duckdb")
    assert minerwatch_command(101, tmp_path) == "minerwatch serve --follow"
    assert minerwatch_command(102, tmp_path) == "minerwatch sync"
    assert minerwatch_command(103, tmp_path) is None
    assert minerwatch_command(104, tmp_path) is None   # gone, or not Linux
    reason = ('IO Error: Could not set lock on file "/d/m.duckdb": Conflicting lock is held in '
              '/usr/bin/python3.11 (PID 102). See also https://duckdb.org/docs/current/connect/concurrency')
    assert holder_of(reason, tmp_path) == Holder(102, "/usr/bin/python3.11", "minerwatch sync", False)
    assert holder_of(reason.replace("(PID 102)", "(PID 101). However, you would be able to open this database "
                                    "in read-only mode"), tmp_path).reads_only
