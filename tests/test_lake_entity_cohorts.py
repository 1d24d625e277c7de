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
    assert main(["lake", "cohorts", str(tmp / "lake"), "--out", str(tmp / "results"),
                 "--labels", str(files.labels_csv)]) == 0
    assert main(["lake", "import", str(tmp / "results"), "--db", str(db)]) == 0
    return db


def test_a_lone_labelled_payout_address_is_its_label_cohort_day_by_day(short_demo: Path) -> None:
    """The oracle is the single-machine sync: a label naming one script (a pool's payout address) is a
    cohort the tracker follows from that script's first coinbase; if no co-spend joins the script to
    another, the lake's entity is that one script, and its series must be the label cohort's, every day
    — computed by the other implementation (the tracker and metrics/miners.py, not the lake's SQL)."""
    from minerwatch.metrics.miners import cohort_days, cohort_eras

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
            # (day, reserve, inflow, outflow, internal, outflow transactions, largest outflow, to
            # exchanges: the scripts labelled 'exchange' outside the cohort, the same for one script),
            # and the reserve by era (every coin of 2025 here).
            assert got == want, (label, entity)
            assert cohort_eras(con, entity) == cohort_eras(con, label) != [], (label, entity)


# ---- the entities' reserve by era and flow to exchanges ---------------------------------------------

D5 = date(2025, 1, 1)


def era_chain() -> ChainBuilder:
    """The chain of the module's docstring, then one block in the next UTC year:
      h5 2025-01-01  tx5: P's change of tx2 (5B − 2f, mined 2024) → X 3B, change 2B − 3f to P;
                     coinbase → P 50B + f
    with X labelled 'exchange'. entity:1.0 on 2025-01-01, by hand:
      tx5 spends 5B − 2f and pays the entity 2B − 3f: internal 2B − 3f; outflow least(5B − 2f −
      (2B − 3f), 3B) = least(3B + f, 3B) = 3B (f is the fee), all of it to X: to exchanges 3B;
      the coinbase: inflow 50B + f. Reserve 5B − 2f − (5B − 2f) + (2B − 3f) + (50B + f) = 52B − 2f.
      By era: the coins of 2024 are all spent (0); those of 2025 are tx5's change and the coinbase,
      2B − 3f + 50B + f = 52B − 2f. Before, every coin of the entity was mined in 2024, so its 2024
      era is its reserve of the docstring on each day that changed it: 50B, 30B − f, 5B − 2f."""
    p, x = p2wpkh(h20("P")), p2wpkh(h20("X"))
    b = cospend_chain()
    [change] = b.coins_of(p)                    # tx2's change, 5B − 2f (tx1's went into tx2)
    b.spend([change], [(x, 3 * B)], fee_sat=F)
    b.mine(payouts=[(p, None)], time_s=T0 + 366 * DAY)
    return b


@pytest.fixture(scope="module")
def era_imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """era_chain synced, exported, its cohorts computed by DuckDB with X's label and imported."""
    from minerwatch.chain.address import encode_address
    from minerwatch.chain.script import classify

    tmp = tmp_path_factory.mktemp("entity-eras")
    write_blk_files(tmp / "blocks", REGTEST, era_chain().blocks)
    labels = tmp / "labels.csv"
    labels.write_text("address,entity,category\n"
                      f"{encode_address(*classify(p2wpkh(h20('X'))), REGTEST)},Exchange X,exchange\n")
    db = tmp / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(tmp / "blocks"), "--db", str(db), "--network", "regtest",
                 "--workers", "1"]) == 0
    assert main(["lake", "export", str(tmp / "lake"), "--blocks-dir", str(tmp / "blocks"), "--network", "regtest",
                 "--workers", "1"]) == 0
    assert main(["lake", "cohorts", str(tmp / "lake"), "--out", str(tmp / "results"), "--labels", str(labels)]) == 0
    assert main(["lake", "import", str(tmp / "results"), "--db", str(db)]) == 0
    return db


def test_entity_reserve_by_era_and_to_exchange_rows(era_imported: Path) -> None:
    with duckdb.connect(str(era_imported), read_only=True) as con:
        flows = con.execute("SELECT day, reserve_sat, inflow_sat, outflow_sat, internal_sat, outflow_tx_count, "
                            "largest_outflow_sat, to_exchange_sat FROM lake_daily_entity_flows "
                            "WHERE cohort = 'entity:1.0' ORDER BY day").fetchall()
        eras = con.execute("SELECT era_year, day, reserve_sat FROM lake_daily_entity_reserve_era "
                           "WHERE cohort = 'entity:1.0' ORDER BY era_year, day").fetchall()
        latest = con.execute("SELECT reserve_sat, reserve_day FROM lake_entity_cohorts WHERE cohort = 'entity:1.0'"
                             ).fetchone()
    # era_chain's docstring; with an exchange label the share is 0, not NULL, on the other days.
    assert flows == [(D1, 50 * B, 50 * B, 0, 0, 0, 0, 0),
                     (D3, 30 * B - F, 0, 20 * B, 30 * B - F, 1, 20 * B, 0),
                     (D4, 5 * B - 2 * F, 0, 25 * B - F, 5 * B - 2 * F, 2, 15 * B - F, 0),
                     (D5, 52 * B - 2 * F, 50 * B + F, 3 * B, 2 * B - 3 * F, 1, 3 * B, 3 * B)]
    # Only the days a pair changes: 2024's goes to 0 on the day its last coin is spent.
    assert eras == [(2024, D1, 50 * B), (2024, D3, 30 * B - F), (2024, D4, 5 * B - 2 * F), (2024, D5, 0),
                    (2025, D5, 52 * B - 2 * F)]
    # The import keeps each entity's latest reserve with it, for the list of entities.
    assert latest == (52 * B - 2 * F, D5)


def test_entity_reserve_by_era_and_to_exchange_series(era_imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The imported rows read back through the series every cohort has (metrics/miners.py)."""
    db = str(era_imported)

    def series(name: str, cohort: str = "entity:1.0") -> list[str]:
        assert main(["metrics", name, "--db", db, "--cohort", cohort, "--from", "2024-01-01", "--format", "csv"]) == 0
        return capsys.readouterr().out.split()[1:]

    # Days with a block from 2024-01-01: D1–D4 and D5. Regtest's eras are 2011 (genesis) and later:
    # nothing of 2009–2010; since 2011, the whole reserve, carried over 2024-01-02.
    assert series("miner_reserve_since_2011_btc") == [
        "2024-01-01,50.0", "2024-01-02,50.0", "2024-01-03,29.9999", "2024-01-04,4.9998", "2025-01-01,51.9998"]
    assert series("miner_reserve_2009_2010_btc") == [
        "2024-01-01,0.0", "2024-01-02,0.0", "2024-01-03,0.0", "2024-01-04,0.0", "2025-01-01,0.0"]
    assert series("miner_to_exchange_btc") == [
        "2024-01-01,0.0", "2024-01-02,0.0", "2024-01-03,0.0", "2024-01-04,0.0", "2025-01-01,3.0"]
    # Genesis's key (entity:0.0) holds regtest's genesis coinbase of 2011-02-02, never spent.
    assert series("miner_reserve_since_2011_btc", "entity:0.0")[-1] == "2025-01-01,50.0"
    # The list reads the stored latest reserve: entity:1.0 leads by reserve, 51.9998 since 2025-01-01
    # (Y's two coinbases: 100.0004).
    assert main(["miners", "entities", "--db", db, "--json", "--limit", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(e["cohort"], e["reserve_btc"], e["reserve_day"]) for e in doc["entities"]] == [
        ("entity:3.0", 100.0004, "2024-01-04"), ("entity:1.0", 51.9998, "2025-01-01")]


def test_entity_page_reserve_by_era_and_exchange_charts(era_imported: Path) -> None:
    client = TestClient(create_app(era_imported))
    page = client.get("/entities/1.0.json", params={"interval": "all"}).json()
    eras = next(c for c in page["charts"] if c["id"] == "entity-reserve-by-era")
    by_label = {s["label"]: s["values"] for s in eras["series"]}
    # The days D1–D4 and D5 (era_chain's docstring), from the entity's first holding; an era holds
    # nothing (None, as on the reserve page) on a day without a row.
    assert by_label == {"mined 2024": [50.0, 50.0, 29.9999, 4.9998, None],
                        "mined 2025": [None, None, None, None, 51.9998]}
    ex = next(c for c in page["charts"] if c["id"] == "entity-to-exchange")
    assert ex["series"][0]["metric"] == "miner_to_exchange_btc" and ex["series"][0]["values"][-1] == 3.0
    s = client.get("/api/v1/series/miner_to_exchange_btc", params={"cohort": "entity:1.0", "interval": "all"}).json()
    assert [(r["date"], r["value"]) for r in s["rows"]][-2:] == [("2024-01-04", 0.0), ("2025-01-01", 3.0)]


def test_the_entity_list_reads_no_entity_day_row(era_imported: Path, tmp_path: Path) -> None:
    """Mainnet has millions of entities and billions of entity-days: the list reads the reserve the
    import stored with each entity, so it is the same with every entity-day row gone."""
    from minerwatch.queries.entities import list_entities

    bare = tmp_path / "no-days.duckdb"
    shutil.copy(era_imported, bare)
    with duckdb.connect(str(bare)) as con:
        con.execute("DELETE FROM lake_daily_entity_flows")
        found = list_entities(con, "reserve", 4).entities
    # era_chain: Y 100B + 4f since 2024-01-04, entity:1.0 52B − 2f since 2025-01-01, then genesis's
    # key and Q (50B each, since 2011-02-02 and 2024-01-02).
    assert [(e.cohort, e.reserve_btc, e.reserve_day) for e in found] == [
        ("entity:3.0", 100.0004, D4), ("entity:1.0", 51.9998, D5), ("entity:0.0", 50.0, date(2011, 2, 2)),
        ("entity:2.0", 50.0, date(2024, 1, 2))]


def test_entity_page_without_imported_eras_says_so(era_imported: Path, tmp_path: Path) -> None:
    """Results imported before the entities' reserve by era (a database migrated to 260 keeps them):
    the page shows the rest and says what the era chart needs."""
    old = tmp_path / "old.duckdb"
    shutil.copy(era_imported, old)
    with duckdb.connect(str(old)) as con:
        con.execute("DELETE FROM lake_daily_entity_reserve_era")
    page = TestClient(create_app(old)).get("/entities/1.0.json").json()
    assert [c["id"] for c in page["charts"]] == ["entity-reserve", "entity-flows", "entity-to-exchange"]
    assert any(n.startswith("The imported lake results have no reserve by era") and "lake import RESULTS" in n
               for n in page["notes"])


def test_a_database_imported_before_migration_260_migrates(tmp_path: Path) -> None:
    """A database whose lake results were imported at schema 250: migrating adds the new columns and
    tables, keeps the entity's latest reserve with it from its rows, and the reserve by era asks
    for a new import rather than reading 0."""
    from minerwatch.errors import NotFoundError
    from minerwatch.metrics.miners import cohort_days, cohort_eras
    from minerwatch.queries.entities import list_entities
    from minerwatch.store import migrate, migrations

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
                "applied_at TIMESTAMP DEFAULT current_timestamp)")
    for number, name, sql in migrations():
        if number <= 250:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [number, name])
    # entity:1.0 of the module's docstring, as the import of migration 242 left it.
    con.execute("INSERT INTO lake_import VALUES ('duckdb', 'regtest', 4, 'ab', '0.9', TIMESTAMP '2026-11-28 22:10')")
    con.execute("INSERT INTO lake_entity_cohorts VALUES (7, 'entity:1.0', 1, 0, NULL, 3, 1)")
    con.executemany("INSERT INTO lake_daily_cohort_flows VALUES (?, '1hop', 0, 0, 0, 0, 0, 0)", [[D1], [D3], [D4]])
    con.executemany("INSERT INTO lake_daily_entity_flows VALUES ('entity:1.0', ?, ?, 0, 0, 0, 0, 0)",
                    [[D1, 50 * B], [D3, 30 * B - F], [D4, 5 * B - 2 * F]])
    migrate(con)
    assert con.execute("SELECT reserve_sat, reserve_day FROM lake_entity_cohorts").fetchone() == (5 * B - 2 * F, D4)
    e = list_entities(con).entities[0]
    assert (e.cohort, e.reserve_btc, e.reserve_day) == ("entity:1.0", 4.9998, D4)
    # The flows read as before; the results of then had no flow to exchanges (None, as without labels).
    assert [(r[0], r[1], r[7]) for r in cohort_days(con, "entity:1.0")] == [
        (D1, 50 * B, None), (D3, 30 * B - F, None), (D4, 5 * B - 2 * F, None)]
    with pytest.raises(NotFoundError, match="no reserve by era for the miner entities") as err:
        cohort_eras(con, "entity:1.0")
    assert "minerwatch lake import RESULTS" in err.value.hint


def test_a_migration_numbered_below_the_schema_is_still_applied(tmp_path: Path) -> None:
    """Migration 242 shipped after 250: a database migrated to 250 before then lacks it, and 260
    alters its tables. Migrating applies what the record lacks, not only what is above 250."""
    from minerwatch.store import connect, migrations

    db = tmp_path / "skipped-242.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
                    "applied_at TIMESTAMP DEFAULT current_timestamp)")
        for number, name, sql in migrations():
            if number <= 250 and number != 242:
                con.execute(sql)
                con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [number, name])
    with connect(db) as con:
        assert [v for (v,) in con.execute("SELECT version FROM schema_migrations WHERE version BETWEEN 242 AND 260 ORDER BY 1"
                                          ).fetchall()] == [242, 250, 260]
        assert "to_exchange_sat" in [r[0] for r in con.execute("DESCRIBE lake_daily_entity_flows").fetchall()]
