"""Miner reserve and flows on a constructed regtest chain whose every daily figure is worked out by hand.

The story (B = 1 BTC = 100,000,000 sat, f = 10,000 sat, the fee of every transaction; regtest pays
50 BTC per block below height 150; each coinbase also claims its block's fees):

day 1  h1  AntPool's coinbase pays 50B to poolA (P2WPKH)
       h2  a solo miner's coinbase pays 50B to a bare public key (P2PK), "satoshi"
day 2  h3  tx1: poolA spends its h1 coinbase (50B) → miner1 20B, miner2 30B − f   (pool payouts)
           AntPool's coinbase pays 50B + f to poolA
day 3  h4  tx2: poolA spends its h3 coinbase (50B + f) → satoshi 50B            (inside the cohort)
           tx3: miner1 sends 20B − f to an exchange (labelled)                   (a 1-hop sale)
           Foundry's coinbase pays 50B + 2f to poolB
day 4  h5  tx4: satoshi spends the h2 coinbase (50B) → exchange 30B, change 20B − f to itself
           Foundry's coinbase pays 50B + f to poolB
Then a reorg replaces h5 by h5', h6' (no transactions; coinbases of 50B each to poolB, day 4).

Every reserve also holds G = 50B: regtest's genesis coinbase (2011) pays a public key, which thereby
is a 0-hop script; the output can never be spent, and minerwatch counts it (docs/metrics.md).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from minerwatch.chain.address import encode_address
from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, h20, key65, p2pk, p2wpkh
from minerwatch.chain.script import classify
from minerwatch.cli import main
from minerwatch.networks import get_network

B, F = 100_000_000, 10_000
G = 50 * B
DAY = 86_400
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
REGTEST = get_network("regtest")

POOL_A, POOL_B = p2wpkh(h20("poolA")), p2wpkh(h20("poolB"))
SATOSHI = p2pk(key65("satoshi"))
MINER1, MINER2 = p2wpkh(h20("miner1")), p2wpkh(h20("miner2"))
EXCHANGE = p2wpkh(h20("exchange"))


def _build() -> tuple[ChainBuilder, list[bytes]]:
    b = ChainBuilder("regtest", start_time_s=T0 + 3600)
    b.mine(tag="/AntPool/", payouts=[(POOL_A, None)], time_s=T0 + 3600)
    b.mine(tag="solo", payouts=[(SATOSHI, None)], time_s=T0 + 7200)
    b.spend([b.coinbase_outpoint(1)], [(MINER1, 20 * B), (MINER2, 30 * B - F)], fee_sat=F)
    b.mine(tag="/AntPool/", payouts=[(POOL_A, None)], time_s=T0 + DAY + 3600)
    b.spend([b.coinbase_outpoint(3)], [(SATOSHI, 50 * B)], fee_sat=F)
    b.spend(MINER1, [(EXCHANGE, 20 * B - F)], fee_sat=F)
    b.mine(tag="Foundry USA Pool", payouts=[(POOL_B, None)], time_s=T0 + 2 * DAY + 3600)
    fork_base = b.fork(4)
    b.spend([b.coinbase_outpoint(2)], [(EXCHANGE, 30 * B)], fee_sat=F)
    b.mine(tag="Foundry USA Pool", payouts=[(POOL_B, None)], time_s=T0 + 3 * DAY + 3600)
    fork_base.mine(tag="Foundry USA Pool", payouts=[(POOL_B, None)], time_s=T0 + 3 * DAY + 3700)
    fork_base.mine(tag="Foundry USA Pool", payouts=[(POOL_B, None)], time_s=T0 + 3 * DAY + 4000)
    return b, fork_base.blocks[5:]


def _address(script: bytes) -> str:
    return encode_address(*classify(script), REGTEST)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[bytes], ChainBuilder]:
    tmp = tmp_path_factory.mktemp("flows")
    chain, branch = _build()
    write_blk_files(tmp / "blocks", REGTEST, chain.blocks)
    db = tmp / "flows.duckdb"
    assert main(["sync", "--blocks-dir", str(tmp / "blocks"), "--db", str(db), "--network", "regtest",
                 "--workers", "1"]) == 0
    labels = tmp / "labels.csv"
    labels.write_text(f"address,entity,category\n{_address(EXCHANGE)},Big Exchange,exchange\n")
    assert main(["labels", "import", str(labels), "--db", str(db), "--name", "mine"]) == 0
    return db, tmp, branch, chain


def _daily(db: Path, cohort: str) -> dict[date, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT day, reserve_sat, inflow_sat, outflow_sat, internal_sat, outflow_tx_count, "
                       "largest_outflow_sat, to_exchange_sat FROM daily_miner_flows WHERE cohort = ? ORDER BY day",
                       [cohort]).fetchall()
    con.close()
    return {r[0]: r[1:] for r in rows}


D1, D2, D3, D4 = (date(2024, 1, d) for d in (1, 2, 3, 4))
# Regtest's genesis header time is 1,296,688,602 s = 2011-02-02 23:16:42 UTC (Bitcoin Core's
# chainparams): its day holds one block, whose coinbase pays G to a public key. That payout is the
# day's whole inflow, nothing moves, and G is the reserve from then on.
D0 = date(2011, 2, 2)
GENESIS_DAY = (G, G, 0, 0, 0, 0, 0)


def test_zero_hop_daily_figures(synced: tuple) -> None:
    db = synced[0]
    # (reserve, inflow, outflow, internal, outflow tx count, largest outflow, to exchange)
    assert _daily(db, "0hop") == {
        D0: GENESIS_DAY,
        D1: (G + 100 * B, 100 * B, 0, 0, 0, 0, 0),
        # tx1 pays the miners 50B − f: all of it leaves the 0-hop set; the fee f is not a flow.
        D2: (G + 100 * B + F, 50 * B + F, 50 * B - F, 0, 1, 50 * B - F, 0),
        # tx2 (poolA → satoshi, 50B) is internal; tx3 is a 1-hop sale, invisible to 0-hop.
        D3: (G + 150 * B + 2 * F, 50 * B + 2 * F, 0, 50 * B, 0, 0, 0),
        # tx4: 50B in, 20B − f back to satoshi (internal), 30B out, to the labelled exchange.
        D4: (G + 170 * B + 2 * F, 50 * B + F, 30 * B, 20 * B - F, 1, 30 * B, 30 * B),
    }


def test_one_hop_daily_figures(synced: tuple) -> None:
    db = synced[0]
    assert _daily(db, "1hop") == {
        # Nothing has spent a 0-hop output yet: the 1-hop set is the 0-hop set.
        D0: GENESIS_DAY,
        D1: (G + 100 * B, 100 * B, 0, 0, 0, 0, 0),
        # The pool payouts stay inside the 1-hop set: miner1 and miner2 join it at h3.
        D2: (G + 150 * B, 50 * B + F, 0, 50 * B - F, 0, 0, 0),
        # miner1's sale of 20B − f to the exchange is the 1-hop outflow.
        D3: (G + 180 * B + F, 50 * B + 2 * F, 20 * B - F, 50 * B, 1, 20 * B - F, 20 * B - F),
        # tx4 is satoshi's (0-hop) payment to the exchange: by Coin Metrics' rule the exchange
        # thereby joins the 1-hop set, so for 1-hop all of tx4 (50B − f) is internal.
        D4: (G + 230 * B + F, 50 * B + F, 0, 50 * B - F, 0, 0, 0),
    }


def test_pool_and_label_cohorts(synced: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    db = synced[0]
    capsys.readouterr()
    # AntPool's cohort: poolA (0-hop, h1) and the miners it paid first (1-hop, h3). Its reserve on
    # day 3: poolA's coins are gone (h1 paid out, h3 moved to satoshi), miner1 sold everything,
    # miner2 holds 30B − f.
    assert main(["metrics", "miner_reserve_btc", "--cohort", "pool:antpool", "--db", str(db), "--format", "json",
                 "--from", "2024-01-03", "--to", "2024-01-03"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == [{"date": "2024-01-03", "value": (30 * B - F) / B}]


def test_outflow_question_and_reorg_removes_the_outflow(synced: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    db, tmp, branch, chain = synced
    capsys.readouterr()
    assert main(["miners", "outflow", "--from", "2024-01-01", "--to", "2024-01-04", "--db", str(db), "--json"]) == 0
    import json

    total = json.loads(capsys.readouterr().out)
    assert total["outflow_btc"] == (50 * B - F + 30 * B) / B
    # 2024 lies inside the shipped price history: the USD figure is each day's outflow × that
    # day's price, checked against the prices table directly.
    con = duckdb.connect(str(db), read_only=True)
    p2, p4 = (con.execute("SELECT price_usd FROM prices WHERE date = ?", [d]).fetchone()[0] for d in (D2, D4))
    con.close()
    assert total["outflow_usd"] == pytest.approx((50 * B - F) / B * p2 + 30 * p4, rel=1e-12)

    # The node reorganised: blocks h5', h6' replace h5 and its outflow.
    write_blk_files(tmp / "blocks2", REGTEST, chain.blocks + branch)
    assert main(["sync", "--blocks-dir", str(tmp / "blocks2"), "--db", str(db), "--network", "regtest",
                 "--workers", "1"]) == 0
    day4 = _daily(db, "0hop")[D4]
    # Day 4 is now two coinbases of 50B to poolB and nothing else.
    assert day4 == (G + 150 * B + 2 * F + 100 * B, 100 * B, 0, 0, 0, 0, 0)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT max(height) FROM blocks").fetchone()[0] == 6
    # satoshi's h2 coinbase is unspent again.
    assert con.execute("SELECT count(*) FROM miner_outputs o WHERE height = 2 AND NOT EXISTS "
                       "(SELECT 1 FROM miner_spends s WHERE s.txid = o.txid AND s.vout = o.vout)").fetchone()[0] == 1
    con.close()
