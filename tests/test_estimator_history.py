"""An estimator whose window reaches below the first stored block says so — in the series the CLI,
the API and the dashboard read — instead of showing a number that looks like any other."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from metrics_helpers import day_of_blocks, insert_facts, open_db

from minerwatch.cli import main
from minerwatch.metrics import network, registry
from minerwatch.metrics.registry import Query
from minerwatch.web.app import create_app

BLK = Path(__file__).parent / "data" / "blkfiles"


def _sync(tmp_path: Path, blk_file: str) -> Path:
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(BLK / blk_file, blocks / "blk00000.dat")
    db = tmp_path / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(blocks), "--db", str(db), "--workers", "1"]) == 0
    return db


@pytest.fixture(scope="module")
def from_height_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real mainnet blocks 1–255: a blocks directory without the genesis block."""
    return _sync(tmp_path_factory.mktemp("h1"), "mainnet-heights-1-255.dat")


@pytest.fixture(scope="module")
def from_genesis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real mainnet blocks 0–438."""
    return _sync(tmp_path_factory.mktemp("h0"), "mainnet-heights-0-438.dat")


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict, str]:
    assert main(list(argv)) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_chainwork_estimate_of_a_database_without_genesis_is_flagged(
        from_height_1: Path, from_genesis: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut, _ = _json(capsys, "metrics", "hashrate_chainwork_ehs", "--db", str(from_height_1), "--format", "json")
    whole, _ = _json(capsys, "metrics", "hashrate_chainwork_ehs", "--db", str(from_genesis), "--format", "json")
    first = {r["date"]: r["value"] for r in cut["rows"]}["2009-01-09"]
    right = {r["date"]: r["value"] for r in whole["rows"]}["2009-01-09"]
    # 2009-01-09 holds blocks 1–14. From genesis, Core's window at block 14 spans the 6 days since
    # 2009-01-03; without genesis it spans the 14 blocks' few hours: 73.5 times the hashrate.
    assert 73 < first / right < 74
    # Blocks per day from height 1: 14 (2009-01-09), 61, 93, 87. The days' last blocks are 14, 75,
    # 168 and 255; the 120 blocks before 14 and 75 reach below height 1, those before 168 do not.
    [warning] = cut["warnings"]
    assert warning.startswith("the database starts at height 1, not at genesis: hashrate_chainwork_ehs needs "
                              "the 120 blocks before each day's last block")
    assert "values up to 2009-01-10 reach below height 1" in warning
    assert whole["warnings"] == []


def test_the_table_keeps_stdout_clean_and_warns_on_stderr(from_height_1: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "hashrate_chainwork_ehs", "--db", str(from_height_1), "--format", "csv"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == "date,hashrate_chainwork_ehs" and len(out.out.splitlines()) == 5
    assert out.err.startswith("warning: the database starts at height 1, not at genesis")


def test_the_api_series_carries_the_warning_for_the_days_it_concerns(from_height_1: Path) -> None:
    client = TestClient(create_app(from_height_1))
    body = client.get("/api/v1/series/hashrate_chainwork_ehs", params={"interval": "all"}).json()
    assert len(body["warnings"]) == 1 and "values up to 2009-01-10" in body["warnings"][0]
    # The last day (2009-01-12, last block 255) reads 120 stored blocks: nothing to warn about.
    body = client.get("/api/v1/series/hashrate_chainwork_ehs", params={"interval": "24h"}).json()
    assert [r["date"] for r in body["rows"]] == ["2009-01-12"] and body["warnings"] == []
    # The chart on the hashrate page shows it too.
    page = client.get("/hashrate.json", params={"estimator": "hashrate_chainwork_ehs", "interval": "all"}).json()
    chart = next(c for c in page["charts"] if c["id"] == "hashrate")
    assert "not at genesis" in chart["note"]


def _ten_days_from_840000(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Ten days of 144 blocks 600 s apart from height 840,000 (2024-01-01 00:00 UTC), refreshed."""
    con = open_db(tmp_path)
    facts = []
    for day in range(10):
        facts += day_of_blocks(840_000 + 144 * day, day, 144, 1e14)
    insert_facts(con, facts)
    network.refresh_network(con, 0)
    return con


def test_each_kind_of_history_on_a_chain_that_starts_at_840000(tmp_path: Path) -> None:
    con = _ten_days_from_840000(tmp_path)

    def warning(name: str) -> str:
        [w] = registry.read(con, name, Query()).warnings
        return w

    # Each day's last block is 840,143 + 144 k. Core's 120 blocks: day 1's last (840,143) reads
    # back to 840,023, inside the database: no warning.
    assert registry.read(con, "hashrate_chainwork_ehs", Query()).warnings == ()
    # Hashrate Index fees (the block and the 143 before): 840,143 − 143 = 840,000 is stored too.
    assert registry.read(con, "hashprice_usd_per_ph_day", Query()).warnings == ()
    # BRK's trailing 24 h: day 1's last block (T0 + 85,800 s) reaches back to T0 − 600 s, before the
    # first stored block; day 2's (T0 + 172,200 s) to T0 + 85,800 s, inside.
    assert "values up to 2024-01-01 reach below height 840,000" in warning("hashrate_brk_ehs")
    # The daily block count and the 7-day average include the first stored day, which may be partial.
    assert "values up to 2024-01-01 include the first stored day" in warning("hashrate_ehs")
    assert "values up to 2024-01-07 include the first stored day" in warning("hashrate_ehs_7d")
    # The retarget forecast needs each epoch's first block: 840,000 is inside the epoch begun at
    # 838,656; the next begins at 838,656 + 2,016 = 840,672, on 2024-01-05 (heights 840,576 …
    # 840,719). Days up to 2024-01-04 (last block 840,575) end in the epoch begun before the database.
    assert "values up to 2024-01-04 belong to an epoch that began before height 840,000 (they are gaps)" in \
        warning("retarget_forecast_pct")
    # A range after the lacking days carries no warning.
    assert registry.read(con, "hashrate_ehs_7d", Query(date(2024, 1, 8), None)).warnings == ()


def test_the_brief_and_the_headline_carry_the_warning(tmp_path: Path) -> None:
    from minerwatch.queries import headline
    from minerwatch.report.brief import build_brief
    from minerwatch.report.render import as_text

    con = _ten_days_from_840000(tmp_path)
    # As of 2024-01-07 the brief's 7-day hashrate averages the first stored day (2024-01-01 … 07).
    brief = build_brief(con, date(2024, 1, 7))
    hashrate = next(f for f in brief.figures if f.key == "hashrate")
    assert len(hashrate.warnings) == 1 and "values up to 2024-01-07" in hashrate.warnings[0]
    assert "  warning:    the database starts at height 840,000" in as_text(brief, "mainnet", False)
    # The headline figure of the same series is dated 2024-01-10: its window is all stored.
    f = headline.figure(con, "hashrate_ehs_7d")
    assert f is not None and f.latest is not None and f.latest.day == date(2024, 1, 10)
    assert f.warnings == () and f.commands == ("minerwatch metrics hashrate_ehs_7d --to 2024-01-10",)
