"""The lake on object storage: `lake export`, `lake cohorts` and `lake import` against a real
S3-compatible server (moto's, over HTTP on localhost, through pyarrow's S3 filesystem — the AWS SDK
minerwatch uses for s3:// in production). The real blocks 0–438 exported to s3:// in two runs (to
250, then appended to 438) give the same manifest and rows as one local export, and the cohorts
DuckDB computes from the bucket, written back to it and imported from it, are the local ones."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from minerwatch.cli import main
from minerwatch.lake.layout import open_lake, read_manifest

pytest.importorskip("moto.server")
pafs = pytest.importorskip("pyarrow.fs")

BLK = Path(__file__).parent / "data" / "blkfiles"
BUCKET = "btc"


@pytest.fixture(scope="module")
def s3_query() -> Iterator[str]:
    """A moto S3 server on a free local port with the bucket made; the query string that points an
    s3:// URI at it (pyarrow reads endpoint_override, scheme and region from the URI)."""
    from moto.server import ThreadedMotoServer

    mp = pytest.MonkeyPatch()
    # moto accepts any key; the SDK must not look for real credentials or ask EC2 for a region.
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
                 "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}.items():
        mp.setenv(k, v)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"{host}:{port}"
    pafs.S3FileSystem(endpoint_override=endpoint, scheme="http", region="us-east-1",
                      allow_bucket_creation=True).create_dir(BUCKET)
    yield f"?endpoint_override={endpoint}&scheme=http&region=us-east-1"
    server.stop()
    mp.undo()


@pytest.fixture(scope="module")
def real_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("lake-s3") / "blocks"
    d.mkdir()
    shutil.copy(BLK / "mainnet-heights-0-438.dat", d / "blk00000.dat")
    return d


def _export(lake: str, blocks: Path, *more: str) -> None:
    assert main(["lake", "export", lake, "--blocks-dir", str(blocks), "--workers", "1", "--part-blocks", "100",
                 *more]) == 0


def _results(uri: str, table: str, key: str) -> list[tuple]:
    import pyarrow.dataset as pads

    fs, root = open_lake(uri)
    files = [i.path for i in fs.get_file_info(pafs.FileSelector(f"{root}/{table}")) if i.path.endswith(".parquet")]
    data = pads.dataset(files, filesystem=fs, format="parquet").to_table()
    return duckdb.sql(f"SELECT * FROM data ORDER BY {key}").fetchall()


def test_lake_round_trip_and_cohorts_on_s3(s3_query: str, real_blocks: Path, tmp_path: Path) -> None:
    local, lake = tmp_path / "lake", f"s3://{BUCKET}/lake{s3_query}"
    _export(str(local), real_blocks)
    # Two runs on the bucket: the second rewrites the short last part (200–250) and appends, which on
    # S3 means the .partial objects copied to their names and deleted.
    _export(lake, real_blocks, "--stop-height", "250")
    _export(lake, real_blocks)
    fs, root = open_lake(lake)
    assert root == f"{BUCKET}/lake"
    assert read_manifest(fs, root) == read_manifest(*open_lake(str(local)))
    objects = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
                     if i.type == pafs.FileType.File)
    # 5 tables × 5 parts (0–99 … 400–438) and the manifest; nothing half-written left behind.
    assert len(objects) == 5 * 5 + 1 and not any(p.endswith(".partial") for p in objects)
    for path in objects:
        with fs.open_input_file(path) as f:
            assert f.read() == (local / path.removeprefix(f"{root}/")).read_bytes(), path

    results = f"s3://{BUCKET}/cohorts{s3_query}"
    assert main(["lake", "cohorts", lake, "--out", results]) == 0
    assert main(["lake", "cohorts", str(local), "--out", str(tmp_path / "res")]) == 0
    for table, key in (("daily_cohort_flows", "cohort, epoch_day"), ("members", "script_id"),
                       ("block_fees", "height"), ("daily_cohort_reserve_era", "cohort, era_year, epoch_day")):
        got = _results(results, table, key)
        assert got, table
        assert got == _results(str(tmp_path / "res"), table, key), table

    db = tmp_path / "m.duckdb"
    assert main(["lake", "import", results, "--db", str(db)]) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        # 0hop, 1hop and pool:unknown on the 7 UTC days with a block; the lake's tip as the bucket holds it.
        assert con.execute("SELECT count(*) FROM lake_daily_cohort_flows").fetchone() == (3 * 7,)
        assert con.execute("SELECT lake_tip_height, lake_tip_hash FROM lake_import").fetchone() == (
            438, "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a")


def test_two_worker_export_to_s3_equals_the_local_one(s3_query: str, real_blocks: Path, tmp_path: Path) -> None:
    """Each worker process writes its parts to the bucket through its own S3 client (the command as a
    user runs it: credentials from the environment), the export's process lists them."""
    import os
    import subprocess
    import sys

    local, lake = tmp_path / "lake", f"s3://{BUCKET}/workers{s3_query}"
    assert main(["lake", "export", str(local), "--blocks-dir", str(real_blocks), "--workers", "1",
                 "--part-blocks", "50"]) == 0
    for more in (["--stop-height", "120"], []):      # the second run rewrites the short part 100–120
        subprocess.run([sys.executable, "-m", "minerwatch", "lake", "export", lake, "--blocks-dir", str(real_blocks),
                        "--workers", "2", "--part-blocks", "50", *more], check=True, env=dict(os.environ),
                       timeout=120)
    fs, root = open_lake(lake)
    objects = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
                     if i.type == pafs.FileType.File)
    # 5 tables × 9 parts (0–49 … 400–438) and the manifest, each the local export's byte for byte.
    assert len(objects) == 5 * 9 + 1
    for path in objects:
        with fs.open_input_file(path) as f:
            assert f.read() == (local / path.removeprefix(f"{root}/")).read_bytes(), path
