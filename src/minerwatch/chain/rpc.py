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

from minerwatch.chain.rpc_answers import HINT as NOT_RPC_HINT
from minerwatch.chain.rpc_answers import Answer, ChainHeader, ChainInfo, chain_header, chain_info, shown
from minerwatch.errors import NetworkMismatchError, NodeError, UsageError
from minerwatch.networks import NETWORKS, Network

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
RPC_INVALID_PARAMETER = -8   # e.g. getblockhash of a height above the node's tip
RPC_MISC_ERROR = -1          # e.g. getblock of a block a pruned node no longer has
CONNECT_HINT = ("is bitcoind running? check -rpcport / --rpc URL, -rpcallowip, and the cookie file "
                "(--datadir DIR or --rpc-cookie FILE) or rpcuser/rpcpassword (--rpc-user NAME and "
                "MINERWATCH_RPC_PASSWORD)")
NO_ANSWER = "no answer"
# The longest one call may take, retries and waits included (--rpc-timeout). A local node answers a
# batch of 16 blocks in about a second; a frozen one used to cost six 60 s attempts and 15.5 s of
# backoff (376 s) before an error.
DEFAULT_TIMEOUT_S = 60.0
# 16 blocks of 4,000,000 bytes are 128 MB as hex; the rest of the bound is JSON framing. A larger
# answer is refused before it fills memory.
MAX_ANSWER_BYTES = 144_000_000
READ_CHUNK_BYTES = 1 << 20
# How much of a node's own error message is repeated to the user.
NODE_MESSAGE_CHARS = 300


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
                 cookie_file: Path | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = 5,
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

    def _post(self, body: bytes | None, deadline: float, method: str = "POST",
              path: str | None = None) -> tuple[int, str, bytes | bytearray]:
        """One HTTP exchange on the kept connection, over by `deadline`; (status, content type, body)."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        auth = self._auth_header()
        if auth:
            headers["Authorization"] = auth
        for fresh in (self._conn is None, True):
            if self._conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._conn = cls(self.host, self.port, timeout=_left(deadline))
            try:
                self._conn.timeout = _left(deadline)          # used when it connects
                if self._conn.sock is not None:
                    self._conn.sock.settimeout(_left(deadline))
                self._conn.request(method, path or self._path, body, headers)
                # Kept here: the connection lets go of its socket when the answer says it closes.
                sock = self._conn.sock
                assert sock is not None
                sock.settimeout(_left(deadline))
                resp = self._conn.getresponse()
                data = self._read(resp, sock, deadline)
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

    def _read(self, resp: http.client.HTTPResponse, sock: socket.socket, deadline: float) -> bytearray:
        """The answer's body, read in chunks so that neither a trickle nor a flood outlasts the bounds."""
        if resp.length is not None and resp.length > MAX_ANSWER_BYTES:
            raise self._too_large(resp.length)
        data = bytearray()
        # resp.length counts down what the Content-Length promised (None without one). A response
        # that has read to the end of the connection lets go of the socket: no timeout to set then.
        while resp.length != 0 and not resp.isclosed():
            # The socket's timeout bounds one receive; read1 makes at most one per call (read would
            # make as many as the chunk needs), so setting it to what is left bounds them all.
            sock.settimeout(_left(deadline))
            chunk = resp.read1(READ_CHUNK_BYTES)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_ANSWER_BYTES:
                raise self._too_large(len(data))
        missing = resp.length
        # The next request on this connection needs the response closed (read1 does not close it).
        resp.close()
        if missing:
            # read1 ends quietly where the node closed, even short of the Content-Length it sent.
            raise http.client.IncompleteRead(bytes(data), missing)
        return data

    def _too_large(self, size: int) -> NodeError:
        return NodeError(f"the node at {self.where} sent an answer of more than {MAX_ANSWER_BYTES:,} bytes "
                         f"({size:,} bytes)", "is this the RPC port of a Bitcoin node? a block is at most "
                         "4 MB, and minerwatch asks for at most 16 at a time")

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
        """POST a JSON-RPC payload with retries, all within timeout_s; the decoded answer."""
        body = json.dumps(payload).encode()
        # Repeating a call whose request may have reached the node is safe only for reads.
        repeatable = all(m.startswith("get") for m in methods)
        what = _calls(methods)
        deadline = time.monotonic() + self.timeout_s
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            delay_s = min(self.backoff_s * 2 ** (attempt - 1), self.backoff_cap_s)
            try:
                status, ctype, data = self._post(body, deadline)
            # ValueError: http.client's answer to a chunk size that is not hex.
            except (OSError, http.client.HTTPException, ValueError) as e:
                reason = _describe(e)
                sent = not isinstance(e, ConnectionRefusedError)
                # A wait that would end past the deadline is not begun: the call gives up now.
                if isinstance(e, TimeoutError) or time.monotonic() + delay_s >= deadline:
                    raise self._timed_out(what, attempt, reason) from e
                if attempt == attempts or (sent and not repeatable):
                    raise self._gave_up(attempt, reason) from e
                self._wait(WaitEvent("retry", f"the node at {self.where} is not answering ({reason}); "
                                     f"attempt {attempt + 1} of {attempts} in {delay_s:g} s", delay_s))
                continue
            self._answered = True
            answer = self._decode(status, ctype, data)
            if _is_warmup(answer) and attempt < attempts and time.monotonic() + delay_s < deadline:
                self._wait(WaitEvent("warmup", f"the node at {self.where} is starting up; "
                                     f"asking again in {delay_s:g} s", delay_s))
                continue
            return answer
        raise AssertionError("unreachable")

    def _gave_up(self, attempt: int, reason: str) -> NodeError:
        verb = "stopped answering" if self._answered else "did not answer"
        return NodeError(f"the node at {self.where} {verb} after {_attempts(attempt)} ({reason})", CONNECT_HINT)

    def _timed_out(self, what: str, attempt: int, reason: str) -> NodeError:
        tried = f"{_attempts(attempt)}, the last: {reason}" if attempt > 1 or reason != NO_ANSWER else ""
        return NodeError(
            f"the node at {self.where} did not answer {what} within {self.timeout_s:g} s"
            + (f" ({tried})" if tried else ""),
            f"a busy or slow node (or a slow link) may need longer: raise --rpc-timeout SECONDS "
            f"(now {self.timeout_s:g}); otherwise check that the node is running and that --rpc names "
            "its RPC port",
        )

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
        # RecursionError: JSON nested a few thousand levels deep.
        except (ValueError, RecursionError):
            raise NodeError(
                f"the node at {self.where} answered HTTP {status} with something that is not "
                f"JSON-RPC ({_printable(ctype) or 'no content type'}, {len(data)} bytes)",
                "is this the RPC port of a Bitcoin node? bitcoind's default is "
                f"{self.network.rpc_port} for {self.network.name}",
            ) from None

    # -- calls -------------------------------------------------------------------------------------

    def _request(self, method: str, params: Sequence[object]) -> dict[str, object]:
        self._next_id += 1
        return {"jsonrpc": "1.0", "id": self._next_id, "method": method, "params": list(params)}

    def call(self, method: str, *params: object) -> object:
        """One RPC call; its result. RpcCallError when the node answers with an error."""
        request = self._request(method, params)
        answer = self._exchange(request, [method])
        # An answer to another request means the exchange is out of step: trust none of it.
        if isinstance(answer, dict) and answer.get("id") is not None and answer.get("id") != request["id"]:
            raise NodeError(f"the node at {self.where} answered {method} with the answer to another "
                            f"request (id {shown(answer.get('id'))}, not {request['id']})", NOT_RPC_HINT)
        return self._result(answer, method)

    def batch(self, calls: Sequence[tuple[str, Sequence[object]]]) -> list[object]:
        """Several calls in one HTTP request (a JSON-RPC batch); results in the order of `calls`."""
        if not calls:
            return []
        requests = [self._request(m, p) for m, p in calls]
        answer = self._exchange(requests, [m for m, _ in calls])
        if not isinstance(answer, list):
            # Bitcoin Core answers a malformed batch with one error object instead of a list.
            self._result(answer, _calls([m for m, _ in calls]))
            raise NodeError(f"the node at {self.where} answered a batch with a single object",
                            "the node does not support JSON-RPC batches")
        if len(answer) != len(requests):
            raise NodeError(f"the node at {self.where} answered a batch of {len(requests)} calls "
                            f"({_calls([m for m, _ in calls])}) with {len(answer)} answers", NOT_RPC_HINT)
        by_id: dict[int, dict] = {}
        for item in answer:
            # Only an int can be one of our ids (and a list or object as an id is not hashable).
            rid = item.get("id") if isinstance(item, dict) else None
            if type(rid) is int:
                if rid in by_id:
                    raise NodeError(f"the node at {self.where} answered id {rid} twice in one batch",
                                    NOT_RPC_HINT)
                by_id[rid] = item
        results = []
        for req in requests:
            item = by_id.get(req["id"])
            if item is None:
                raise NodeError(f"the node at {self.where} left {req['method']} (id {req['id']}) "
                                "out of its batch answer", NOT_RPC_HINT)
            results.append(self._result(item, str(req["method"])))
        return results

    def _result(self, answer: object, method: str) -> object:
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise NodeError(f"the node at {self.where} answered {method} with {shown(answer)}, "
                            "not a JSON-RPC response", NOT_RPC_HINT)
        error = answer.get("error")
        if error:
            code = error.get("code") if isinstance(error, dict) else None
            code = code if type(code) is int else None
            message = error.get("message") if isinstance(error, dict) else error
            text = _printable(message, NODE_MESSAGE_CHARS) if isinstance(message, str) else shown(message)
            raise RpcCallError(f"the node at {self.where} answered {method} with an error: "
                               f"{text} (code {code})", method, code)
        return answer.get("result")

    # -- chain -------------------------------------------------------------------------------------

    def chain_info(self) -> ChainInfo:
        """getblockchaininfo."""
        return chain_info(self.where, self.call("getblockchaininfo"))

    def check_network(self) -> ChainInfo:
        """The node's chain info; NetworkMismatchError when it serves another network or another
        chain under the network's name (its genesis block is not the network's)."""
        info = self.chain_info()
        expected = CHAIN_NAMES[self.network.name]
        if info.chain != expected:
            theirs = next((n for n, c in CHAIN_NAMES.items() if c == info.chain), None)
            raise NetworkMismatchError(
                f"the node at {self.where} serves {theirs or repr(info.chain)}, not {self.network.name}",
                (f"pass --network {theirs}, or " if theirs else "")
                + f"point --rpc at a {self.network.name} node (default port {self.network.rpc_port})",
            )
        genesis = self.block_hash(0)
        if genesis != self.network.genesis_hash:
            # The name is the node's word; the genesis block is what its chain is built on.
            other = next((n.name for n in NETWORKS.values() if n.genesis_hash == genesis), None)
            raise NetworkMismatchError(
                f"the node at {self.where} says it serves {self.network.name}, but its genesis block is "
                f"{genesis}{f' (that of {other})' if other else ''}, not {self.network.name}'s "
                f"{self.network.genesis_hash}",
                f"the node follows another chain than {self.network.name}'s: point --rpc at a "
                f"{self.network.name} node (default port {self.network.rpc_port}); nothing was stored "
                "from this one",
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
        return Answer(self.where, "getblockcount").height(self.call("getblockcount"))

    def best_block_hash(self) -> str:
        """Hash of the node's best block (display order)."""
        return Answer(self.where, "getbestblockhash").block_hash(self.call("getbestblockhash"))

    def block_hash(self, height: int) -> str:
        """The best chain's block hash at `height` (display order)."""
        return Answer(self.where, f"getblockhash {height}").block_hash(self.call("getblockhash", height))

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        """The best chain's block hash at each height (batched getblockhash)."""
        out: list[str] = []
        for i in range(0, len(heights), HASHES_PER_BATCH):
            chunk = heights[i:i + HASHES_PER_BATCH]
            answers = self.batch([("getblockhash", [int(h)]) for h in chunk])
            out.extend(Answer(self.where, f"getblockhash {h}").block_hash(a) for h, a in zip(chunk, answers))
        return out

    def raw_blocks(self, hashes: Sequence[str]) -> list[bytes]:
        """The serialized blocks (batched `getblock HASH 0`)."""
        out: list[bytes] = []
        for i in range(0, len(hashes), BLOCKS_PER_BATCH):
            chunk = hashes[i:i + BLOCKS_PER_BATCH]
            answers = self.batch([("getblock", [h, 0]) for h in chunk])
            out.extend(Answer(self.where, f"getblock {h}").raw_block(a) for h, a in zip(chunk, answers))
        return out

    def verbose_blocks(self, hashes: Sequence[str]) -> list[object]:
        """`getblock HASH 3` answers (the transactions with each input's prevout), one request per
        block: a full block's answer is ~10× its raw size. An error answer becomes None."""
        out: list[object] = []
        for h in hashes:
            try:
                out.append(self.call("getblock", h, 3))
            except RpcCallError:
                out.append(None)
        return out

    def raw_headers(self, hashes: Sequence[str]) -> list[bytes]:
        """The 80-byte headers (batched `getblockheader HASH false`)."""
        out: list[bytes] = []
        for i in range(0, len(hashes), HASHES_PER_BATCH):
            chunk = hashes[i:i + HASHES_PER_BATCH]
            answers = self.batch([("getblockheader", [h, False]) for h in chunk])
            out.extend(Answer(self.where, f"getblockheader {h}").raw_header(a) for h, a in zip(chunk, answers))
        return out

    def rest_headers(self, block_hash: str, count: int) -> bytes | None:
        """Up to `count` 80-byte headers of the best chain from `block_hash` on, over Bitcoin Core's
        REST interface (`GET /rest/headers/HASH.bin?count=N`: one request for 2,000 headers where
        JSON-RPC needs 4,000 calls); None when the node does not serve it (REST off: bitcoind
        without -rest answers 404; bcoin has no such path), so that the caller asks over JSON-RPC."""
        try:
            status, _, data = self._post(None, time.monotonic() + self.timeout_s, "GET",
                                         f"/rest/headers/{block_hash}.bin?count={int(count)}")
        except (OSError, http.client.HTTPException, ValueError):
            return None
        if status != 200 or not data or len(data) % 80:
            return None
        return bytes(data)

    def header(self, block_hash: str) -> ChainHeader:
        """getblockheader: height, previous hash and whether the block is in the best chain."""
        return chain_header(self.where, self.call("getblockheader", block_hash, True))


def _is_warmup(answer: object) -> bool:
    if not isinstance(answer, dict):
        return False
    error = answer.get("error")
    return isinstance(error, dict) and error.get("code") == RPC_IN_WARMUP


def _describe(e: BaseException) -> str:
    """A short, credential-free reason for a failed exchange."""
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, TimeoutError):     # socket.timeout is TimeoutError since Python 3.10
        return NO_ANSWER
    if isinstance(e, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return "connection closed by the node"
    if isinstance(e, socket.gaierror):
        return "unknown host"
    if isinstance(e, http.client.IncompleteRead):
        return "the answer was cut short"
    if isinstance(e, (http.client.HTTPException, ValueError)):
        return "an answer that is not HTTP"
    return type(e).__name__


def _printable(text: str, chars: int = 60) -> str:
    """A node's text, shortened, with control and non-ASCII characters escaped (it reaches a terminal)."""
    return ascii(text[:chars])[1:-1]


def _left(deadline: float) -> float:
    """Seconds until `deadline`; TimeoutError once it has passed (a socket timeout of 0 would not block)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the call's time is up")
    return left


def _attempts(n: int) -> str:
    return f"{n} attempt{'s' if n > 1 else ''}"


def _calls(methods: Sequence[str]) -> str:
    """The calls of one request, for messages: "getblockcount", or "a batch of 16 getblock"."""
    if len(methods) == 1:
        return methods[0]
    names = sorted(set(methods))
    return f"a batch of {len(methods)} {' and '.join(names) if len(names) <= 3 else 'calls'}"

