"""A Bitcoin Core JSON-RPC client on the standard library alone, so that any worker can run it.

Credentials (explicit, in the URL, or the `.cookie` bitcoind writes into its datadir) are kept in
one private header value: they never reach a message, a log line or repr().
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from minerwatch.errors import NetworkMismatchError, NodeError, UsageError
from minerwatch.networks import Network

log = logging.getLogger(__name__)

# getblockchaininfo's `chain` for each network (Bitcoin Core's names; bcoin answers the same).
CHAIN_NAMES: dict[str, str] = {
    "mainnet": "main", "testnet3": "test", "testnet4": "testnet4", "signet": "signet",
    "regtest": "regtest",
}
# A hash is 64 hex characters plus JSON framing: 1,000 of them make a 70 KB answer.
HASHES_PER_BATCH = 1_000
# A mainnet block is up to ~4 MB, 8 MB as hex: 16 of them bound one answer to ~130 MB of JSON.
BLOCKS_PER_BATCH = 16
RPC_IN_WARMUP = -28   # bitcoind answers this while it loads its indexes after a start


class RpcCallError(NodeError):
    """The node answered a call with an error (`code` is the JSON-RPC error code)."""

    def __init__(self, message: str, method: str, code: int | None, hint: str = "") -> None:
        super().__init__(message, hint)
        self.method = method
        self.code = code


@dataclass(frozen=True, slots=True)
class WaitEvent:
    """Why the client is waiting, for progress reports (`on_wait`)."""

    reason: str          # "retry" (node not answering), "warmup" (node starting), "syncing" (IBD)
    message: str
    delay_s: float
    blocks: int | None = None
    headers: int | None = None
    progress: float | None = None    # verificationprogress, 0..1


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """The parts of getblockchaininfo minerwatch uses."""

    chain: str
    blocks: int
    headers: int
    best_block_hash: str
    initial_block_download: bool
    verification_progress: float

    @property
    def synced(self) -> bool:
        return not self.initial_block_download and self.headers <= self.blocks


@dataclass(frozen=True, slots=True)
class ChainHeader:
    """The parts of getblockheader that reorg detection needs (hashes in display order)."""

    hash: str
    height: int
    prev_hash: str | None    # None for the genesis block
    time: int
    confirmations: int       # -1 when the block is not in the node's best chain (Bitcoin Core)


def default_datadir() -> Path:
    """Where Bitcoin Core keeps its data by default on this operating system."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "Bitcoin"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Bitcoin"
    return Path.home() / ".bitcoin"


def cookie_path(datadir: Path, network: Network) -> Path:
    """The `.cookie` bitcoind writes for `network` under `datadir`."""
    return datadir / network.datadir_subdir / ".cookie" if network.datadir_subdir else datadir / ".cookie"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class RpcClient:
    """One node's JSON-RPC over one keep-alive HTTP connection. Not thread-safe: one per thread."""

    def __init__(self, url: str | None, network: Network, datadir: Path | None = None,
                 user: str | None = None, password: str | None = None,
                 cookie_file: Path | None = None, timeout_s: float = 60.0, retries: int = 5,
                 on_wait: Callable[[WaitEvent], None] | None = None,
                 backoff_s: float = 0.5, backoff_cap_s: float = 8.0) -> None:
        if network.simulated:
            raise UsageError(f"{network.name} is minerwatch's simulated chain; no node serves it",
                             "use --network mainnet, testnet3, testnet4, signet or regtest with --rpc")
        url = url or f"http://127.0.0.1:{network.rpc_port}"
        parts = urlsplit(url if "://" in url else "http://" + url)   # "host:port" is enough
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # The URL may hold a password: name only its shape.
            raise UsageError("the RPC URL must look like http://HOST:PORT",
                             f"e.g. --rpc http://127.0.0.1:{network.rpc_port}")
        try:
            port = parts.port or network.rpc_port
        except ValueError as e:
            raise UsageError("the RPC URL has an invalid port", "e.g. http://127.0.0.1:8332") from e
        self.network = network
        self.host = parts.hostname
        self.port = port
        self.where = f"{self.host}:{self.port}"
        self._https = parts.scheme == "https"
        self._path = parts.path or "/"
        self.timeout_s = timeout_s
        self.retries = retries
        self.on_wait = on_wait
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self._conn: http.client.HTTPConnection | None = None
        self._answered = False
        self._next_id = 0
        self._cookie: Path | None = None
        self._auth: str | None = None
        if user is not None or password is not None:
            self._auth = _basic(user or "", password or "")
            self._auth_source = "the RPC user and password given"
        elif parts.username is not None or parts.password is not None:
            self._auth = _basic(unquote(parts.username or ""), unquote(parts.password or ""))
            self._auth_source = "the user and password in the RPC URL"
        else:
            self._cookie = cookie_file or cookie_path(datadir or default_datadir(), network)
            self._auth_source = f"the cookie file {self._cookie}"

    def __repr__(self) -> str:
        return f"RpcClient({self.where}, network={self.network.name})"

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------

    def _auth_header(self) -> str | None:
        if self._cookie is None:
            return self._auth
        # Read for every request (~10 µs): bitcoind writes a new cookie each time it starts.
        try:
            text = self._cookie.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise NodeError(
                f"cannot read the node's cookie file {self._cookie} ({e.strerror or e})",
                "pass --datadir DIR (the node's -datadir) or --rpc-cookie FILE, or --rpc-user NAME with the "
                "password in the environment variable MINERWATCH_RPC_PASSWORD; the cookie exists only "
                "while bitcoind runs",
            ) from None
        user, sep, password = text.partition(":")
        if not sep:
            raise NodeError(f"the cookie file {self._cookie} is not USER:PASSWORD",
                            "point --rpc-cookie FILE at the .cookie that bitcoind wrote")
        return _basic(user, password)

    def _post(self, body: bytes) -> tuple[int, str, bytes]:
        """One HTTP exchange on the kept connection; (status, content type, body)."""
        headers = {"Content-Type": "application/json"}
        auth = self._auth_header()
        if auth:
            headers["Authorization"] = auth
        for fresh in (self._conn is None, True):
            if self._conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._conn = cls(self.host, self.port, timeout=self.timeout_s)
            try:
                self._conn.request("POST", self._path, body, headers)
                resp = self._conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # A kept-alive connection the node has since closed (bcoin after 5 s idle,
                # bitcoind after 30 s) fails before the node reads the request: reconnect once.
                if fresh:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if resp.will_close:
                self.close()
            return resp.status, resp.getheader("Content-Type", ""), data
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the HTTP connection (the next call opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _wait(self, event: WaitEvent) -> None:
        log.info("%s", event.message)
        if self.on_wait is not None:
            self.on_wait(event)
        time.sleep(event.delay_s)

    def _exchange(self, payload: object, methods: Sequence[str]) -> object:
        """POST a JSON-RPC payload with retries; the decoded answer."""
        body = json.dumps(payload).encode()
        # Repeating a call whose request may have reached the node is safe only for reads.
        repeatable = all(m.startswith("get") for m in methods)
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            delay_s = min(self.backoff_s * 2 ** (attempt - 1), self.backoff_cap_s)
            try:
                status, ctype, data = self._post(body)
            except (OSError, http.client.HTTPException) as e:
                reason = _describe(e, self.timeout_s)
                sent = not isinstance(e, ConnectionRefusedError)
                if attempt == attempts or (sent and not repeatable):
                    verb = "stopped answering" if self._answered else "did not answer"
                    raise NodeError(
                        f"the node at {self.where} {verb} after {attempt} attempt"
                        f"{'s' if attempt > 1 else ''} ({reason})",
                        "is bitcoind running? check -rpcport / --rpc URL, -rpcallowip, and the "
                        "cookie file (--datadir DIR or --rpc-cookie FILE) or rpcuser/rpcpassword "
                        "(--rpc-user NAME and MINERWATCH_RPC_PASSWORD)",
                    ) from e
                self._wait(WaitEvent("retry", f"the node at {self.where} is not answering ({reason}); "
                                     f"attempt {attempt + 1} of {attempts} in {delay_s:g} s", delay_s))
                continue
            self._answered = True
            answer = self._decode(status, ctype, data)
            if _is_warmup(answer) and attempt < attempts:
                self._wait(WaitEvent("warmup", f"the node at {self.where} is starting up; "
                                     f"asking again in {delay_s:g} s", delay_s))
                continue
            return answer
        raise AssertionError("unreachable")

    def _decode(self, status: int, ctype: str, data: bytes) -> object:
        if status == 401:
            raise NodeError(
                f"the node at {self.where} refused the credentials (HTTP 401)",
                f"minerwatch used {self._auth_source}: check bitcoind's rpcuser/rpcpassword against "
                "--rpc-user NAME and MINERWATCH_RPC_PASSWORD, or --datadir DIR / --rpc-cookie FILE "
                "(the cookie changes every time bitcoind starts)",
            )
        if status == 403:
            raise NodeError(f"the node at {self.where} forbids this client (HTTP 403)",
                            "allow this address with bitcoind's -rpcallowip")
        try:
            return json.loads(data)
        except ValueError:
            raise NodeError(
                f"the node at {self.where} answered HTTP {status} with something that is not "
                f"JSON-RPC ({ctype or 'no content type'}, {len(data)} bytes)",
                "is this the RPC port of a Bitcoin node? bitcoind's default is "
                f"{self.network.rpc_port} for {self.network.name}",
            ) from None

    # -- calls -------------------------------------------------------------------------------------

    def _request(self, method: str, params: Sequence[object]) -> dict[str, object]:
        self._next_id += 1
        return {"jsonrpc": "1.0", "id": self._next_id, "method": method, "params": list(params)}

    def call(self, method: str, *params: object) -> object:
        """One RPC call; its result. RpcCallError when the node answers with an error."""
        answer = self._exchange(self._request(method, params), [method])
        return self._result(answer, method)

    def batch(self, calls: Sequence[tuple[str, Sequence[object]]]) -> list[object]:
        """Several calls in one HTTP request (a JSON-RPC batch); results in the order of `calls`."""
        if not calls:
            return []
        requests = [self._request(m, p) for m, p in calls]
        answer = self._exchange(requests, [m for m, _ in calls])
        if not isinstance(answer, list):
            # Bitcoin Core answers a malformed batch with one error object instead of a list.
            self._result(answer, "batch")
            raise NodeError(f"the node at {self.where} answered a batch with a single object",
                            "the node does not support JSON-RPC batches")
        by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
        results = []
        for req in requests:
            item = by_id.get(req["id"])
            if item is None:
                raise NodeError(f"the node at {self.where} left {req['method']} (id {req['id']}) "
                                "out of its batch answer")
            results.append(self._result(item, str(req["method"])))
        return results

    def _result(self, answer: object, method: str) -> object:
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise NodeError(f"the node at {self.where} answered {method} with something that is "
                            "not a JSON-RPC response")
        error = answer.get("error")
        if error:
            code = error.get("code") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise RpcCallError(f"the node at {self.where} answered {method} with an error: "
                               f"{message} (code {code})", method, code)
        return answer.get("result")

    # -- chain -------------------------------------------------------------------------------------

    def chain_info(self) -> ChainInfo:
        """getblockchaininfo."""
        info = self.call("getblockchaininfo")
        if not isinstance(info, dict):
            raise NodeError(f"the node at {self.where} answered getblockchaininfo without an object")
        return ChainInfo(
            chain=str(info["chain"]), blocks=int(info["blocks"]), headers=int(info["headers"]),
            best_block_hash=str(info["bestblockhash"]),
            # bcoin has no such field; a node that does not say is taken as not in IBD.
            initial_block_download=bool(info.get("initialblockdownload", False)),
            verification_progress=float(info.get("verificationprogress") or 0.0),
        )

    def check_network(self) -> ChainInfo:
        """The node's chain info; NetworkMismatchError when it serves another network."""
        info = self.chain_info()
        expected = CHAIN_NAMES[self.network.name]
        if info.chain != expected:
            theirs = next((n for n, c in CHAIN_NAMES.items() if c == info.chain), None)
            raise NetworkMismatchError(
                f"the node at {self.where} serves {theirs or repr(info.chain)}, not {self.network.name}",
                (f"pass --network {theirs}, or " if theirs else "")
                + f"point --rpc at a {self.network.name} node (default port {self.network.rpc_port})",
            )
        return info

    def wait_until_synced(self, poll_s: float = 10.0, max_wait_s: float | None = 3600.0) -> ChainInfo:
        """Wait while the node is in initial block download or behind its headers; its chain info."""
        started = time.monotonic()
        while True:
            info = self.chain_info()
            if info.synced:
                return info
            waited_s = time.monotonic() - started
            where = (f"block {info.blocks:,} of {info.headers:,} headers, "
                     f"{info.verification_progress:.1%} verified")
            if max_wait_s is not None and waited_s + poll_s > max_wait_s:
                raise NodeError(
                    f"the node at {self.where} is still syncing after {waited_s:.0f} s ({where})",
                    "let it finish (minerwatch reads only what the node has validated) or wait "
                    "longer; a node without peers never leaves initial block download",
                )
            self._wait(WaitEvent("syncing", f"the node at {self.where} is syncing ({where}); "
                                 f"checking again in {poll_s:g} s", poll_s,
                                 info.blocks, info.headers, info.verification_progress))

    def block_count(self) -> int:
        """Height of the node's best chain."""
        return int(self.call("getblockcount"))  # type: ignore[arg-type]

    def best_block_hash(self) -> str:
        """Hash of the node's best block (display order)."""
        return str(self.call("getbestblockhash"))

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        """The best chain's block hash at each height (batched getblockhash)."""
        out: list[str] = []
        for i in range(0, len(heights), HASHES_PER_BATCH):
            chunk = heights[i:i + HASHES_PER_BATCH]
            out.extend(str(h) for h in self.batch([("getblockhash", [int(h)]) for h in chunk]))
        return out

    def raw_blocks(self, hashes: Sequence[str]) -> list[bytes]:
        """The serialized blocks (batched `getblock HASH 0`)."""
        out: list[bytes] = []
        for i in range(0, len(hashes), BLOCKS_PER_BATCH):
            chunk = hashes[i:i + BLOCKS_PER_BATCH]
            for block_hash, raw in zip(chunk, self.batch([("getblock", [h, 0]) for h in chunk])):
                try:
                    out.append(bytes.fromhex(str(raw)))
                except ValueError:
                    raise NodeError(f"the node at {self.where} answered getblock {block_hash} "
                                    "with something that is not hex") from None
        return out

    def header(self, block_hash: str) -> ChainHeader:
        """getblockheader: height, previous hash and whether the block is in the best chain."""
        h = self.call("getblockheader", block_hash, True)
        if not isinstance(h, dict):
            raise NodeError(f"the node at {self.where} answered getblockheader without an object")
        return ChainHeader(hash=str(h["hash"]), height=int(h["height"]),
                           prev_hash=h.get("previousblockhash") or None, time=int(h["time"]),
                           confirmations=int(h.get("confirmations", -1)))


def _is_warmup(answer: object) -> bool:
    if not isinstance(answer, dict):
        return False
    error = answer.get("error")
    return isinstance(error, dict) and error.get("code") == RPC_IN_WARMUP


def _describe(e: BaseException, timeout_s: float) -> str:
    """A short, credential-free reason for a failed exchange."""
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout_s:g} s"
    if isinstance(e, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return "connection closed by the node"
    if isinstance(e, socket.gaierror):
        return "unknown host"
    return type(e).__name__

