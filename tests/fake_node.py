"""A JSON-RPC server on loopback that answers like Bitcoin Core from a list of real raw blocks, with
faults a real node will not produce (another chain's hashes, broken answers, a hang).

It speaks HTTP/1.1 with keep-alive, as bitcoind does, so the client under test runs its real
transport. Block hashes are computed here with hashlib, independently of minerwatch's parser.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data"
MAINNET_MAGIC = bytes.fromhex("f9beb4d9")


def read_blk_file(path: Path, magic: bytes = MAINNET_MAGIC) -> list[bytes]:
    """The raw blocks of a blk*.dat file (magic, little-endian size, block), in file order."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos + 8 <= len(data):
        assert data[pos:pos + 4] == magic, f"{path}: no magic at byte {pos}"
        (size,) = struct.unpack_from("<I", data, pos + 4)
        out.append(data[pos + 8:pos + 8 + size])
        pos += 8 + size
    return out


def mainnet_blocks() -> list[bytes]:
    """Real mainnet blocks 0–438 (tests/data/blkfiles, in height order)."""
    return read_blk_file(DATA / "blkfiles" / "mainnet-heights-0-438.dat")


def block_hash(raw: bytes) -> str:
    """The block's hash in display order: double SHA-256 of the 80-byte header, byte-reversed."""
    return hashlib.sha256(hashlib.sha256(raw[:80]).digest()).digest()[::-1].hex()


@dataclass
class Reply:
    """One HTTP answer, as the fault hooks shape it."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"
    # Sent instead of the true length when set (a lie makes the client read short or wait).
    content_length: int | None = None
    close: bool = False
    no_length: bool = False        # no Content-Length: the body ends where the connection closes
    hang_up: bool = False          # close the connection without answering at all
    trickle_s: float = 0.0         # send the body one byte at a time, this long apart


# (request as decoded JSON, the honest answer as JSON) → the reply to send instead, or None.
Rewrite = Callable[[object, object], Reply | None]


@dataclass
class FakeNode:
    """A node over JSON-RPC serving `blocks` as its best chain (`hashes[h]` is what getblockhash h
    answers; tests may point heights at other blocks). Counts every request and call."""

    blocks: list[bytes]
    chain: str = "main"
    rewrite: Rewrite | None = None
    # Each call's name, in the order the node received them (a batch adds one per item).
    calls: list[str] = field(default_factory=list)
    requests: int = 0
    connections: int = 0
    # After this many HTTP requests every call is answered with an error: a sync that would loop
    # forever ends instead, with a message no fixed code gives.
    max_requests: int | None = None
    # A hook run on every call (name, params) before it is answered, e.g. to repair a fault.
    on_call: Callable[[str, list], None] | None = None
    hang: threading.Event = field(default_factory=threading.Event)
    # Serve Bitcoin Core's REST headers (GET /rest/headers/HASH.bin?count=N), as bitcoind -rest does;
    # off, GET is answered 404, as by a bitcoind without -rest.
    rest: bool = False
    _release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.by_hash = {block_hash(r): r for r in self.blocks}
        self.hashes = [block_hash(r) for r in self.blocks]
        self.lock = threading.Lock()
        node = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm and the client's delayed
            # ACK, each answer would wait ~40 ms for nothing (bitcoind sends both in one).
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with node.lock:
                    node.connections += 1

            def handle(self) -> None:
                # A client that gives up closes mid-answer: that is the test's business, not a
                # traceback on stderr.
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with node.lock:
                    node.requests += 1
                if node.hang.is_set():
                    # Hold the request unanswered, as a frozen node does, until the test ends.
                    node._release.wait(60)
                    self.close_connection = True
                    return
                self._send(node._answer(body))

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with node.lock:
                    node.requests += 1
                path, _, query = self.path.partition("?")
                prefix, suffix = "/rest/headers/", ".bin"
                want = path[len(prefix):-len(suffix)] if path.startswith(prefix) and path.endswith(suffix) else ""
                if not node.rest or want not in node.hashes:
                    self._send(Reply(b"Not found", 404, "text/plain"))
                    return
                node.calls.append("rest/headers")
                count = int(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("count", "5"))
                start = node.hashes.index(want)
                body = b"".join(node.by_hash[h][:80] for h in node.hashes[start:start + count])
                self._send(Reply(body, 200, "application/octet-stream"))

            def _send(self, reply: Reply) -> None:
                if reply.hang_up:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                length = len(reply.body) if reply.content_length is None else reply.content_length
                if not reply.no_length:
                    self.send_header("Content-Length", str(length))
                if reply.close or reply.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if not reply.trickle_s:
                    self.wfile.write(reply.body)
                    return
                for i in range(len(reply.body)):
                    if node._release.wait(reply.trickle_s):
                        return
                    try:
                        self.wfile.write(reply.body[i:i + 1])
                    except OSError:   # the client gave up and closed
                        return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        # A short poll: shutdown() waits for it, and a test starts a node or two.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- answers -----------------------------------------------------------------------------------

    def _answer(self, body: bytes) -> Reply:
        try:
            request = json.loads(body)
        except ValueError:
            return Reply(b'{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}', 500)
        if isinstance(request, list):
            answer: object = [self._item(r) for r in request]
            status = 200
        else:
            answer = self._item(request)
            status = 500 if answer["error"] else 200  # type: ignore[index]  # as bitcoind
        if self.rewrite is not None:
            reply = self.rewrite(request, answer)
            if reply is not None:
                return reply
        return Reply(json.dumps(answer).encode(), status)

    def _item(self, request: dict) -> dict:
        method, params, rid = request.get("method"), request.get("params") or [], request.get("id")
        self.calls.append(str(method))
        if self.max_requests is not None and self.requests > self.max_requests:
            return _error(rid, -1, f"fake node: more than {self.max_requests} requests")
        if self.on_call is not None:
            self.on_call(str(method), params)
        try:
            return {"result": self._result(str(method), params), "error": None, "id": rid}
        except _RpcError as e:
            return _error(rid, e.code, e.message)

    def _result(self, method: str, params: list) -> object:
        tip = len(self.hashes) - 1
        if method == "getblockchaininfo":
            return {"chain": self.chain, "blocks": tip, "headers": tip, "bestblockhash": self.hashes[tip],
                    "initialblockdownload": False, "verificationprogress": 1.0}
        if method == "getblockcount":
            return tip
        if method == "getbestblockhash":
            return self.hashes[tip]
        if method == "getblockhash":
            height = params[0]
            if not isinstance(height, int) or not 0 <= height <= tip:
                raise _RpcError(-8, "Block height out of range")
            return self.hashes[height]
        if method in ("getblock", "getblockheader"):
            raw = self.by_hash.get(params[0])
            if raw is None:
                raise _RpcError(-5, "Block not found")
            if method == "getblock":
                return raw.hex()
            if len(params) > 1 and params[1] is False:
                return raw[:80].hex()
            height = self.hashes.index(params[0]) if params[0] in self.hashes else -1
            header = {"hash": params[0], "height": height, "time": struct.unpack_from("<I", raw, 68)[0],
                      "confirmations": tip - height + 1 if height >= 0 else -1}
            if height > 0:
                header["previousblockhash"] = raw[4:36][::-1].hex()
            return header
        if method == "getnetworkinfo":
            return {"version": 270000, "subversion": "/Satoshi:27.0.0/"}
        raise _RpcError(-32601, "Method not found")


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _error(rid: object, code: int, message: str) -> dict:
    return {"result": None, "error": {"code": code, "message": message}, "id": rid}


def fake_node(blocks: list[bytes], **kwargs: object) -> Iterator[FakeNode]:
    """A started FakeNode, stopped when the generator closes (for pytest fixtures)."""
    node = FakeNode(blocks, **kwargs)  # type: ignore[arg-type]
    try:
        yield node
    finally:
        node.stop()
