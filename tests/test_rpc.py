"""The JSON-RPC client against a real regtest node (bcoin, tests/regtest), and its failure modes.

Expected values come from the node itself through a separate path (tests/regtest_node.py speaks
plain urllib), from what the test made the node do (tags, heights, reorg depth), or from Bitcoin's
published regtest parameters.
"""

from __future__ import annotations

import http.server
import logging
import select
import socket
import threading
import traceback
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from minerwatch.chain import rpc
from minerwatch.chain.block import coinbase_tag, hash_hex, parse_block
from minerwatch.chain.rpc import ChainInfo, RpcCallError, RpcClient, WaitEvent, cookie_path
from minerwatch.errors import NetworkMismatchError, NodeError, UsageError
from minerwatch.networks import get_network
from regtest_node import NodeFactory, RegtestNode

REGTEST = get_network("regtest")
MAINNET = get_network("mainnet")
# Bitcoin Core's regtest genesis (chainparams.cpp), the block every fresh regtest chain starts from.
REGTEST_GENESIS = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
SECRET = "s3cret-Pa55word-9f8e7d"


def client(node: RegtestNode, **kwargs: object) -> RpcClient:
    kwargs.setdefault("password", node.api_key)
    kwargs.setdefault("backoff_s", 0.01)
    return RpcClient(node.url, REGTEST, **kwargs)  # type: ignore[arg-type]


def everything_shown(err: BaseException, caplog: pytest.LogCaptureFixture | None = None) -> str:
    """All a user could see of an error: message, hint, repr, full traceback, and the log."""
    shown = [str(err), repr(err), getattr(err, "hint", ""), "".join(traceback.format_exception(err))]
    if caplog is not None:
        shown.append(caplog.text)
    return "\n".join(shown)


@pytest.fixture
def secret_node(regtest_node_factory: NodeFactory) -> RegtestNode:
    return regtest_node_factory(api_key=SECRET)


# -- without a node --------------------------------------------------------------------------------

def test_default_url_is_the_networks_rpc_port() -> None:
    # Bitcoin Core's default RPC ports: 8332 mainnet, 18443 regtest (chainparamsbase.cpp).
    assert RpcClient(None, MAINNET, password="x").where == "127.0.0.1:8332"
    assert RpcClient(None, REGTEST, password="x").where == "127.0.0.1:18443"
    assert RpcClient("http://10.0.0.2", REGTEST, password="x").where == "10.0.0.2:18443"
    assert RpcClient("node.lan:8332", MAINNET, password="x").where == "node.lan:8332"


def test_cookie_layout_follows_bitcoin_core(tmp_path: Path) -> None:
    # mainnet keeps its cookie at the datadir's top, the other networks in a subdirectory.
    assert cookie_path(tmp_path, MAINNET) == tmp_path / ".cookie"
    assert cookie_path(tmp_path, REGTEST) == tmp_path / "regtest" / ".cookie"
    assert cookie_path(tmp_path, get_network("testnet3")) == tmp_path / "testnet3" / ".cookie"


def test_bad_url_and_simulated_network_are_usage_errors() -> None:
    with pytest.raises(UsageError) as err:
        RpcClient(f"ftp://u:{SECRET}@host:1", REGTEST)
    assert SECRET not in everything_shown(err.value)
    with pytest.raises(UsageError):
        RpcClient(None, get_network("simnet"))


def test_repr_hides_credentials() -> None:
    for c in (RpcClient(f"http://user:{SECRET}@127.0.0.1:1", REGTEST),
              RpcClient("http://127.0.0.1:1", REGTEST, user="u", password=SECRET)):
        assert repr(c) == "RpcClient(127.0.0.1:1, network=regtest)"


def test_non_json_answer_is_a_node_error() -> None:
    # A real HTTP server that is no RPC server: http.server answers POST with an HTML 501 page.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        c = RpcClient(f"http://127.0.0.1:{server.server_port}", REGTEST, password=SECRET)
        with pytest.raises(NodeError) as err:
            c.call("getblockcount")
    finally:
        server.shutdown()
        server.server_close()
    assert "answered HTTP 501 with something that is not JSON-RPC (text/html" in err.value.message
    assert SECRET not in everything_shown(err.value)


# -- against the node ------------------------------------------------------------------------------

def test_check_network_accepts_the_nodes_network(regtest_node: RegtestNode) -> None:
    info = client(regtest_node).check_network()
    # A fresh in-memory node is at the genesis block and, its tip being from 2011, in IBD.
    assert info == ChainInfo("regtest", 0, 0, REGTEST_GENESIS, True, 0.0)


def test_check_network_rejects_another_network(regtest_node: RegtestNode) -> None:
    c = RpcClient(regtest_node.url, MAINNET, password=regtest_node.api_key)
    with pytest.raises(NetworkMismatchError) as err:
        c.check_network()
    assert err.value.message == f"the node at 127.0.0.1:{regtest_node.port} serves regtest, not mainnet"
    assert err.value.hint.startswith("pass --network regtest")


def test_batch_answers_in_order_and_maps_item_errors(regtest_node: RegtestNode,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    mined = regtest_node.mine(5)
    c = client(regtest_node)
    assert c.batch([("getblockhash", [h]) for h in range(6)]) == [REGTEST_GENESIS, *mined]
    # Long height lists go out in several batches (6 heights, 4 per batch: 2 requests).
    monkeypatch.setattr(rpc, "HASHES_PER_BATCH", 4)
    assert c.block_hashes([0, 1, 2, 3, 4, 5]) == [REGTEST_GENESIS, *mined]
    assert c.batch([("getblockcount", []), ("getbestblockhash", [])]) == [5, mined[-1]]
    # Height 6 does not exist yet: that item's error is raised, with the RPC code (-8 in both
    # Bitcoin Core and bcoin: RPC_INVALID_PARAMETER).
    with pytest.raises(RpcCallError) as err:
        c.batch([("getblockhash", [5]), ("getblockhash", [6])])
    assert (err.value.method, err.value.code) == ("getblockhash", -8)
    assert "Block height out of range" in err.value.message


def test_raw_blocks_parse_and_match_the_nodes_view(regtest_node: RegtestNode) -> None:
    node = regtest_node
    mined = node.mine(101)            # block 1's coinbase matures at height 101
    txid = node.send(node.new_address(), 250_000_000)
    mined += node.mine(1)             # block 102 holds the payment
    c = client(node)
    assert c.block_count() == 102
    assert c.best_block_hash() == mined[-1]
    assert c.block_hashes(list(range(1, 103))) == mined
    raws = c.raw_blocks(mined)
    prev = REGTEST_GENESIS
    for height, (block_hash, raw) in enumerate(zip(mined, raws), start=1):
        block = parse_block(raw, source=f"regtest-{height}", verify_merkle=True)
        verbose = node.rpc("getblock", block_hash, 1)
        assert isinstance(verbose, dict)
        assert hash_hex(block.header.hash) == block_hash
        assert hash_hex(block.header.prev_hash) == prev
        assert block.bip34_height == height
        assert [hash_hex(t) for t in block.txids] == verbose["tx"]
        assert block.size_bytes == verbose["size"] == len(raw)
        prev = block_hash
    last = parse_block(raws[-1])
    assert last.tx_count == 2 and hash_hex(last.txids[1]) == txid
    # Subsidy 50 BTC (regtest halves at 150) plus the payment's fee.
    fee_sat = last.coinbase_value_sat - 5_000_000_000
    assert 0 < fee_sat < 1_000_000
    assert 250_000_000 in [v for t, v in zip(last.out_tx, last.out_value_sat) if t == 1]


def pushes(script: bytes) -> list[bytes]:
    """The data pushes of a coinbase scriptSig (direct pushes and OP_1..OP_16 only, as bcoin writes)."""
    out, pos = [], 0
    while pos < len(script):
        op = script[pos]
        if 0x51 <= op <= 0x60:
            out.append(bytes([op - 0x50]))
            pos += 1
        else:
            assert 1 <= op <= 75, f"unexpected opcode {op:#x}"
            out.append(script[pos + 1:pos + 1 + op])
            pos += 1 + op
    return out


def test_blocks_carry_the_coinbase_tag_they_were_mined_with(regtest_node: RegtestNode) -> None:
    foundry = regtest_node.mine(2, tag="Foundry USA Pool")
    via = regtest_node.mine(3, tag="/ViaBTC/")
    c = client(regtest_node)
    scripts = [parse_block(raw).coinbase_script for raw in c.raw_blocks(foundry + via)]
    # bcoin's coinbase scriptSig: [BIP34 height, the tag, extra nonce].
    assert [pushes(s)[1] for s in scripts] == [b"Foundry USA Pool"] * 2 + [b"/ViaBTC/"] * 3
    assert [pushes(s)[0] for s in scripts] == [b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"]
    assert "Foundry USA Pool" in coinbase_tag(scripts[0]) and "/ViaBTC/" in coinbase_tag(scripts[4])


def test_blocks_mined_at_given_times(regtest_node: RegtestNode) -> None:
    # 2021-01-01 00:00 UTC = 1,609,459,200 s; one block every 10 minutes, as on mainnet.
    mined = regtest_node.mine(3, start_time_s=1_609_459_200, spacing_s=600)
    c = client(regtest_node)
    assert [c.header(h).time for h in mined] == [1_609_459_200, 1_609_459_800, 1_609_460_400]
    assert [c.header(h).height for h in mined] == [1, 2, 3]


def test_reorg_changes_best_hash_and_hashes_at_the_replaced_heights(regtest_node: RegtestNode) -> None:
    node = regtest_node
    mined = node.mine(10)              # heights 1..10
    c = client(node)
    assert c.header(mined[9]).prev_hash == mined[8]
    assert c.header(mined[9]).height == 10
    before = c.block_hashes([7, 8, 9, 10])
    node.invalidate(mined[7])          # height 8: three blocks deep under the tip at 10
    assert c.block_count() == 7 and c.best_block_hash() == mined[6]
    branch = node.mine(4, tag="other branch")   # heights 8..11
    after = c.block_hashes([7, 8, 9, 10, 11])
    assert after[0] == before[0]                 # the fork point stays
    assert all(a != b for a, b in zip(after[1:4], before[1:4]))
    assert after[1:] == branch and c.best_block_hash() == branch[-1]
    assert c.header(branch[0]).prev_hash == mined[6]


def test_wait_until_synced_waits_through_ibd(regtest_node: RegtestNode) -> None:
    events: list[WaitEvent] = []

    def on_wait(event: WaitEvent) -> None:
        events.append(event)
        regtest_node.mine(1)           # a block from now ends IBD (tip younger than 24 h)

    info = client(regtest_node, on_wait=on_wait).wait_until_synced(poll_s=0.01)
    assert [(e.reason, e.blocks, e.headers) for e in events] == [("syncing", 0, 0)]
    assert (info.blocks, info.initial_block_download) == (1, False)


def test_wait_until_synced_gives_up_with_a_clear_message(regtest_node: RegtestNode) -> None:
    with pytest.raises(NodeError) as err:
        client(regtest_node).wait_until_synced(poll_s=1.0, max_wait_s=0.5)
    assert "is still syncing after 0 s (block 0 of 0 headers, 0.0% verified)" in err.value.message
    assert "initial block download" in err.value.hint


def test_node_killed_mid_session(secret_node: RegtestNode, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[WaitEvent] = []
    c = client(secret_node, retries=2, on_wait=events.append)
    assert c.block_count() == 0
    secret_node.kill()
    with pytest.raises(NodeError) as err:
        c.block_count()
    assert err.value.message == (f"the node at 127.0.0.1:{secret_node.port} stopped answering "
                                 "after 3 attempts (connection refused)")
    assert err.value.hint.startswith("is bitcoind running? check -rpcport")
    # Backoff doubles from 0.01 s.
    assert [(e.reason, e.delay_s) for e in events] == [("retry", 0.01), ("retry", 0.02)]
    assert SECRET not in everything_shown(err.value, caplog)


def test_node_that_comes_back_is_used_again(regtest_node_factory: NodeFactory) -> None:
    first = regtest_node_factory(api_key=SECRET)
    first.mine(3)
    restarted: list[RegtestNode] = []

    def on_wait(event: WaitEvent) -> None:
        if not restarted:   # the node restarts on the same port, as bitcoind would
            restarted.append(regtest_node_factory(api_key=SECRET, port=first.port))

    c = client(first, retries=5, on_wait=on_wait)
    assert c.block_count() == 3
    first.kill()
    # In memory, the restarted node begins again at height 0.
    assert c.block_count() == 0


def test_frozen_node_times_out_and_writes_are_not_repeated(secret_node: RegtestNode) -> None:
    address = secret_node.new_address()
    c = client(secret_node, timeout_s=0.3, retries=2)
    assert c.block_count() == 0
    secret_node.freeze()
    try:
        # timeout_s bounds the whole call: a node that does not answer the first attempt within it
        # gets no second one (each attempt used to get the full timeout, six times by default).
        with pytest.raises(NodeError) as err:
            c.block_count()
        assert err.value.message == (f"the node at 127.0.0.1:{secret_node.port} did not answer "
                                     "getblockcount within 0.3 s")
        assert "--rpc-timeout SECONDS (now 0.3)" in err.value.hint
        assert SECRET not in everything_shown(err.value)
        with pytest.raises(NodeError) as err:
            c.call("generatetoaddress", 1, address)
        assert err.value.message.endswith("did not answer generatetoaddress within 0.3 s")
    finally:
        secret_node.thaw()
    # Thawed, the node answers the same client again (whether it mined the abandoned block is
    # its own affair: the client closed that connection).
    assert c.block_count() in (0, 1)


def test_kept_connection_closed_by_the_node_is_reopened(regtest_node: RegtestNode) -> None:
    c = client(regtest_node, retries=0)
    address = regtest_node.new_address()
    assert c.block_count() == 0
    # Node.js closes an idle kept-alive connection after 5 s (http.Server.keepAliveTimeout); the
    # socket turns readable with nothing to read once the node's FIN arrives.
    sock = c._conn.sock  # type: ignore[union-attr]
    select.select([sock], [], [], 30.0)
    assert sock.recv(1, socket.MSG_PEEK) == b""
    # Not a read, so not retried: it must succeed on a new connection at the first attempt.
    assert len(c.call("generatetoaddress", 1, address)) == 1  # type: ignore[arg-type]


def test_node_warming_up_is_waited_for(regtest_node_factory: NodeFactory) -> None:
    # bitcoind answers -28 (RPC_IN_WARMUP) to every call while it loads its index after a start.
    events: list[WaitEvent] = []
    node = regtest_node_factory(warmup_calls=2)
    assert client(node, on_wait=events.append).block_count() == 0
    assert [(e.reason, e.delay_s) for e in events] == [("warmup", 0.01), ("warmup", 0.02)]
    # With fewer retries than the warm-up lasts, the node's own message comes through.
    node = regtest_node_factory(warmup_calls=5)
    with pytest.raises(RpcCallError) as err:
        client(node, retries=1).block_count()
    assert err.value.code == -28 and "Loading block index" in err.value.message


def test_wrong_credentials_get_the_credentials_hint(secret_node: RegtestNode) -> None:
    wrong = "not-the-" + SECRET
    c = RpcClient(secret_node.url, REGTEST, user="alice", password=wrong)
    with pytest.raises(NodeError) as err:
        c.block_count()
    assert err.value.message == f"the node at 127.0.0.1:{secret_node.port} refused the credentials (HTTP 401)"
    assert "rpcuser/rpcpassword" in err.value.hint
    assert wrong not in everything_shown(err.value)


def test_credentials_in_the_url(secret_node: RegtestNode) -> None:
    c = RpcClient(f"http://user:{SECRET}@127.0.0.1:{secret_node.port}/", REGTEST)
    assert c.block_count() == 0
    assert SECRET not in repr(c)


def test_cookie_file_found_in_the_datadir(secret_node: RegtestNode, tmp_path: Path) -> None:
    # bitcoind writes "__cookie__:<random>"; bcoin checks only the password against its API key.
    (tmp_path / "regtest").mkdir()
    (tmp_path / "regtest" / ".cookie").write_text(f"__cookie__:{SECRET}")
    assert RpcClient(secret_node.url, REGTEST, datadir=tmp_path).check_network().chain == "regtest"
    # mainnet's cookie sits at the datadir's top: found there, and the network check still applies.
    (tmp_path / ".cookie").write_text(f"__cookie__:{SECRET}\n")
    on_mainnet = RpcClient(secret_node.url, MAINNET, datadir=tmp_path)
    assert on_mainnet.block_count() == 0
    with pytest.raises(NetworkMismatchError):
        on_mainnet.check_network()


def test_missing_or_stale_cookie(secret_node: RegtestNode, tmp_path: Path) -> None:
    c = RpcClient(secret_node.url, REGTEST, datadir=tmp_path)
    with pytest.raises(NodeError) as err:
        c.block_count()
    assert str(tmp_path / "regtest" / ".cookie") in err.value.message
    assert "--datadir" in err.value.hint
    # A cookie from an earlier run of the node: refused, and the hint names the file used.
    (tmp_path / "regtest").mkdir()
    (tmp_path / "regtest" / ".cookie").write_text("__cookie__:from-an-earlier-start")
    with pytest.raises(NodeError) as err:
        c.block_count()
    assert "HTTP 401" in err.value.message and ".cookie" in err.value.hint
    assert "from-an-earlier-start" not in everything_shown(err.value)


def test_rpc_error_answered_with_http_500(regtest_node: RegtestNode) -> None:
    unknown = "00" * 32
    # The node answers a failed call the way Bitcoin Core does: HTTP 500 with the JSON error.
    req = urllib.request.Request(regtest_node.url, method="POST",
                                 data=b'{"method":"getblock","params":["' + unknown.encode() + b'",0]}',
                                 headers={"Authorization": regtest_node.auth_header})
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(req, timeout=10)
    assert http_err.value.code == 500
    with pytest.raises(RpcCallError) as err:
        client(regtest_node).raw_blocks([unknown])
    assert "Block not found" in err.value.message and err.value.method == "getblock"
    with pytest.raises(RpcCallError) as err:
        client(regtest_node).call("getblock", unknown, 0)
    assert "Block not found" in err.value.message


def test_rpc_error_answered_with_http_200(regtest_node_factory: NodeFactory) -> None:
    # bcoin's own behaviour: errors inside an HTTP 200 answer.
    node = regtest_node_factory(bcoin_status=True)
    with pytest.raises(RpcCallError) as err:
        client(node).call("nosuchmethod")
    assert err.value.code == -32601 and "Method not found" in err.value.message
