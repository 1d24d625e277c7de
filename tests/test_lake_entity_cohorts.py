"""Miner entities as cohorts: from a constructed chain with known co-spends, through the lake, DuckDB's
job and `lake import` — every figure worked out by hand from the chain below.

Regtest, one block a day from 2024-01-01 (B = 1 BTC, f = 10,000 sat, the fee of every payment;
every coinbase claims its block's fees):
  h1 2024-01-01  coinbase → P 50B
  h2 2024-01-02  coinbase → Q 50B
  h3 2024-01-03  tx1: P's coinbase → A 5B, A 5B, B 10B, C 10B, D 10B, change 10B − f to P;  coinbase → Y 50B + f
  h4 2024-01-04  tx2: P's change + A's first coin → W 10B, change 5B − 2f to P
                 tx3: A's second coin + B's → W 15B − f;  tx4: C's + D's → W 20B − f;  coinbase → Y 50B + 3f
Co-spends join P–A (tx2) and A–B (tx3): {P, A, B} is one entity, its seed P's coinbase output at h1,
so `entity:1.0`. {C, D} is co-spent too but holds no coinbase script: no entity. Q (`entity:2.0`),
Y (`entity:3.0`) and regtest genesis's public key (`entity:0.0`, 2011-02-02) are entities of one.

entity:1.0 by hand (the entity owns every coin of P, A and B):
  2024-01-01  inflow 50B (coinbase); reserve 50B
  2024-01-03  tx1 spends 50B, pays the entity 30B − f (A, A, B, change): internal 30B − f, outflow 20B
              (C and D); reserve 30B − f
  2024-01-04  tx2 spends 15B − f, pays back 5B − 2f: internal 5B − 2f, outflow 10B; tx3 spends 15B,
              outflow 15B − f; outflow 25B − f in 2 transactions, the largest 15B − f;
              reserve 30B − f − (15B − f) − 15B + (5B − 2f) = 5B − 2f = 4.9998 BTC
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, h20, p2wpkh
from minerwatch.cli import main

from test_miner_flows_constructed import B, DAY, F, REGTEST, T0

D1, D3, D4 = date(2024, 1, 1), date(2024, 1, 3), date(2024, 1, 4)
GENESIS_DAY = date(2011, 2, 2)


def cospend_chain() -> ChainBuilder:
    """The chain of the module's docstring."""
    p, q, y, a, bb, c, d, w = (p2wpkh(h20(n)) for n in ("P", "Q", "Y", "A", "B", "C", "D", "W"))
    b = ChainBuilder("regtest", start_time_s=T0)
    b.mine(payouts=[(p, None)], time_s=T0)
    b.mine(payouts=[(q, None)], time_s=T0 + DAY)
    tx1 = b.spend([b.coinbase_outpoint(1)], [(a, 5 * B), (a, 5 * B), (bb, 10 * B), (c, 10 * B), (d, 10 * B)],
                  fee_sat=F)
    b.mine(payouts=[(y, None)], time_s=T0 + 2 * DAY)
    b.spend([tx1.outpoint(5), tx1.outpoint(0)], [(w, 10 * B)], fee_sat=F)
    b.spend([tx1.outpoint(1), tx1.outpoint(2)], [(w, 15 * B - F)], fee_sat=F)
    b.spend([tx1.outpoint(3), tx1.outpoint(4)], [(w, 20 * B - F)], fee_sat=F)
    b.mine(payouts=[(y, None)], time_s=T0 + 3 * DAY)
    return b


def build_imported(tmp: Path) -> Path:
    """The chain synced into tmp/m.duckdb, exported as a lake, its cohorts computed by DuckDB and
    imported: the walk-through of docs/scale-out.md with `lake cohorts` in place of the cluster.
    tmp/not-imported.duckdb is the same database before the import."""
    write_blk_files(tmp / "blocks", REGTEST, cospend_chain().blocks)
    db = tmp / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(tmp / "blocks"), "--db", str(db), "--network", "regtest",
                 "--workers", "1"]) == 0
    assert main(["lake", "export", str(tmp / "lake"), "--blocks-dir", str(tmp / "blocks"), "--network", "regtest",
                 "--workers", "1"]) == 0
    assert main(["lake", "cohorts", str(tmp / "lake"), "--out", str(tmp / "results")]) == 0
    shutil.copy(db, tmp / "not-imported.duckdb")
    assert main(["lake", "import", str(tmp / "results"), "--db", str(db)]) == 0
    return db


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_imported(tmp_path_factory.mktemp("entity-cohorts"))


def test_entity_daily_rows(imported: Path) -> None:
    with duckdb.connect(str(imported), read_only=True) as con:
        assert con.execute("SELECT cohort, seed_height, seed_vout, script_count, coinbase_script_count "
                           "FROM lake_entity_cohorts ORDER BY seed_height").fetchall() == [
            ("entity:0.0", 0, 0, 1, 1), ("entity:1.0", 1, 0, 3, 1), ("entity:2.0", 2, 0, 1, 1),
            ("entity:3.0", 3, 0, 1, 1)]
        rows = con.execute("SELECT day, reserve_sat, inflow_sat, outflow_sat, internal_sat, outflow_tx_count, "
                           "largest_outflow_sat FROM lake_daily_entity_flows WHERE cohort = 'entity:1.0' "
                           "ORDER BY day").fetchall()
    # Only the days that change the entity (docstring); 2024-01-02 has no row.
    assert rows == [(D1, 50 * B, 50 * B, 0, 0, 0, 0),
                    (D3, 30 * B - F, 0, 20 * B, 30 * B - F, 1, 20 * B),
                    (D4, 5 * B - 2 * F, 0, 25 * B - F, 5 * B - 2 * F, 2, 15 * B - F)]

