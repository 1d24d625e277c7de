"""Miner Position Index, outflow multiple, Miner Rolling Inventory, supply ratio and the era split,
pinned to hand-worked values on a constructed regtest chain of 400 daily blocks.

Day i (i = 1 … 400, from 2023-01-01) has one block at height i whose coinbase pays the pool; from
day 2 on the pool sells 1 BTC a day to an exchange out of the previous day's coinbase (change back to
itself, no fee) — 3 BTC on the last day. Regtest halves the subsidy every 150 blocks: 50 BTC below
height 150, 25 BTC to 299, 12.5 BTC from 300.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, h20, p2wpkh
from minerwatch.cli import main
from minerwatch.metrics.registry import Query, get
from minerwatch.networks import get_network

B = 100_000_000
DAY0 = date(2023, 1, 1)
T0 = 1_672_531_200 + 43_200   # 2023-01-01T12:00:00Z
POOL, EXCHANGE = p2wpkh(h20("pool")), p2wpkh(h20("exchange"))
LAST = DAY0 + timedelta(days=399)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    tmp = tmp_path_factory.mktemp("ratios")
    b = ChainBuilder("regtest", start_time_s=T0)
    for i in range(1, 401):
        if i >= 2:
            b.spend([b.coinbase_outpoint(i - 1)], [(EXCHANGE, (3 if i == 400 else 1) * B)], change_script=POOL)
        b.mine(tag="/pool/", payouts=[(POOL, None)], time_s=T0 + (i - 1) * 86_400)
    write_blk_files(tmp / "blocks", get_network("regtest"), b.blocks)
    db = tmp / "r.duckdb"
    assert main(["sync", "--blocks-dir", str(tmp / "blocks"), "--db", str(db), "--network", "regtest",
                 "--workers", "1"]) == 0
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


def _on(con: duckdb.DuckDBPyConnection, name: str, day: date = LAST) -> float | None:
    rows = get(name).fn(con, Query(day, day, "0hop"))
    assert len(rows) == 1 and rows[0][0] == day
    return rows[0][1]


def test_outflow_multiple(con: duckdb.DuckDBPyConnection) -> None:
    # The 365 days ending on day 400 hold 364 days of 1 BTC and the last day's 3 BTC:
    # mean = 367/365 BTC; multiple = 3 / (367/365).
    assert _on(con, "miner_outflow_multiple") == pytest.approx(3 * 365 / 367, rel=1e-12)
    # Day 301: the window reaches back before the first sale; days without a sale count as zero
    # outflow: 300 days of 1 BTC → mean 300/365, multiple 1 / (300/365).
    assert _on(con, "miner_outflow_multiple", DAY0 + timedelta(days=300)) == pytest.approx(365 / 300, rel=1e-12)


def test_mpi_in_usd_and_its_zscore(con: duckdb.DuckDBPyConnection) -> None:
    days = [LAST - timedelta(days=k) for k in range(365)]
    price = dict(con.execute("SELECT date, price_usd FROM prices WHERE date BETWEEN ? AND ?",
                             [days[-1], LAST]).fetchall())
    usd = [(3 if d == LAST else 1) * price[d] for d in days]
    mean = sum(usd) / 365
    assert _on(con, "mpi") == pytest.approx(usd[0] / mean, rel=1e-12)
    std = (sum((v - mean) ** 2 for v in usd) / 365) ** 0.5
    assert _on(con, "mpi_zscore") == pytest.approx((usd[0] - mean) / std, rel=1e-9)
    assert _on(con, "miner_outflow_usd") == pytest.approx(3 * price[LAST], rel=1e-12)


def test_rolling_inventory_and_supply_ratio(con: duckdb.DuckDBPyConnection) -> None:
    # Last 30 days (heights 371–400): outflow 29 × 1 + 3 = 32 BTC; revenue 30 × 12.5 BTC = 375 BTC.
    assert _on(con, "miner_rolling_inventory") == pytest.approx(32 / 375, rel=1e-12)
    # Issued: genesis 50 + 149 × 50 + 150 × 25 + 101 × 12.5 = 12,512.5 BTC. The pool (and the
    # genesis key) hold all of it but what was sold: 398 × 1 + 3 = 401 BTC.
    assert _on(con, "miner_reserve_btc") == 12_111.5
    assert _on(con, "miner_supply_ratio") == pytest.approx(12_111.5 / 12_512.5, rel=1e-12)
    assert _on(con, "miner_outflow_tx_count") == 1 and _on(con, "miner_largest_outflow_btc") == 3.0


def test_era_split(con: duckdb.DuckDBPyConnection) -> None:
    # Every coin here was created in 2011 (regtest's genesis) or 2023–2024: nothing from 2009–2010.
    assert _on(con, "miner_reserve_2009_2010_btc") == 0.0
    assert _on(con, "miner_reserve_since_2011_btc") == 12_111.5
