"""`minerwatch lake spark` and the job under spark-submit (PySpark in local mode, the real engine)
give exactly the tables `minerwatch lake cohorts` (DuckDB) gives from the same lake — of the real
blocks 0–438, of the constructed chain whose scripts need repeated 1-hop and entity passes, with its
pool and label cohorts, and of the simulated demo chain — which test_lake_cohorts.py checks against
the single-machine tracker."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
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
        "entities": "script_id", "daily_cohort_reserve_era": "cohort, era_year, epoch_day",
        "entity_cohorts": "entity_id", "daily_entity_flows": "cohort, epoch_day",
        "daily_entity_reserve_era": "cohort, era_year, epoch_day"}


def _rows(results: Path, table: str) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{results / table}/*.parquet') ORDER BY {KEYS[table]}").fetchall()


def run_documented_spark_submit(lake: Path, out: Path) -> None:
    """Run the spark-submit lines of docs/scale-out.md as written, the lake and results paths replaced,
    with this environment's bin directory first on PATH (as an activated environment has it)."""
    doc = (Path(__file__).parent.parent / "docs" / "scale-out.md").read_text()
    lines = [ln.strip() for ln in doc.splitlines()]
    job = next(ln for ln in lines if ln.startswith("JOB="))
    submit = next(ln for ln in lines if ln.startswith("spark-submit --master 'local[2]'"))
    submit = submit.replace("/data/btc-lake", shlex.quote(str(lake))).replace("/data/btc-cohorts", shlex.quote(str(out)))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", f"set -e; {job}; {submit}"], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def test_spark_equals_duckdb_on_real_blocks(tmp_path: Path) -> None:
    (tmp_path / "blocks").mkdir()
    shutil.copy(BLK / "mainnet-heights-0-438.dat", tmp_path / "blocks" / "blk00000.dat")
    lake = tmp_path / "lake"
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "blocks"), "--workers", "1",
                 "--part-blocks", "100"]) == 0
    assert main(["lake", "cohorts", str(lake), "--out", str(tmp_path / "duck")]) == 0
    # The job under spark-submit, by the two lines docs/scale-out.md gives (2 local cores, 2 shuffle
    # partitions: Spark's 200 would be 200 tasks per shuffle for a few hundred rows).
    run_documented_spark_submit(lake, tmp_path / "spark")
    for table in RESULT_TABLES:
        duck, spark = _rows(tmp_path / "duck", table), _rows(tmp_path / "spark", table)
        assert duck, table
        assert spark == duck, table
    # 439 blocks over 7 UTC days with a block (2009-01-03 and 2009-01-09…14), for each of three cohorts:
    # 0hop, 1hop and pool:unknown (no pool of the shipped list claims a block of 2009, genesis included).
    assert len(_rows(tmp_path / "spark", "daily_cohort_flows")) == 3 * 7
    # The cluster's results load into a database like DuckDB's.
    assert main(["lake", "import", str(tmp_path / "spark"), "--db", str(tmp_path / "m.duckdb")]) == 0
    with duckdb.connect(str(tmp_path / "m.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM lake_daily_cohort_flows").fetchone() == (3 * 7,)
        assert con.execute("SELECT engine FROM lake_import").fetchone() == ("spark",)
    info = json.loads((tmp_path / "spark" / "_minerwatch.json").read_text())
    assert (info["engine"], info["lake_tip_height"]) == ("spark", 438)
    assert info["lake_tip_hash"] == "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a"


def test_spark_equals_duckdb_on_the_extended_constructed_chain(tmp_path: Path) -> None:
    """With the shipped pool list and a label set: the pool and label cohorts, the flow to exchanges
    and the reserve by era too (test_lake_cohorts.py finds DuckDB's equal to the tracker's)."""
    from test_lake_cohorts import extended_chain, write_extended_labels

    write_blk_files(tmp_path / "blocks", get_network("regtest"), extended_chain().blocks)
    lake, labels = tmp_path / "lake", write_extended_labels(tmp_path / "labels.csv")
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "blocks"), "--network", "regtest",
                 "--workers", "1"]) == 0
    assert main(["lake", "cohorts", str(lake), "--out", str(tmp_path / "duck"), "--labels", str(labels)]) == 0
    assert main(["lake", "spark", str(lake), "--out", str(tmp_path / "spark"), "--master", "local[2]",
                 "--shuffle-partitions", "2", "--labels", str(labels)]) == 0
    for table in RESULT_TABLES:
        duck = _rows(tmp_path / "duck", table)
        assert duck, table
        assert _rows(tmp_path / "spark", table) == duck, table
    cohorts = {r[0] for r in _rows(tmp_path / "spark", "daily_cohort_flows")}
    assert {"pool:antpool", "pool:foundryusa", "label:Big Exchange", "label:Foundry"} <= cohorts
    # The one exchange-labelled payment out of 0-hop: satoshi's 30B at h5.
    assert sum(r[-1] for r in _rows(tmp_path / "spark", "daily_cohort_flows") if r[0] == "0hop") == 30 * 100_000_000
    info = json.loads((tmp_path / "spark" / "_minerwatch.json").read_text())
    assert info["labels_version"].startswith("labels@") and info["pools_version"]


def test_spark_equals_duckdb_on_the_demo_chain(tmp_path: Path) -> None:
    """The 48-day simulated chain of test_lake_cohorts.py's `demo` (seed 7: 7,292 blocks, pools paying
    hundreds of miners, labelled exchanges), where DuckDB over the lake equals the sync's tracker for
    all 21 cohorts and the reserve by era: Spark equal to DuckDB makes it equal to the tracker too."""
    from minerwatch.simulate.files import write_demo
    from minerwatch.simulate.generate import SimConfig, generate

    files = write_demo(tmp_path / "files", chain=generate(SimConfig(seed=7, days=48)))
    lake, given = tmp_path / "lake", ["--pools", str(files.pools_json), "--labels", str(files.labels_csv)]
    assert main(["lake", "export", str(lake), "--blocks-dir", str(files.blocks_dir), "--network", "simnet",
                 "--workers", "1", "--part-blocks", "1000"]) == 0
    assert main(["lake", "cohorts", str(lake), "--out", str(tmp_path / "duck"), *given]) == 0
    assert main(["lake", "spark", str(lake), "--out", str(tmp_path / "spark"), "--master", "local[2]",
                 "--shuffle-partitions", "2", *given]) == 0
    for table in RESULT_TABLES:
        duck = _rows(tmp_path / "duck", table)
        assert duck, table
        assert _rows(tmp_path / "spark", table) == duck, table
    # 0hop, 1hop, the 9 pools' and the 10 labelled entities' cohorts (test_lake_cohorts.py counts them
    # in the sync's own tables).
    assert len({r[0] for r in _rows(tmp_path / "spark", "daily_cohort_flows")}) == 21
