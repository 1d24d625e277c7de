"""The lake on one machine: DuckDB views over the files the manifest lists, and the cohort SQL run on them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from minerwatch.lake import cohorts
from minerwatch.lake.inputs import CohortInputs, cohort_inputs
from minerwatch.lake.layout import LakeError, Manifest, open_lake, read_manifest
from minerwatch.lake.schema import TABLES

RESULTS_MANIFEST = "_minerwatch.json"


def open_views(uri: str, con: duckdb.DuckDBPyConnection | None = None) -> tuple[duckdb.DuckDBPyConnection, Manifest]:
    """A connection with one view per lake table (blocks, transactions, outputs, inputs, coinbase_payouts)."""
    fs, root = open_lake(uri)
    m = read_manifest(fs, root)
    if m is None or not m.parts:
        raise LakeError(f"{uri} holds no lake", f"write one first: minerwatch lake export {uri} --blocks-dir …")
    con = con or duckdb.connect()
    for t in TABLES:
        paths = [f"{root}/{f}" for f in m.files(t)]
        if isinstance(fs, pafs.LocalFileSystem):
            rel = con.read_parquet(paths)
        else:
            # Object stores through pyarrow's filesystem: DuckDB scans the Arrow dataset lazily.
            rel = con.from_arrow(pads.dataset(paths, filesystem=fs, format="parquet"))
        rel.create_view(t, replace=True)
    return con, m


class DuckEngine:
    """cohorts.Engine on a DuckDB connection: every table a temporary table."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def count(self, sql: str) -> int:
        return int(self.con.execute(sql).fetchone()[0])

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(f"_input_{name}", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _input_{name}")
        finally:
            self.con.unregister(f"_input_{name}")


def compute(uri: str, pools: Path | None = None,
            labels: Path | None = None) -> tuple[duckdb.DuckDBPyConnection, Manifest, CohortInputs]:
    """The lake's views and every cohort table, computed by DuckDB with the pool list at `pools`
    (default the shipped one) and the label CSV at `labels` (default none), and those inputs."""
    con, m = open_views(uri)
    ins = cohort_inputs(uri, m, pools, labels)
    cohorts.run(DuckEngine(con), ins.tables)
    return con, m, ins


def run_cohorts(uri: str, pools: Path | None = None,
                labels: Path | None = None) -> tuple[duckdb.DuckDBPyConnection, Manifest]:
    """The lake's views and every cohort table, computed by DuckDB (compute() without its inputs)."""
    con, m, _ = compute(uri, pools, labels)
    return con, m


def results_info(m: Manifest, engine: str, ins: CohortInputs) -> dict:
    """What a results directory records about its input: the lake's tip, the pool list and label
    set the pool and label cohorts come from (with how many scripts it marks 'exchange': none, and
    to_exchange_sat means nothing), and who computed it."""
    from minerwatch import __version__

    labels = ins.tables["labels"]
    exchange_scripts = len(set(s for s, c in zip(labels.column("script_id").to_pylist(),
                                                 labels.column("category").to_pylist()) if c == "exchange"))
    return {"engine": engine, "network": m.network, "lake_tip_height": m.tip_height,
            "lake_tip_hash": m.parts[-1].last_hash, "pools_version": ins.pools_version,
            "labels_version": ins.labels_version, "exchange_scripts": exchange_scripts,
            "minerwatch_version": __version__}


def write_results(con: duckdb.DuckDBPyConnection, m: Manifest, ins: CohortInputs, out: str) -> None:
    """Write RESULT_TABLES as out/<table>/part-0.parquet, and what they were computed from."""
    fs, root = open_lake(out)
    for t in cohorts.RESULT_TABLES:
        fs.create_dir(f"{root}/{t}", recursive=True)
        table = con.sql(f"SELECT * FROM {t}").to_arrow_table()
        pq.write_table(table, f"{root}/{t}/part-0.parquet", filesystem=fs)
    with fs.open_output_stream(f"{root}/{RESULTS_MANIFEST}") as f:
        f.write(json.dumps(results_info(m, "duckdb", ins), indent=1).encode())
