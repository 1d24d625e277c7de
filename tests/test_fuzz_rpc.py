"""Fuzzing the RPC client's answer handling: every call minerwatch makes, and a whole sync, against a
node (tests/fake_node.py, real mainnet blocks 0–7) whose answers tests/rpc_mutations.py breaks.

The only acceptable failure is the project's own error (a MinerwatchError: NodeError, or a
ParseError for a block cut short); a call that succeeds returns values of the right shape, and a
sync that succeeds stores the real chain's blocks, nothing else. Case `i` is built from
`Random(f"{SEED}:rpc:{i}")` alone and a failure names it, so any case can be run again on its own;
MINERWATCH_FUZZ_SCALE multiplies the number of cases and MINERWATCH_FUZZ_SEED picks other ones.
"""

from __future__ import annotations

import os
import random
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

import rpc_mutations
from fake_node import FakeNode, block_hash, mainnet_blocks
from minerwatch import sync
from minerwatch.chain.rpc import ChainHeader, ChainInfo, RpcClient
from minerwatch.chain.rpc_answers import HASH_RE, MAX_HEIGHT
from minerwatch.errors import MinerwatchError
from minerwatch.networks import get_network
from minerwatch.store import connect
from minerwatch.sync import Syncer

SEED = int(os.environ.get("MINERWATCH_FUZZ_SEED", "20240420"))
SCALE = float(os.environ.get("MINERWATCH_FUZZ_SCALE", "1"))
# ~2 ms a call, ~0.2 s a sync (a new database, three batches, the metrics): ~12 s in all here.
CALL_CASES = int(3_000 * SCALE)
SYNC_CASES = int(30 * SCALE)
MAINNET = get_network("mainnet")
BLOCKS = mainnet_blocks()[:8]
HASHES = [block_hash(b) for b in BLOCKS]


def _hash(value: object) -> bool:
    return isinstance(value, str) and HASH_RE.fullmatch(value) is not None


def _height(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_HEIGHT  # type: ignore[operator]


# Each call the client makes, and what its result must look like when it succeeds.
CALLS: dict[str, tuple[Callable[[RpcClient], object], Callable[[object], bool]]] = {
    "chain_info": (lambda c: c.chain_info(),
                   lambda r: isinstance(r, ChainInfo) and _height(r.blocks) and _hash(r.best_block_hash)),
    "check_network": (lambda c: c.check_network(), lambda r: isinstance(r, ChainInfo) and r.chain == "main"),
    "wait_until_synced": (lambda c: c.wait_until_synced(poll_s=0.001, max_wait_s=0.005),
                          lambda r: isinstance(r, ChainInfo) and r.synced),
    "block_count": (lambda c: c.block_count(), _height),
    "best_block_hash": (lambda c: c.best_block_hash(), _hash),
    "block_hash": (lambda c: c.block_hash(3), _hash),
    "block_hashes": (lambda c: c.block_hashes(list(range(8))),
                     lambda r: isinstance(r, list) and len(r) == 8 and all(map(_hash, r))),
    "raw_blocks": (lambda c: c.raw_blocks(HASHES[2:5]),
                   lambda r: isinstance(r, list) and len(r) == 3 and all(isinstance(b, bytes) for b in r)),
    "header": (lambda c: c.header(HASHES[3]),
               lambda r: isinstance(r, ChainHeader) and _hash(r.hash) and _height(r.height)),
}


@pytest.fixture(scope="module")
def node() -> Iterator[FakeNode]:
    n = FakeNode(BLOCKS)
    yield n
    n.stop()


def _client(node: FakeNode) -> RpcClient:
    # Retries are part of what is fuzzed; waits are not.
    return RpcClient(node.url, MAINNET, password="x", timeout_s=5.0, retries=2, backoff_s=0.001)


def _report(failures: list[str], summary: Counter) -> str:
    return f"{len(failures)} failures of {sum(summary.values())} cases ({dict(summary)}):\n" + "\n\n".join(failures[:5])


def test_every_call_survives_mutated_answers(node: FakeNode) -> None:
    summary: Counter[str] = Counter()
    failures: list[str] = []
    names = sorted(CALLS)
    for i in range(CALL_CASES):
        rng = random.Random(f"{SEED}:rpc:{i}")
        name = rng.choice(names)
        # One broken answer (a call may make up to 3 requests), or every answer broken.
        node.rewrite, done = rpc_mutations.rewriter(rng, rng.choice([0, 0, 0, 1, 2, None]), HASHES)
        run, shape_ok = CALLS[name]
        try:
            result = run(_client(node))
        except MinerwatchError as e:
            summary[type(e).__name__] += 1
            if "Traceback" in str(e) or len(str(e)) > 2_000:
                failures.append(f"case {i} ({name}; {done}): an unreadable message: {str(e)[:300]!r}")
        except Exception as e:  # noqa: BLE001 - anything else is what the fuzzer looks for
            failures.append(f"case {i} ({name}; {done}): {type(e).__name__}\n" + traceback.format_exc()[-1500:])
        else:
            summary["answered"] += 1
            if not shape_ok(result):
                failures.append(f"case {i} ({name}; {done}): returned {result!r:.300}")
    node.rewrite = None
    assert not failures, _report(failures, summary)
    # The mutations reach the checks: most cases are refused, some still answer (a change the
    # client tolerates, like a hash in capitals where a block's hex may be either case).
    assert summary["NodeError"] + summary["RpcCallError"] > CALL_CASES // 2, summary
    assert summary["answered"] > CALL_CASES // 20, summary


def test_sync_survives_mutated_answers(node: FakeNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The waits between attempts at a batch that does not connect are skipped, not slept.
    monkeypatch.setattr(sync, "_nap", lambda seconds, should_stop: None)
    summary: Counter[str] = Counter()
    failures: list[str] = []
    for i in range(SYNC_CASES):
        rng = random.Random(f"{SEED}:rpc-sync:{i}")
        # The first requests check the node; the later ones carry the batches.
        node.rewrite, done = rpc_mutations.rewriter(rng, rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 10, None]), HASHES)
        db = tmp_path / f"{i}.duckdb"
        syncer = Syncer(connect(db), MAINNET, batch_blocks=3)
        try:
            syncer.sync_rpc(_client(node))
            summary["synced"] += 1
        except MinerwatchError as e:
            summary[type(e).__name__] += 1
        except Exception as e:  # noqa: BLE001
            failures.append(f"case {i} ({done}): {type(e).__name__}\n" + traceback.format_exc()[-1500:])
        finally:
            syncer.con.close()
        con = duckdb.connect(str(db), read_only=True)
        kept = dict(con.execute("SELECT height, hash FROM blocks").fetchall())
        con.close()
        # Whatever happened, what is stored is the real chain from its genesis block.
        if kept != {h: HASHES[h] for h in range(len(kept))}:
            failures.append(f"case {i} ({done}): stored {kept}")
    node.rewrite = None
    assert not failures, _report(failures, summary)
    assert summary["synced"] > 0 and summary["NodeError"] > 0, summary
