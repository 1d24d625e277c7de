"""Miner entities as cohorts: from a constructed chain with known co-spends, through the lake, DuckDB's
job and `lake import`, to `minerwatch miners entities|reserve`, the API and the dashboard's JSON — every
figure worked out by hand from the chain below.

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

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, h20, p2wpkh
from minerwatch.cli import main
from minerwatch.web.app import create_app

from test_miner_flows_constructed import B, DAY, F, REGTEST, T0

D1, D3, D4 = date(2024, 1, 1), date(2024, 1, 3), date(2024, 1, 4)


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


def test_cli_lists_the_entities_and_reads_their_series(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(imported)
    assert main(["miners", "entities", "--db", db, "--by", "scripts"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("4 miner entities, from the lake to height 4, computed by DuckDB (minerwatch ")
    # {P, A, B} first by size: 3 scripts, 5B − 2f = 4.9998 BTC since 2024-01-04, seeded at block 1.
    assert out[3].split() == ["entity:1.0", "3", "4.9998", "BTC", "2024-01-04", "block", "1", "output", "0"]
    assert main(["miners", "entities", "--db", db, "--json", "--limit", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # By reserve, Y's entity leads: its two coinbases, 50B + f and 50B + 3f.
    assert (doc["total"], doc["order"], doc["source"]["engine"], doc["source"]["lake_tip_height"]) == \
        (4, "reserve", "duckdb", 4)
    assert [(e["cohort"], e["reserve_btc"], e["scripts"]) for e in doc["entities"]] == [("entity:3.0", 100.0004, 1)]

    assert main(["miners", "reserve", "--db", db, "--cohort", "entity:1.0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "entity:1.0 miner reserve on 2024-01-04: 4.9998 BTC"
    assert lines[2] == "  record high 50 BTC on 2024-01-01"
    # Outflow from 2024-01-01: 20B (day 3) + 25B − f (day 4) = 45B − f = 44.9999 BTC.
    assert main(["miners", "outflow", "--db", db, "--cohort", "entity:1.0", "--from", "2024-01-01"]) == 0
    assert "entity:1.0 miners sent 44.9999 BTC out between 2024-01-01 and 2024-01-04" in capsys.readouterr().out
    # Every cohort series reads it: the daily reserve, carried over the day without a change (2024-01-02).
    assert main(["metrics", "miner_reserve_btc", "--db", db, "--cohort", "entity:1.0", "--from", "2024-01-01",
                 "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["date,miner_reserve_btc", "2024-01-01,50.0", "2024-01-02,50.0",
                                               "2024-01-03,29.9999", "2024-01-04,4.9998"]


def test_cli_errors_name_the_entity_and_the_import(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["miners", "reserve", "--db", str(imported), "--cohort", "entity:9.0"]) == 1
    err = capsys.readouterr().err
    assert "no imported miner entity is called 'entity:9.0'" in err and "entity:1.0" in err
    bare = str(imported.parent / "not-imported.duckdb")
    for args in (["miners", "entities"], ["miners", "reserve", "--cohort", "entity:1.0"]):
        assert main([*args, "--db", bare]) == 1
        assert "minerwatch lake import RESULTS" in capsys.readouterr().err


@pytest.fixture(scope="module")
def client(imported: Path) -> TestClient:
    return TestClient(create_app(imported))


def test_api_entities_and_their_series(client: TestClient) -> None:
    body = client.get("/api/v1/entities", params={"order": "scripts", "limit": 2}).json()
    assert body["total"] == 4 and body["source"]["lake_tip_height"] == 4 and body["source"]["engine"] == "duckdb"
    first = body["entities"][0]
    assert (first["cohort"], first["scripts"], first["coinbase_scripts"], first["reserve_btc"], first["reserve_day"],
            first["seed_height"], first["seed_vout"]) == ("entity:1.0", 3, 1, 4.9998, "2024-01-04", 1, 0)
    s = client.get("/api/v1/series/miner_netflow_btc", params={"cohort": "entity:1.0", "interval": "all"}).json()
    # Netflow = inflow − outflow: +50 (day 1), 0 (day 2), −20 (day 3), −(25B − f) = −24.9999 (day 4);
    # genesis's day (2011-02-02) is a day with a block before the entity's first: 0.
    assert [(r["date"], r["value"]) for r in s["rows"]] == [
        ("2011-02-02", 0.0), ("2024-01-01", 50.0), ("2024-01-02", 0.0), ("2024-01-03", -20.0),
        ("2024-01-04", -24.9999)]
    assert s["source"]["lake_tip_height"] == 4 and s["source"]["minerwatch_version"]
    # The single-machine cohorts say they come from this database's own sync.
    assert client.get("/api/v1/series/miner_reserve_btc", params={"cohort": "0hop"}).json()["source"] is None


def test_api_unknown_entity_is_404(client: TestClient, imported: Path) -> None:
    r = client.get("/api/v1/series/miner_reserve_btc", params={"cohort": "entity:9.0"})
    assert r.status_code == 404
    assert r.json()["error"] == "no imported miner entity is called 'entity:9.0'"
    assert "GET /api/v1/entities lists them" in r.json()["hint"]
    bare = TestClient(create_app(imported.parent / "not-imported.duckdb"))
    for path in ("/api/v1/entities", "/api/v1/series/miner_reserve_btc?cohort=entity:1.0"):
        r = bare.get(path)
        assert r.status_code == 404 and "minerwatch lake import RESULTS" in r.json()["hint"], path


def test_entity_pages(client: TestClient, imported: Path) -> None:
    doc = client.get("/entities.json", params={"by": "scripts"}).json()
    table = doc["tables"][0]
    assert table["rows"][0][:4] == ["entity:1.0", 3, 4.9998, "2024-01-04"]
    assert table["link_keys"][0] == "1.0"
    assert any("the lake to height 4, computed by DuckDB" in n for n in doc["notes"])
    # The reserve page lists the entities holding the most (Y's first: 100B + 4f), once imported.
    reserve = client.get("/reserve.json").json()
    assert [r[0] for r in next(t for t in reserve["tables"] if t["id"] == "entities")["rows"]] == [
        "entity:3.0", "entity:0.0", "entity:2.0", "entity:1.0"]
    page = client.get("/entities/1.0.json").json()
    reserve = next(c for c in page["charts"] if c["id"] == "entity-reserve")
    # All history: genesis's day, then the four days of 2024 (x in unix seconds of each UTC day).
    assert reserve["series"][0]["values"] == [0.0, 50.0, 50.0, 29.9999, 4.9998]
    flows = next(c for c in page["charts"] if c["id"] == "entity-flows")
    assert [s["metric"] for s in flows["series"]] == ["miner_outflow_btc", "miner_inflow_btc", "miner_netflow_btc"]
    assert flows["series"][0]["values"][-2:] == [20.0, 24.9999]
    assert any("computed by DuckDB" in n for n in page["notes"])
    assert client.get("/entities/entity:1.0.json").json()["charts"] == page["charts"]
    assert client.get("/entities/9.9").status_code == 404
    bare = TestClient(create_app(imported.parent / "not-imported.duckdb"))
    notes = bare.get("/entities.json").json()["notes"]
    assert notes and "minerwatch lake import RESULTS" in notes[0]
    assert not [t for t in bare.get("/reserve.json").json()["tables"] if t["id"] == "entities"]


@pytest.fixture(scope="module")
def short_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated demo chain, short (48 days, 7,292 blocks), synced with its label set, exported as a
    lake, its cohorts computed by DuckDB and imported (~30 s on two busy cores)."""
    from minerwatch.simulate.files import write_demo
    from minerwatch.simulate.generate import SimConfig, generate

    tmp = tmp_path_factory.mktemp("entity-cohorts-demo")
    files = write_demo(tmp / "files", chain=generate(SimConfig(seed=7, days=48)))
    db = tmp / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(files.blocks_dir), "--db", str(db), "--network", "simnet",
                 "--workers", "1"]) == 0
    assert main(["labels", "import", str(files.labels_csv), "--db", str(db), "--name", "demo"]) == 0
    assert main(["lake", "export", str(tmp / "lake"), "--blocks-dir", str(files.blocks_dir), "--network", "simnet",
                 "--workers", "1"]) == 0
    assert main(["lake", "cohorts", str(tmp / "lake"), "--out", str(tmp / "results")]) == 0
    assert main(["lake", "import", str(tmp / "results"), "--db", str(db)]) == 0
    return db


def test_a_lone_labelled_payout_address_is_its_label_cohort_day_by_day(short_demo: Path) -> None:
    """The oracle is the single-machine sync: a label naming one script (a pool's payout address) is a
    cohort the tracker follows from that script's first coinbase; if no co-spend joins the script to
    another, the lake's entity is that one script, and its series must be the label cohort's, every day
    — computed by the other implementation (the tracker and metrics/miners.py, not the lake's SQL)."""
    from minerwatch.metrics.miners import cohort_days

    with duckdb.connect(str(short_demo), read_only=True) as con:
        lone = con.execute("""
            SELECT 'label:' || l.entity, c.cohort
            FROM labels l JOIN lake_entities e ON e.script_id = l.script_id
            JOIN lake_entity_cohorts c ON c.entity_id = e.entity_id
            WHERE c.script_count = 1 AND l.entity IN (SELECT entity FROM labels GROUP BY entity HAVING count(*) = 1)
            ORDER BY 1""").fetchall()
        assert len(lone) >= 2, lone          # two on this chain: Aurora Digital and Basalt Mining
        for label, entity in lone:
            want, got = cohort_days(con, label), cohort_days(con, entity)
            assert len(got) == len(want) == 48 and any(r[1] for r in want), (label, entity)
            # (day, reserve, inflow, outflow, internal, outflow transactions, largest outflow); an entity
            # has no exchange share (None), a label cohort's is 0 on these days.
            assert [r[:7] for r in got] == [r[:7] for r in want], (label, entity)
