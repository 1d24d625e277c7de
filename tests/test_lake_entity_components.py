"""The miner entities' components (lake/sql/entities.sql) on co-spend graphs made to be hard: long
chains in every order of script ids, a long cycle, stars, trees and pairs, checked against a
union-find written here, and settled in a number of passes that grows with the logarithm of the
longest chain (plain label propagation needed one pass per link).

Only the entity statements run, on DuckDB, over a `spends` table made directly: one row per
(spending transaction, script whose coin it spends) is all `cospends` reads.
"""

from __future__ import annotations

import math
import random

import duckdb
import pyarrow as pa
import pytest

from minerwatch.lake import cohorts
from minerwatch.lake.duck import DuckEngine

ENTITY_STATEMENTS = ("cospends", "cospend_edges", "entity_labels")


def _components(spends: list[tuple[int, int]]) -> dict[int, int]:
    """Union-find over the scripts that share a spending transaction: script → smallest script_id
    of its component, for every script co-spent with another."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_tx: dict[int, set[int]] = {}
    for tx, script in spends:
        by_tx.setdefault(tx, set()).add(script)
    for scripts in by_tx.values():
        if len(scripts) < 2:
            continue
        first, *rest = scripts
        parent.setdefault(first, first)
        for s in rest:
            parent.setdefault(s, s)
            a, b = find(first), find(s)
            if a != b:
                parent[max(a, b)] = min(a, b)
    smallest: dict[int, int] = {}
    for s in parent:
        r = find(s)
        smallest[r] = min(smallest.get(r, s), s)
    return {s: smallest[find(s)] for s in parent}


def _run(spends: list[tuple[int, int]]) -> tuple[dict[int, int], int]:
    con = duckdb.connect()
    engine = DuckEngine(con)
    engine.register("spends", pa.table({"spend_height": pa.array([1] * len(spends), pa.int32()),
                                        "spend_txid": pa.array([f"{tx:064x}" for tx, _ in spends]),
                                        "script_id": pa.array([s for _, s in spends], pa.int64())}))
    sql = dict(cohorts.statements())
    for name in ENTITY_STATEMENTS:
        engine.materialize(name, sql[name])
    passes = cohorts._propagate_labels(engine, sql["entity_pass"])
    labels = dict(con.execute("SELECT script_id, label FROM entity_labels").fetchall())
    return labels, passes


def _chain(ids: list[int], tx0: int) -> list[tuple[int, int]]:
    """Transaction k spends coins of ids[k] and ids[k+1]: a path of len(ids) - 1 links."""
    return [(tx0 + k, s) for k in range(len(ids) - 1) for s in (ids[k], ids[k + 1])]


@pytest.mark.parametrize("order", ["increasing", "decreasing", "random", "zigzag"])
def test_a_long_chain_settles_in_logarithmic_passes(order: str) -> None:
    n = 3000
    rng = random.Random(order)
    ids = rng.sample(range(-2**62, 2**62 - 1), n)
    if order == "increasing":      # the smallest id at one end: a hop per pass would need n passes
        ids.sort()
    elif order == "decreasing":
        ids.sort(reverse=True)
    elif order == "zigzag":        # local minima everywhere
        ids.sort()
        ids = [ids[i // 2] if i % 2 == 0 else ids[n - 1 - i // 2] for i in range(n)]
    spends = _chain(ids, 0)
    labels, passes = _run(spends)
    assert labels == {s: min(ids) for s in ids}
    # FastSV settles in O(log n) passes; allow 2 log2(n) + 4 (the last pass only confirms).
    assert passes <= 2 * math.log2(n) + 4, passes


def test_mixed_graph_equals_union_find() -> None:
    rng = random.Random(9)
    pool = rng.sample(range(-2**62, 2**62 - 1), 20_000)
    spends: list[tuple[int, int]] = []
    tx = 0
    take = iter(pool)
    # chains of every length, a cycle, stars, trees, transactions of many inputs, repeated co-spends
    for length in (2, 3, 5, 40, 700):
        ids = [next(take) for _ in range(length)]
        spends += _chain(ids, tx)
        tx += length
    cycle = [next(take) for _ in range(500)]
    spends += _chain(cycle + [cycle[0]], tx)
    tx += 501
    for _ in range(30):            # stars: one hub co-spent with each of its leaves in turn
        hub = next(take)
        for _ in range(rng.randint(2, 40)):
            spends += [(tx, hub), (tx, next(take))]
            tx += 1
    for _ in range(200):           # random transactions over a shared set: a few large components
        scripts = rng.sample(pool[15_000:16_000], rng.randint(1, 5))
        spends += [(tx, s) for s in scripts]
        tx += 1
    spends += spends[:50]          # the same co-spends again, in other transactions
    spends += [(tx + k, s) for k, (_, s) in enumerate(spends[:10])]   # single-script spends: no link
    labels, passes = _run(spends)
    assert labels == _components(spends)
    assert passes <= 30
