"""`minerwatch lake spark` (PySpark in local mode, the real engine) gives exactly the tables
`minerwatch lake cohorts` (DuckDB) gives from the same lake — of the real blocks 0–438, and of the
constructed chain whose scripts need repeated 1-hop and entity passes — which test_lake_cohorts.py
checks against the single-machine tracker."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.cli import main
from minerwatch.lake.cohorts import RESULT_TABLES
from minerwatch.networks import get_network

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime (scripts/test.sh installs Debian's when run as root)",
                allow_module_level=True)

BLK = Path(__file__).parent / "data" / "blkfiles"
# The key of each result table's rows: both engines must give the same rows, in any order.
KEYS = {"members": "script_id", "daily_cohort_flows": "cohort, epoch_day", "block_fees": "height",
        "entities": "script_id", "entity_cohorts": "entity_id", "daily_entity_flows": "cohort, epoch_day"}


def _rows(results: Path, table: str) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{results / table}/*.parquet') ORDER BY {KEYS[table]}").fetchall()


def test_spark_equals_duckdb_on_real_blocks(tmp_path: Path) -> None:
    (tmp_path / "blocks").mkdir()
    shutil.copy(BLK / "mainnet-heights-0-438.dat", tmp_path / "blocks" / "blk00000.dat")
    lake = tmp_path / "lake"
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "blocks"), "--workers", "1",
                 "--part-blocks", "100"]) == 0
    assert main(["lake", "cohorts", str(lake), "--out", str(tmp_path / "duck")]) == 0
    # One small session for the whole suite: 2 local cores, 2 shuffle partitions (Spark's 200 would
    # be 200 tasks per shuffle for a few hundred rows).
    assert main(["lake", "spark", str(lake), "--out", str(tmp_path / "spark"), "--master", "local[2]",
                 "--shuffle-partitions", "2"]) == 0
    for table in RESULT_TABLES:
        duck, spark = _rows(tmp_path / "duck", table), _rows(tmp_path / "spark", table)
        assert duck, table
        assert spark == duck, table
    # 439 blocks over 7 UTC days with a block (2009-01-03 and 2009-01-09…14), for each of the two cohorts.
    assert len(_rows(tmp_path / "spark", "daily_cohort_flows")) == 2 * 7
    # The cluster's results load into a database like DuckDB's.
    assert main(["lake", "import", str(tmp_path / "spark"), "--db", str(tmp_path / "m.duckdb")]) == 0
    with duckdb.connect(str(tmp_path / "m.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM lake_daily_cohort_flows").fetchone() == (2 * 7,)
        assert con.execute("SELECT engine FROM lake_import").fetchone() == ("spark",)
    info = json.loads((tmp_path / "spark" / "_minerwatch.json").read_text())
    assert (info["engine"], info["lake_tip_height"]) == ("spark", 438)
    assert info["lake_tip_hash"] == "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a"


def test_spark_equals_duckdb_on_the_extended_constructed_chain(tmp_path: Path) -> None:
    from test_lake_cohorts import extended_chain

    write_blk_files(tmp_path / "blocks", get_network("regtest"), extended_chain().blocks)
    lake = tmp_path / "lake"
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "blocks"), "--network", "regtest",
                 "--workers", "1"]) == 0
    assert main(["lake", "cohorts", str(lake), "--out", str(tmp_path / "duck")]) == 0
    assert main(["lake", "spark", str(lake), "--out", str(tmp_path / "spark"), "--master", "local[2]",
                 "--shuffle-partitions", "2"]) == 0
    for table in RESULT_TABLES:
        duck = _rows(tmp_path / "duck", table)
        assert duck, table
        assert _rows(tmp_path / "spark", table) == duck, table
