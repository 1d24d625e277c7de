"""The RPC client against answers a real node does not give: wrong shapes for every method it calls,
broken batches, broken HTTP, a node that hangs or trickles. Each is a NodeError naming the method
and what was wrong; none is a Python exception from inside the client.

The node is tests/fake_node.py: a real HTTP server on loopback serving real mainnet blocks 0–19.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fake_node import FakeNode, Reply, block_hash, mainnet_blocks
from minerwatch.chain import rpc
from minerwatch.chain.rpc import RpcCallError, RpcClient
from minerwatch.errors import NetworkMismatchError, NodeError
from minerwatch.networks import get_network

MAINNET = get_network("mainnet")
BLOCKS = mainnet_blocks()[:20]
GENESIS = MAINNET.genesis_hash
BLOCK_1 = block_hash(BLOCKS[1])


@pytest.fixture
def node() -> Iterator[FakeNode]:
    n = FakeNode(BLOCKS)
    yield n
    n.stop()


def client(node: FakeNode, **kwargs: object) -> RpcClient:
    kwargs.setdefault("backoff_s", 0.01)
    return RpcClient(node.url, MAINNET, password="x", **kwargs)  # type: ignore[arg-type]


def result_of(method: str, result: object):  # noqa: ANN201
    """A rewrite that answers `method` (alone or in a batch) with `result`."""
    def rewrite(request: object, answer: object) -> Reply | None:
        if isinstance(request, dict) and request.get("method") == method:
            return Reply(json.dumps({**answer, "result": result}).encode())  # type: ignore[dict-item]
        if isinstance(request, list):
            items = [{**a, "result": result} if r.get("method") == method else a
                     for r, a in zip(request, answer)]  # type: ignore[arg-type]
            return Reply(json.dumps(items).encode())
        return None
    return rewrite


def raw_json(text: str):  # noqa: ANN201
    """A rewrite that answers every request with `text`, as it is."""
    return lambda request, answer: Reply(text.encode())


INFO = {"chain": "main", "blocks": 19, "headers": 19, "bestblockhash": block_hash(BLOCKS[19]),
        "initialblockdownload": False, "verificationprogress": 1.0}
BLOCK_1_HEX = BLOCKS[1].hex()

# (what the client is asked, the method answered wrongly, the wrong result, what the message says)
WRONG_RESULTS = [
    # The issue's own cases: they printed a KeyError or a TypeError traceback.
    ("chain_info", "getblockchaininfo", {k: v for k, v in INFO.items() if k != "blocks"},
     'getblockchaininfo with an object without "blocks"'),
    ("block_count", "getblockcount", None, "getblockcount with null, not a block height"),
    ("block_count", "getblockcount", "12", 'getblockcount with the string "12", not a block height'),
    # int() reads other scripts' digits: "١٢" (Arabic-Indic) would have been height 12.
    ("block_count", "getblockcount", "\u0661\u0662",
     'getblockcount with the string "\\u0661\\u0662", not a block height'),
    ("block_count", "getblockcount", 12.0, "getblockcount with the number 12.0, not a block height"),
    ("block_count", "getblockcount", True, "getblockcount with true, not a block height"),
    ("block_count", "getblockcount", -1,
     "getblockcount with the number -1, out of the range of a block height (0 to 2,147,483,647)"),
    ("block_count", "getblockcount", 2**64,
     "getblockcount with the number 18446744073709551616, out of the range of a block height "
     "(0 to 2,147,483,647)"),
    ("block_count", "getblockcount", 10**400,
     "getblockcount with a number of 1,329 bits, out of the range of a block height (0 to 2,147,483,647)"),
    ("chain_info", "getblockchaininfo", [INFO], "getblockchaininfo with a list of 1, not an object"),
    ("chain_info", "getblockchaininfo", {**INFO, "headers": "19"},
     'getblockchaininfo with "headers" the string "19", not a block height'),
    ("chain_info", "getblockchaininfo", {**INFO, "chain": 1},
     'getblockchaininfo with "chain" the number 1, not a name'),
    ("chain_info", "getblockchaininfo", {**INFO, "bestblockhash": GENESIS[:63]},
     f'getblockchaininfo with "bestblockhash" the string "{GENESIS[:60]}… (63 characters)", '
     "not a block hash (64 lowercase hex digits)"),
    ("chain_info", "getblockchaininfo", {**INFO, "initialblockdownload": "false"},
     'getblockchaininfo with "initialblockdownload" the string "false", not true or false'),
    ("chain_info", "getblockchaininfo", {**INFO, "verificationprogress": 10**400},
     'getblockchaininfo with "verificationprogress" a number of 1,329 bits, not a finite number'),
    ("best_block_hash", "getbestblockhash", GENESIS.upper(),
     f'getbestblockhash with the string "{GENESIS.upper()[:60]}… (64 characters)", '
     "not a block hash (64 lowercase hex digits)"),
    ("best_block_hash", "getbestblockhash", "\u0660" * 64,
     'getbestblockhash with the string "' + "\\u0660" * 60 + '… (64 characters)", '
     "not a block hash (64 lowercase hex digits)"),
    ("block_hashes", "getblockhash", 1, "getblockhash 0 with the number 1, not a block hash "
     "(64 lowercase hex digits)"),
    ("raw_blocks", "getblock", BLOCK_1_HEX[:160] + " " + BLOCK_1_HEX[161:],
     f"getblock {BLOCK_1} with the character ' ', not a hex digit, in the block's hex"),
    ("raw_blocks", "getblock", BLOCK_1_HEX[:-1],
     f"getblock {BLOCK_1} with 429 hex digits, not a block in hex (81 to 4,000,000 bytes)"),
    ("raw_blocks", "getblock", BLOCK_1_HEX[:-2] + "\u0661\u0662",
     f"getblock {BLOCK_1} with the character '\\u0661', not a hex digit, in the block's hex"),
    ("raw_blocks", "getblock", {"hex": BLOCK_1_HEX}, f"getblock {BLOCK_1} with an object, not a block in hex"),
    ("header", "getblockheader", {"hash": BLOCK_1, "height": 1},
     'getblockheader with an object without "time"'),
    ("header", "getblockheader", {"hash": BLOCK_1, "height": 1, "time": 1231469665, "previousblockhash": 0},
     'getblockheader with "previousblockhash" the number 0, not a block hash (64 lowercase hex digits)'),
]


def ask(c: RpcClient, what: str) -> object:
    return {"chain_info": c.chain_info, "block_count": c.block_count, "best_block_hash": c.best_block_hash,
            "block_hashes": lambda: c.block_hashes([0, 1]), "raw_blocks": lambda: c.raw_blocks([BLOCK_1]),
            "header": lambda: c.header(BLOCK_1)}[what]()


@pytest.mark.parametrize(("what", "method", "result", "message"), WRONG_RESULTS,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(WRONG_RESULTS)])
def test_wrong_result_is_a_node_error_naming_the_method(node: FakeNode, what: str, method: str,
                                                        result: object, message: str) -> None:
    node.rewrite = result_of(method, result)
    with pytest.raises(NodeError) as err:
        ask(client(node), what)
    assert err.value.message == f"the node at 127.0.0.1:{node.port} answered {message}"
    assert "a Bitcoin node's JSON-RPC port" in err.value.hint


def test_honest_answers_pass_every_check(node: FakeNode) -> None:
    c = client(node)
    assert c.block_count() == 19
    assert c.block_hashes([0, 1]) == [GENESIS, BLOCK_1]
    assert c.raw_blocks([BLOCK_1]) == [BLOCKS[1]]
    header = c.header(BLOCK_1)
    # Block 1: mined 2009-01-09 02:54:25 UTC on top of the genesis block.
    assert (header.height, header.prev_hash, header.time) == (1, GENESIS, 1_231_469_665)
    assert c.check_network().chain == "main"
    # One request a call (check_network makes two), all on one kept-alive connection: none retried.
    assert node.requests == 6
    assert node.connections == 1


def test_wrong_genesis_under_the_right_name(node: FakeNode) -> None:
    # The node calls its chain "main", but getblockhash 0 answers block 1.
    node.hashes = node.hashes[1:]
    with pytest.raises(NetworkMismatchError) as err:
        client(node).check_network()
    assert err.value.message == (f"the node at 127.0.0.1:{node.port} says it serves mainnet, but its "
                                 f"genesis block is {BLOCK_1}, not mainnet's {GENESIS}")
    assert err.value.hint.startswith("the node follows another chain than mainnet's: point --rpc at a "
                                     "mainnet node")


@pytest.mark.parametrize(("answer", "message"), [
    # The ids are 1 and 2 (a fresh client numbers its requests from 1).
    ('[{"result": "%s", "error": null, "id": 1}]' % GENESIS,
     "answered a batch of 2 calls (a batch of 2 getblockhash) with 1 answers"),
    ('[{"result": "%s", "error": null, "id": 1}, {"result": "%s", "error": null, "id": 1}]' % (GENESIS, BLOCK_1),
     "answered id 1 twice in one batch"),
    ('[{"result": "%s", "error": null, "id": 1}, {"result": "%s", "error": null, "id": [2]}]' % (GENESIS, BLOCK_1),
     "left getblockhash (id 2) out of its batch answer"),
    ('[{"result": "%s", "error": null, "id": 1}, {"result": "%s", "error": null, "id": "2"}]' % (GENESIS, BLOCK_1),
     "left getblockhash (id 2) out of its batch answer"),
    ('[{"result": "%s", "error": null, "id": 1}, {"result": "%s", "error": null, "id": 3}]' % (GENESIS, BLOCK_1),
     "left getblockhash (id 2) out of its batch answer"),
    ('[{"result": "%s", "error": null, "id": 1}, "%s"]' % (GENESIS, BLOCK_1),
     "left getblockhash (id 2) out of its batch answer"),
    ('{"result": ["%s", "%s"], "error": null, "id": 1}' % (GENESIS, BLOCK_1),
     "answered a batch with a single object"),
    ("[]", "answered a batch of 2 calls (a batch of 2 getblockhash) with 0 answers"),
])
def test_broken_batch_answers(node: FakeNode, answer: str, message: str) -> None:
    node.rewrite = raw_json(answer)
    with pytest.raises(NodeError) as err:
        client(node).block_hashes([0, 1])
    assert err.value.message == f"the node at 127.0.0.1:{node.port} {message}"


@pytest.mark.parametrize(("answer", "message"), [
    ('{"result": 5, "error": null, "id": 99}',
     "answered getblockcount with the answer to another request (id the number 99, not 1)"),
    ('{"result": 5, "error": null, "id": [1]}',
     "answered getblockcount with the answer to another request (id a list of 1, not 1)"),
    ("null", "answered getblockcount with null, not a JSON-RPC response"),
    ('"19"', 'answered getblockcount with the string "19", not a JSON-RPC response'),
    ('{"id": 1}', "answered getblockcount with an object, not a JSON-RPC response"),
    # A node's own error text is cut short and its control characters escaped (it reaches a terminal).
    ('{"result": null, "error": {"code": "-8", "message": "\\u001b[2Jgone"}, "id": 1}',
     "answered getblockcount with an error: \\x1b[2Jgone (code None)"),
    ('{"result": null, "error": {"code": -1, "message": "%s"}, "id": 1}' % ("x" * 5000),
     f"answered getblockcount with an error: {'x' * 300} (code -1)"),
    ('{"result": null, "error": [1, 2], "id": 1}', "answered getblockcount with an error: a list of 2 (code None)"),
    ('{"result": null, "error": "Work queue depth exceeded", "id": 1}',
     "answered getblockcount with an error: Work queue depth exceeded (code None)"),
])
def test_broken_single_answers(node: FakeNode, answer: str, message: str) -> None:
    node.rewrite = raw_json(answer)
    with pytest.raises(NodeError) as err:
        client(node).block_count()
    assert err.value.message == f"the node at 127.0.0.1:{node.port} {message}"


@pytest.mark.parametrize("body", [
    b'{"result": 19, "error": null, "id": 1',                   # truncated
    b"[" * 100_000 + b"]" * 100_000,                            # nested past Python's recursion limit
    b'{"result": 1' + b"9" * 5000 + b', "error": null, "id": 1}',  # past int()'s 4,300 digits
    b"\x80{}",                                                   # not UTF-8
    b"",
])
def test_text_that_is_not_json(node: FakeNode, body: bytes) -> None:
    node.rewrite = lambda request, answer: Reply(body)
    with pytest.raises(NodeError) as err:
        client(node).block_count()
    assert err.value.message == (f"the node at 127.0.0.1:{node.port} answered HTTP 200 with something that "
                                 f"is not JSON-RPC (application/json, {len(body)} bytes)")


def test_html_error_page_from_a_proxy(node: FakeNode) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    node.rewrite = lambda request, answer: Reply(page, 502, "text/html")
    with pytest.raises(NodeError) as err:
        client(node).block_count()
    assert err.value.message == (f"the node at 127.0.0.1:{node.port} answered HTTP 502 with something that "
                                 f"is not JSON-RPC (text/html, {len(page)} bytes)")


def test_content_type_is_shown_escaped(node: FakeNode) -> None:
    node.rewrite = lambda request, answer: Reply(b"<html>", 200, "text/html\x1b[2J\u00e9")
    with pytest.raises(NodeError) as err:
        client(node).block_count()
    assert err.value.message.endswith("is not JSON-RPC (text/html\\x1b[2J\\xe9, 6 bytes)")


def test_answer_cut_short_is_retried_then_an_error(node: FakeNode) -> None:
    # The node says 100 bytes and closes after 20: a read is asked again, `retries` times.
    node.rewrite = lambda request, answer: Reply(b'{"result": 19, "err', content_length=100, close=True)
    with pytest.raises(NodeError) as err:
        client(node, retries=2).block_count()
    assert err.value.message == (f"the node at 127.0.0.1:{node.port} did not answer after 3 attempts "
                                 "(the answer was cut short)")
    assert node.requests == 3


@pytest.mark.parametrize("no_length", [False, True], ids=["content-length", "until-close"])
def test_answer_too_large_is_refused(node: FakeNode, monkeypatch: pytest.MonkeyPatch, no_length: bool) -> None:
    # Block 1 is 215 bytes: 430 hex digits, 470 bytes with the JSON around them.
    monkeypatch.setattr(rpc, "MAX_ANSWER_BYTES", 400)
    node.rewrite = lambda request, answer: Reply(json.dumps(answer).encode(), no_length=no_length)
    with pytest.raises(NodeError) as err:
        client(node).raw_blocks([BLOCK_1])
    # With a Content-Length the answer is refused unread; without one, once what came passes the bound.
    prefix = f"the node at 127.0.0.1:{node.port} sent an answer of more than 400 bytes ("
    assert err.value.message == prefix + "470 bytes)" if not no_length else err.value.message.startswith(prefix)
    monkeypatch.setattr(rpc, "MAX_ANSWER_BYTES", 470)
    assert client(node).raw_blocks([BLOCK_1]) == [BLOCKS[1]]


def test_hung_node_gets_one_attempt_within_the_timeout(node: FakeNode) -> None:
    # Each of the 6 attempts used to wait the whole timeout (6 × 60 s and backoff: 376 s by default).
    node.hang.set()
    with pytest.raises(NodeError) as err:
        client(node, timeout_s=1.0, retries=5).block_count()
    assert err.value.message == f"the node at 127.0.0.1:{node.port} did not answer getblockcount within 1 s"
    assert err.value.hint.startswith("a busy or slow node (or a slow link) may need longer: raise "
                                     "--rpc-timeout SECONDS (now 1)")
    assert node.requests == 1


def test_trickling_node_is_bound_by_the_timeout_too(node: FakeNode) -> None:
    # One byte every 0.2 s: each read is quick, so only a bound on the whole answer ends it.
    node.rewrite = lambda request, answer: Reply(json.dumps(answer).encode(), trickle_s=0.2)
    with pytest.raises(NodeError) as err:
        client(node, timeout_s=1.0).block_count()
    assert err.value.message == f"the node at 127.0.0.1:{node.port} did not answer getblockcount within 1 s"


def test_refused_connection_stops_at_the_timeout(node: FakeNode) -> None:
    # Nothing listens on the port: backoff 0.4, 0.8, 1.6 s… would outlast 1 s at the third wait.
    url = node.url
    node.stop()
    c = RpcClient(url, MAINNET, password="x", timeout_s=1.0, retries=10, backoff_s=0.4)
    with pytest.raises(NodeError) as err:
        c.block_count()
    assert err.value.message.startswith(f"the node at {url[7:]} did not answer getblockcount within 1 s (")
    assert err.value.message.endswith(" attempts, the last: connection refused)")


def test_reads_are_asked_again_after_a_hang_up_and_writes_are_not(node: FakeNode) -> None:
    node.rewrite = lambda request, answer: Reply(b"", hang_up=True)
    with pytest.raises(NodeError) as err:
        client(node, retries=2).block_count()
    assert err.value.message.endswith("did not answer after 3 attempts (connection closed by the node)")
    assert node.requests == 3
    # generatetoaddress may have reached the node: asking again could mine twice.
    with pytest.raises(NodeError) as err:
        client(node, retries=2).call("generatetoaddress", 1, "1BitcoinEaterAddressDontSendf59kuE")
    assert err.value.message.endswith("did not answer after 1 attempt (connection closed by the node)")
    assert node.requests == 4


def test_node_error_in_a_batch_item_keeps_its_code(node: FakeNode) -> None:
    with pytest.raises(RpcCallError) as err:
        client(node).block_hashes([19, 20])
    assert (err.value.method, err.value.code) == ("getblockhash", -8)
