"""Refreshing from a height gives the same derived tables as recomputing everything: after
appending blocks, and after a reorg that replaces the tip."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest
from metrics_helpers import T0, Fact, insert_facts, open_db

from minerwatch.metrics import network, prices

TABLES = ("block_network", "daily_network", "daily_signals")


def _chain(n: int, seed: int, start_height: int = 839_000, start_s: int = T0) -> list[Fact]:
    """n blocks ~600 s apart with jittered (sometimes backwards) header times, a retarget-like
    difficulty step every 2,016 blocks, random fees and an occasional unclaimed reward."""
    rng = random.Random(seed)
    out, t, d = [], start_s, 7e13
    for i in range(n):
        h = start_height + i
        if h % 2016 == 0:
            d *= rng.uniform(0.9, 1.1)
        t += rng.randint(60, 1200)
        out.append(Fact(h, t + rng.randint(-900, 900), d, fees_sat=rng.randint(0, 50_000_000),
                        unclaimed_sat=1 if rng.random() < 0.01 else 0))
    return out


def _snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def _same(a: dict[str, list[tuple[object, ...]]], b: dict[str, list[tuple[object, ...]]]) -> None:
    for t in TABLES:
        assert len(a[t]) == len(b[t]), t
        for ra, rb in zip(a[t], b[t], strict=True):
            for x, y in zip(ra, rb, strict=True):
                if isinstance(x, float) and isinstance(y, float):
                    # Floating sums over other frames may differ in the last bits (a window average
                    # summed in another order); 1e-9 relative is far below any displayed digit.
                    assert x == pytest.approx(y, rel=1e-9), (t, ra[0])
                else:
                    assert x == y, (t, ra[0], ra, rb)


def _full(tmp_path: Path, name: str, facts: list[Fact]) -> dict[str, list[tuple[object, ...]]]:
    con = open_db(tmp_path / name)
    insert_facts(con, facts)
    prices.ensure_default_prices(con, 0)
    network.refresh_network(con, 0)
    snap = _snapshot(con)
    con.close()
    return snap


def test_append_then_refresh_equals_full_recompute(tmp_path: Path) -> None:
    facts = _chain(30_000, seed=1)   # ~210 days: every window up to the 200-day ribbon fills
    con = open_db(tmp_path / "inc")
    prices.ensure_default_prices(con, 0)
    for lo, hi in ((0, 20_000), (20_000, 20_001), (20_001, 25_000), (25_000, 30_000)):
        insert_facts(con, facts[lo:hi])
        network.refresh_network(con, facts[lo].height)
    assert len(con.execute("SELECT * FROM daily_signals WHERE difficulty_ribbon_compression IS NOT NULL").fetchall()) > 0
    _same(_snapshot(con), _full(tmp_path, "full", facts))


def test_reorg_refresh_from_fork_height_equals_full_recompute(tmp_path: Path) -> None:
    facts = _chain(12_000, seed=2)
    con = open_db(tmp_path / "inc")
    prices.ensure_default_prices(con, 0)
    insert_facts(con, facts)
    network.refresh_network(con, 0)
    # Replace the last 300 blocks (two days) by a longer branch with other times, difficulty and fees.
    fork = facts[-300].height
    branch = _chain(450, seed=3, start_height=fork, start_s=facts[-301].time_s)
    con.execute("DELETE FROM blocks WHERE height >= ?", [fork])
    insert_facts(con, branch, chainwork_before=int(con.execute(
        "SELECT chainwork FROM blocks WHERE height = ?", [fork - 1]).fetchone()[0]))
    network.refresh_network(con, fork)
    reorged = facts[:-300] + branch
    _same(_snapshot(con), _full(tmp_path, "full", reorged))


def test_shorter_branch_removes_days_that_no_longer_have_blocks(tmp_path: Path) -> None:
    facts = _chain(3_000, seed=4)
    con = open_db(tmp_path / "inc")
    insert_facts(con, facts)
    prices.ensure_default_prices(con, 0)
    network.refresh_network(con, 0)
    fork = facts[-1000].height
    con.execute("DELETE FROM blocks WHERE height >= ?", [fork])   # the node rolled back 1,000 blocks
    network.refresh_network(con, fork)
    _same(_snapshot(con), _full(tmp_path, "full", facts[:-1000]))
