"""The cohort SQL on Spark: `minerwatch lake spark DIR --out RESULTS`, or the same module under spark-submit:

    spark-submit --master yarn "$(python -c 'import minerwatch.lake.spark_job as m; print(m.__file__)')" \\
        s3a://bucket/btc-lake --out s3a://bucket/btc-cohorts

Reads the files the lake's manifest lists, runs lake/sql/cohorts.sql statement by statement (each a
cached temporary view, so the repeated 1-hop pass does not recompute the plans before it) and writes
every result table as Parquet under RESULTS/<table>/, with RESULTS/_minerwatch.json saying which lake
tip and which minerwatch computed them — the layout `lake cohorts` writes with DuckDB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from minerwatch.lake import cohorts
from minerwatch.lake.duck import RESULTS_MANIFEST, results_info
from minerwatch.lake.inputs import cohort_inputs
from minerwatch.lake.layout import LakeError, Manifest, open_lake, read_manifest
from minerwatch.lake.schema import TABLES


def spark_session(master: str | None = None, shuffle_partitions: int | None = None,
                  driver_memory: str | None = None) -> Any:
    """A SparkSession (the one spark-submit made, or a new local one when `master` is given)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise LakeError("PySpark is not installed", "pip install pyspark (and a Java 17 or 21 runtime)") from e
    builder = SparkSession.builder.appName("minerwatch-cohorts")
    # The statements join many small cached tables: Spark broadcast each, and its broadcast jobs
    # (70-85 at once) waited on each other until they timed out; shuffle joins do not.
    builder = builder.config("spark.sql.autoBroadcastJoinThreshold", "-1")
    if master:
        builder = (builder.master(master).config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false"))
    if driver_memory:
        # In local mode the driver is every executor too: Spark's 1 GB default failed to broadcast a
        # join side of a 150,000-transaction lake ("Not enough memory to build and broadcast").
        builder = builder.config("spark.driver.memory", driver_memory)
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    return builder.getOrCreate()


def spark_uri(uri: str) -> str:
    """A URI Spark reads as the same place: a bare path is a local file, not one on the cluster's default filesystem."""
    return uri if "://" in uri else "file://" + os.path.abspath(uri)


# The tables several later statements read (and the 1-hop pass's, read by its check and the next
# pass); the others stay lazy views that Spark plans together with their readers. Caching every
# statement instead cost ~570 stages and 298 s for the blocks 0–438 on a loaded 2-core machine.
_CACHED = frozenset({"spends", "members", "cospends", "cospend_edges", "entity_labels",
                     "day_of", "block_era", "entities", "entity_cohorts",
                     "cohort_outputs", "cohort_day_flows", "cohort_day_reserve"})


# The repeated passes (cohorts.run): each reads the previous one's table. Their local checkpoints
# stay on the executors until the driver drops the DataFrame (Spark's ContextCleaner frees them).
_PASSES = frozenset({"members_next", "entity_labels_next"})
_COPY = re.compile(r"SELECT \* FROM (\w+)")


class SparkEngine:
    """cohorts.Engine on Spark: every table a temporary view of a cached, computed DataFrame."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.cached: dict[str, Any] = {}

    def materialize(self, name: str, sql: str) -> None:
        copied = _COPY.fullmatch(sql)
        if copied and copied.group(1) in self.cached:
            # The repeated passes' `members = members_next`: the same DataFrame under a second name.
            # Persisted as a copy it shared the original's cache entry (Spark keys a cache by plan),
            # and the next pass's unpersist of members_next dropped both.
            df = self.cached[copied.group(1)]
        elif name in _PASSES:
            # Each pass reads the one before (twice for the entities): persisted, its plan still held
            # every earlier pass, and the driver spent the extended test chain's 30 minutes
            # canonicalizing such plans. A local checkpoint computes the rows now and cuts the plan:
            # tests/test_lake_spark.py went from over 30 minutes to under 5 (docs/lake.md).
            df = self.spark.sql(sql).localCheckpoint(eager=True)
        else:
            df = self.spark.sql(sql)
            if name in _CACHED:
                df = df.persist()
                df.count()                # computed now, once, for every statement that reads it
        df.createOrReplaceTempView(name)
        old = self.cached.pop(name, None)
        self.cached[name] = df
        if old is not None and all(old is not d for d in self.cached.values()):
            old.unpersist()

    def register(self, name: str, table: Any) -> None:
        # A pyarrow Table goes to Spark as it is (no pandas); cached, as every statement that reads
        # it would otherwise ship it from the driver again.
        df = self.spark.createDataFrame(table).persist()
        df.createOrReplaceTempView(name)
        self.cached[name] = df

    def count(self, sql: str) -> int:
        return int(self.spark.sql(sql).collect()[0][0])


def open_views(spark: Any, uri: str) -> Manifest:
    """One temporary view per lake table, over the files its manifest lists."""
    fs, root = open_lake(uri)
    m = read_manifest(fs, root)
    if m is None or not m.parts:
        raise LakeError(f"{uri} holds no lake", f"write one first: minerwatch lake export {uri} --blocks-dir …")
    base = spark_uri(uri).rstrip("/")
    for t in TABLES:
        spark.read.parquet(*[f"{base}/{f}" for f in m.files(t)]).createOrReplaceTempView(t)
    return m


def run(spark: Any, uri: str, out: str, pools: Path | None = None, labels: Path | None = None) -> int:
    """Compute the cohort tables from the lake at `uri` (pool list `pools`, default the shipped one;
    label CSV `labels`, default none) and write them under `out`; returns the 1-hop passes."""
    m = open_views(spark, uri)
    ins = cohort_inputs(uri, m, pools, labels)
    passes = cohorts.run(SparkEngine(spark), ins.tables)
    base = spark_uri(out).rstrip("/")
    for t in cohorts.RESULT_TABLES:
        spark.table(t).write.mode("overwrite").parquet(f"{base}/{t}")
    fs, root = open_lake(out)
    with fs.open_output_stream(f"{root}/{RESULTS_MANIFEST}") as f:
        f.write(json.dumps(results_info(m, "spark", ins), indent=1).encode())
    return passes


def main(argv: list[str] | None = None) -> int:
    """spark-submit's entry point: DIR --out RESULTS (the master comes from spark-submit)."""
    p = argparse.ArgumentParser(prog="minerwatch.lake.spark_job", description=__doc__.splitlines()[0])
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--out", required=True, metavar="RESULTS")
    p.add_argument("--pools", type=Path, default=None, metavar="FILE",
                   help="pool list in pools-v2.json format (default: the one minerwatch ships)")
    p.add_argument("--labels", type=Path, default=None, metavar="FILE.csv",
                   help="label set, CSV columns address,entity,category (label cohorts, flow to exchanges)")
    args = p.parse_args(argv)
    spark = spark_session()
    try:
        run(spark, args.dir, args.out, args.pools, args.labels)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
