"""A real regtest node (bcoin, from tests/regtest) for integration tests, and its pytest fixtures.

The node runs in memory, so every start is a new chain at height 0. Its JSON-RPC follows Bitcoin
Core's; tests/regtest/node.js lists where it was made to follow it more closely. The helpers here
talk to the node with plain urllib on purpose: they must not depend on the client under test.

Without `npm ci --prefix tests/regtest` the tests that need the node are skipped, or fail when
MINERWATCH_REQUIRE_REGTEST=1 (CI sets it, so that a broken install cannot pass unnoticed).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

REGTEST_DIR = Path(__file__).parent / "regtest"
LAUNCHER = REGTEST_DIR / "node.js"
# bcoin starts in ~1 s here; 30 s leaves room for a loaded CI machine.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
REQUIRE_ENV = "MINERWATCH_REQUIRE_REGTEST"


def unavailable_reason() -> str | None:
    """Why the node cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "Node.js (`node`) is not on PATH"
    if not (REGTEST_DIR / "node_modules" / "bcoin").is_dir():
        return "bcoin is not installed: run `npm ci --prefix tests/regtest`"
    return None


def require_node() -> None:
    """Skip the calling test when the node cannot run, or fail it when CI requires the node."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"regtest node required ({REQUIRE_ENV}=1) but unavailable: {reason}")
    pytest.skip(f"regtest node unavailable: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeRpcError(Exception):
    """An error the node answered to a helper call."""


class RegtestNode:
    """One running bcoin regtest node and helpers to shape its chain."""

    def __init__(self, tag: str = "regtest", api_key: str = "regtest-api-key",
                 bcoin_status: bool = False, port: int | None = None, warmup_calls: int = 0,
                 prune_keep: int = 0, prune_after: int = 0) -> None:
        self.api_key = api_key
        self.tag = tag
        self.auth_header = "Basic " + base64.b64encode(f"test:{api_key}".encode()).decode()
        self._mine_address: str | None = None
        # Pruned (prune_keep > 0): keeps the last prune_keep blocks, prunes those above prune_after.
        self.prune = (prune_keep, prune_after)
        # The free port can be taken by another process before the node binds it; try three ports.
        for attempt in range(3):
            self.port = port or free_port()
            try:
                self._launch(bcoin_status, warmup_calls)
                return
            except RuntimeError as e:
                if "EADDRINUSE" not in str(e) or port or attempt == 2:
                    raise

    def _launch(self, bcoin_status: bool, warmup_calls: int) -> None:
        args = ["node", str(LAUNCHER), "--port", str(self.port), "--api-key", self.api_key,
                "--tag", self.tag, "--stop-with-stdin"]
        if bcoin_status:
            args.append("--bcoin-status")
        if warmup_calls:
            args += ["--warmup-calls", str(warmup_calls)]
        if self.prune[0]:
            args += ["--prune-keep", str(self.prune[0]), "--prune-after", str(self.prune[1])]
        # stderr goes to a file: bcoin logs every RPC error there, and a pipe nobody reads would
        # fill (64 KiB) and freeze the node.
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            args, cwd=REGTEST_DIR, env={**os.environ, "NODE_BACKEND": "js"},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )
        self._wait_ready()

    @property
    def url(self) -> str:
        """The RPC URL without credentials."""
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if line.strip() == f"READY {self.port}":
                    return
            if self.process.poll() is not None:
                log = self.log()
                self._close_pipes()
                raise RuntimeError(f"regtest node exited with {self.process.returncode}: {log}")
        self.kill()
        raise RuntimeError(f"regtest node did not print READY within {START_TIMEOUT_S} s")

    # -- lifecycle ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the node has not exited within STOP_TIMEOUT_S."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a test may have frozen it
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()

    def kill(self) -> None:
        """SIGKILL: the node vanishes as after a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_pipes()

    def freeze(self) -> None:
        """SIGSTOP: the node keeps its port open but answers nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def log(self) -> str:
        """The last 4,000 characters the node wrote to stderr."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        self._stderr.close()

    # -- RPC ---------------------------------------------------------------------------------------

    def rpc(self, method: str, *params: object) -> object:
        """One JSON-RPC call; NodeRpcError with the node's message when the call fails."""
        body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": method, "params": list(params)})
        req = urllib.request.Request(self.url + "/", data=body.encode(), method="POST",
                                     headers={"Authorization": self.auth_header,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                answer = json.load(resp)
        except urllib.error.HTTPError as e:
            # Core-style status codes (500/404) still carry the JSON error.
            answer = json.load(e)
        if answer.get("error"):
            raise NodeRpcError(f"{method}: {answer['error']['message']}")
        return answer["result"]

    def new_address(self) -> str:
        """A fresh P2PKH address of the node's wallet."""
        return str(self.rpc("getnewaddress"))

    def set_tag(self, tag: str) -> None:
        """Text (≤ 20 bytes) written into the coinbase scriptSig of the blocks mined from now on."""
        self.rpc("setcoinbasetag", tag)
        self.tag = tag

    def mine(self, n: int, address: str | None = None, tag: str | None = None,
             start_time_s: int | None = None, spacing_s: int = 600) -> list[str]:
        """Mine `n` blocks paying `address` (a wallet address by default); their hashes.

        With `start_time_s`, block i is stamped start_time_s + i × spacing_s (the node's clock is
        mocked, and stays at the last block's time). Times must not go back: the node rejects a
        block older than the median of the last 11 (time-too-old) or > 2 h ahead (time-too-new).
        Without it, bcoin stamps max(now, median time past + 1): a few thousand blocks mined at
        once land within an hour of now.
        """
        if tag is not None and tag != self.tag:
            self.set_tag(tag)
        if address is None:
            if self._mine_address is None:
                self._mine_address = self.new_address()
            address = self._mine_address
        if start_time_s is None:
            return [str(h) for h in self.rpc("generatetoaddress", n, address)]  # type: ignore[union-attr]
        calls: list[tuple[str, list[object]]] = []
        for i in range(n):
            calls += [("setmocktime", [start_time_s + i * spacing_s]),
                      ("generatetoaddress", [1, address])]
        results = self.rpc_batch(calls)
        return [str(r[0]) for r in results[1::2]]  # type: ignore[index]

    def rpc_batch(self, calls: list[tuple[str, list[object]]]) -> list[object]:
        """Several calls in one request, run in order; NodeRpcError at the first that failed."""
        body = json.dumps([{"jsonrpc": "1.0", "id": i, "method": m, "params": p}
                           for i, (m, p) in enumerate(calls)])
        req = urllib.request.Request(self.url + "/", data=body.encode(), method="POST",
                                     headers={"Authorization": self.auth_header,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            answers = sorted(json.load(resp), key=lambda a: a["id"])
        for (method, _), answer in zip(calls, answers):
            if answer.get("error"):
                raise NodeRpcError(f"{method}: {answer['error']['message']}")
        return [a["result"] for a in answers]

    def send(self, address: str, value_sat: int) -> str:
        """Pay `value_sat` to `address` from the wallet (the coins need 100 confirmations); the txid."""
        # bcoin's wallet can miss coinbases of blocks mined through RPC until it rescans.
        self.rpc("walletrescan")
        value_btc = Decimal(value_sat) / 100_000_000
        return str(self.rpc("sendtoaddress", address, float(value_btc)))

    def invalidate(self, block_hash: str) -> None:
        """Mark a block invalid: the tip falls back to its parent (mine afterwards for a reorg)."""
        self.rpc("invalidateblock", block_hash)

    def raw_block(self, block_hash: str) -> bytes:
        """The serialized block, as `getblock HASH 0` gives it."""
        return bytes.fromhex(str(self.rpc("getblock", block_hash, 0)))

    def best_hash(self) -> str:
        return str(self.rpc("getbestblockhash"))

    def height(self) -> int:
        return int(self.rpc("getblockcount"))  # type: ignore[arg-type]


NodeFactory = Callable[..., RegtestNode]


@pytest.fixture(name="regtest_node_factory")
def regtest_node_factory_fixture() -> Iterator[NodeFactory]:
    """Start as many nodes as a test wants (kwargs of RegtestNode); all are stopped at teardown."""
    require_node()
    nodes: list[RegtestNode] = []

    def start(**kwargs: object) -> RegtestNode:
        node = RegtestNode(**kwargs)  # type: ignore[arg-type]
        nodes.append(node)
        return node

    try:
        yield start
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(name="regtest_node")
def regtest_node_fixture(regtest_node_factory: NodeFactory) -> RegtestNode:
    """A fresh regtest node (height 0, coinbase tag "regtest"), stopped at teardown."""
    return regtest_node_factory()


def mark_regtest_items(items: list[pytest.Item]) -> None:
    """Give the `regtest` marker to every test that uses a node fixture."""
    for item in items:
        if {"regtest_node", "regtest_node_factory"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.regtest)
