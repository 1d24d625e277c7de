"""A sync from a node that serves another chain, a chain that does not connect, or broken answers:
a clear error after bounded waits, and nothing unrelated stored.

The node is tests/fake_node.py serving real mainnet blocks 0–19 (a real node will not serve these
faults); the timeout through the command line is tested on the real regtest node in
tests/test_sync_rpc.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from fake_node import FakeNode, Reply, block_hash, mainnet_blocks
from minerwatch import sync
from minerwatch.chain.block import parse_block
from minerwatch.chain.rpc import RpcClient
from minerwatch.cli import main
from minerwatch.errors import NodeError
from minerwatch.networks import get_network
from minerwatch.store import connect
from minerwatch.sync import Progress, Syncer

MAINNET = get_network("mainnet")
BLOCKS = mainnet_blocks()[:20]
HASHES = [block_hash(b) for b in BLOCKS]
REGTEST_GENESIS = get_network("regtest").genesis_hash


@pytest.fixture
def node() -> Iterator[FakeNode]:
    # A sync that loops (as one did on these faults) ends at the request limit with a message of
    # the fake node's own, which no test below expects.
    n = FakeNode(BLOCKS, max_requests=300)
    yield n
    n.stop()


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the sync makes between attempts at a batch, recorded instead of slept."""
    taken: list[float] = []
    # raising=False: where there is no such wait the tests still run, and fail on what the sync does.
    monkeypatch.setattr(sync, "_nap", lambda seconds, should_stop: taken.append(seconds), raising=False)
    return taken


def stored(db: Path) -> dict[int, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("SELECT height, hash FROM blocks").fetchall())
    finally:
        con.close()


def cli_sync(db: Path, node: FakeNode, network: str, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    monkeypatch.setenv("MINERWATCH_RPC_PASSWORD", "x")
    return main(["sync", "--db", str(db), "--network", network, "--rpc", node.url, "--rpc-user", "u", *extra])


def syncer(db: Path, notes: list[str]) -> Syncer:
    def on_progress(p: Progress) -> None:
        if p.note:
            notes.append(p.note)
            p.note = ""
    return Syncer(connect(db), MAINNET, batch_blocks=4, on_progress=on_progress)


def client(node: FakeNode) -> RpcClient:
    return RpcClient(node.url, MAINNET, password="x", backoff_s=0.01)


# -- the node's genesis block ----------------------------------------------------------------------

def test_unrelated_block_at_height_0_is_refused_before_anything_is_stored(
        node: FakeNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # getblockhash 0 answers block 5, the rest are mainnet's: block 5 used to be stored as height 0,
    # and block 1 (whose parent is the real genesis) then never connected: the sync asked for the
    # same batch forever, 300 requests a minute.
    node.hashes[0] = HASHES[5]
    db = tmp_path / "m.duckdb"
    assert cli_sync(db, node, "mainnet", monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-2:] == [
        f"error: the node at 127.0.0.1:{node.port} says it serves mainnet, but its genesis block is "
        f"{HASHES[5]}, not mainnet's {HASHES[0]}",
        f"hint: the node follows another chain than mainnet's: point --rpc at a mainnet node (default port "
        f"8332); nothing was stored from this one",
    ]
    assert stored(db) == {}
    assert node.calls == ["getblockchaininfo", "getblockhash"]


def test_node_naming_its_chain_regtest_but_serving_mainnet(
        node: FakeNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The whole chain of another network under regtest's name was stored, 20 mainnet blocks as regtest.
    node.chain = "regtest"
    db = tmp_path / "r.duckdb"
    assert cli_sync(db, node, "regtest", monkeypatch) == 1
    err = capsys.readouterr().err
    assert (f"error: the node at 127.0.0.1:{node.port} says it serves regtest, but its genesis block is "
            f"{HASHES[0]} (that of mainnet), not regtest's {REGTEST_GENESIS}") in err
    assert "Traceback" not in err
    assert stored(db) == {}


def test_database_of_another_chain_is_not_rolled_back_to_nothing(node: FakeNode, tmp_path: Path) -> None:
    # A database written by a sync that did not check the genesis block: blocks 5–9 at heights 0–4.
    db = tmp_path / "old.duckdb"
    s = syncer(db, [])
    s.ingest_stream(iter((h, parse_block(BLOCKS[h + 5])) for h in range(5)))
    with pytest.raises(NodeError) as err:
        s.sync_rpc(client(node))
    assert err.value.message == (f"the node's chain shares no block with the database (stored genesis "
                                 f"{HASHES[5]}, the node's {HASHES[0]})")
    assert err.value.hint == "the database holds another chain than the node's mainnet: sync into a new --db"
    s.con.close()
    assert stored(db) == {h: HASHES[h + 5] for h in range(5)}


# -- batches that do not connect -------------------------------------------------------------------

def test_batch_that_does_not_connect_is_asked_again_then_an_error(node: FakeNode, tmp_path: Path,
                                                                  naps: list[float]) -> None:
    # getblockhash 10 answers block 11, whose parent is block 10: heights 10.. never connect.
    node.hashes = HASHES[:10] + HASHES[11:]
    db = tmp_path / "gap.duckdb"
    notes: list[str] = []
    s = syncer(db, notes)
    with pytest.raises(NodeError) as err:
        s.sync_rpc(client(node))
    problem = (f"the node's block {HASHES[11]} at height 10 does not connect to the stored tip {HASHES[9]} "
               f"at height 9 (its parent is {HASHES[10]})")
    assert err.value.message == problem + ", 5 times in a row"
    assert err.value.hint.startswith("the node may be in the middle of a long reorganisation: run the sync "
                                     "again in a minute")
    # Four waits, doubling from 1 s, each told to the progress display.
    assert naps == [1.0, 2.0, 4.0, 8.0]
    assert notes == [f"{problem}; the node may be reorganising: asking again in {d:g} s" for d in naps]
    s.con.close()
    # Batches 0–3 and 4–7 whole, and 8–9 of the batch 8–11 (block 11 does not follow block 9).
    assert stored(db) == {h: HASHES[h] for h in range(10)}


def test_blocks_that_do_not_chain_inside_a_batch(node: FakeNode, tmp_path: Path, naps: list[float]) -> None:
    # Heights 13 and 14 swapped: in the batch 12–15 the block at 13 does not follow the node's own
    # block at 12. Block 12 is stored; from then on the block at 13 does not connect to the tip.
    node.hashes[13], node.hashes[14] = HASHES[14], HASHES[13]
    db = tmp_path / "swap.duckdb"
    s = syncer(db, [])
    with pytest.raises(NodeError) as err:
        s.sync_rpc(client(node))
    assert err.value.message == (f"the node's block {HASHES[14]} at height 13 does not connect to the stored tip "
                                 f"{HASHES[12]} at height 12 (its parent is {HASHES[13]}), 5 times in a row")
    s.con.close()
    assert stored(db) == {h: HASHES[h] for h in range(13)}


def test_node_that_reorganises_while_read_is_waited_for(node: FakeNode, tmp_path: Path,
                                                        naps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    node.hashes = HASHES[:10] + HASHES[11:] + [HASHES[19]]
    waits: list[float] = []

    def settle(seconds: float, should_stop: object) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            node.hashes = list(HASHES)   # the node has settled on its best chain

    monkeypatch.setattr(sync, "_nap", settle, raising=False)
    db = tmp_path / "settles.duckdb"
    s = syncer(db, [])
    assert s.sync_rpc(client(node)) == 20
    s.con.close()
    assert waits == [1.0, 2.0]
    assert stored(db) == dict(enumerate(HASHES))


def test_chain_that_gets_shorter_while_read(node: FakeNode, tmp_path: Path, naps: list[float]) -> None:
    # getblockcount says 25, but getblockhash 20 and above are out of range (-8), as for a moment
    # while a node reorganises onto a shorter chain with more work.
    honest = node._result
    node._result = lambda method, params: 25 if method == "getblockcount" else honest(method, params)  # type: ignore[method-assign]
    db = tmp_path / "short.duckdb"
    s = syncer(db, [])
    with pytest.raises(NodeError) as err:
        s.sync_rpc(client(node))
    assert err.value.message == "the node's chain no longer reaches height 23, 5 times in a row"
    assert naps == [1.0, 2.0, 4.0, 8.0]
    s.con.close()
    assert stored(db) == {h: HASHES[h] for h in range(20)}


# -- broken answers through the command line -------------------------------------------------------

@pytest.mark.parametrize(("method", "result", "what"), [
    ("getblockchaininfo", {"chain": "main", "headers": 19}, 'an object without "blocks"'),
    ("getblockcount", None, "null, not a block height"),
    ("getblockcount", "19", 'the string "19", not a block height'),
])
def test_malformed_answer_is_an_error_not_a_traceback(node: FakeNode, tmp_path: Path, method: str, result: object,
                                                      what: str, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def rewrite(request: object, answer: object) -> Reply | None:
        if isinstance(request, dict) and request.get("method") == method:
            import json
            return Reply(json.dumps({**answer, "result": result}).encode())  # type: ignore[dict-item]
        return None

    node.rewrite = rewrite
    db = tmp_path / "bad.duckdb"
    assert cli_sync(db, node, "mainnet", monkeypatch) == 1
    err = capsys.readouterr().err
    assert f"error: the node at 127.0.0.1:{node.port} answered {method} with {what}\nhint: " in err
    assert "Traceback" not in err
    assert stored(db) == {}
