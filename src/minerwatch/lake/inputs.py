"""The small tables the cohort SQL reads beside the lake: which pool mined each block, a label set,
and the UTC years as ranges of days.

They are made here, once, in Python — the pool attribution by minerwatch.pools (the single-machine
sync's one implementation), the labels by the CSV reader of `labels import` — and handed to either
engine as Arrow tables, so DuckDB and Spark compute the pool and label cohorts from the same rows.
On mainnet block_pools has one row per block (~925,000, ~10 MB) and reading the coinbase columns it
needs from the lake takes seconds: small enough for Spark's driver to ship to every executor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from minerwatch.lake.layout import Manifest, open_lake
from minerwatch.metrics.labels import read_labels_csv
from minerwatch.networks import get_network
from minerwatch.pools import PoolList, load_pool_list

# Every UTC year a block can be dated in: header times are 32-bit seconds (to 2106).
FIRST_YEAR, LAST_YEAR = 1970, 2106

LABELS_SCHEMA = pa.schema([("script_id", pa.int64()), ("entity", pa.string()), ("category", pa.string())])

# The coinbase of each block with its payout addresses in output order, as the sync attributes it
# (metrics/pool_share.py reads the same columns of its own tables).
_COINBASES_SQL = """
SELECT b.height, b.coinbase_script_hex,
       coalesce(list(p.address ORDER BY p.vout) FILTER (WHERE p.address IS NOT NULL), []) AS addresses
FROM blocks b LEFT JOIN payouts p ON p.height = b.height
GROUP BY b.height, b.coinbase_script_hex ORDER BY b.height
"""


@dataclass(frozen=True, slots=True)
class CohortInputs:
    tables: dict[str, pa.Table]      # utc_years, block_pools, labels
    pools_version: str
    labels_version: str | None       # None: no label set given


def utc_years() -> pa.Table:
    """(era_year, first_day, end_day): each UTC year as days since 1970-01-01, end exclusive."""
    epoch = date(1970, 1, 1)
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    return pa.table({
        "era_year": pa.array(years, pa.int32()),
        "first_day": pa.array([(date(y, 1, 1) - epoch).days for y in years], pa.int64()),
        "end_day": pa.array([(date(y + 1, 1, 1) - epoch).days for y in years], pa.int64()),
    })


def block_pools(uri: str, m: Manifest, pools: PoolList) -> pa.Table:
    """(height, pool_slug) of every block of the lake, by the pool list's attribution ("unknown" when none)."""
    fs, root = open_lake(uri)

    def read(table: str, columns: list[str]) -> pa.Table:
        paths = [f"{root}/{f}" for f in m.files(table)]
        return pads.dataset(paths, filesystem=fs, format="parquet").to_table(columns=columns)

    con = duckdb.connect()
    try:
        con.register("blocks", read("blocks", ["height", "coinbase_script_hex"]))
        con.register("payouts", read("coinbase_payouts", ["height", "vout", "address"]))
        rows = con.execute(_COINBASES_SQL).fetchall()
    finally:
        con.close()
    slugs = [pools.attribute(bytes.fromhex(script), list(addresses)).slug for _, script, addresses in rows]
    return pa.table({"height": pa.array([r[0] for r in rows], pa.int32()), "pool_slug": pa.array(slugs, pa.string())})


def labels(path: Path | None, network_name: str) -> tuple[pa.Table, str | None]:
    """(script_id, entity, category) of a label CSV (address,entity,category), and its version
    (<file stem>@<12 hex digits of its SHA-256>, as `labels import` names it); empty without a file."""
    if path is None:
        return LABELS_SCHEMA.empty_table(), None
    rows = read_labels_csv(path, get_network(network_name))
    table = pa.table({"script_id": pa.array([r[0] for r in rows], pa.int64()),
                      "entity": [r[2] for r in rows], "category": [r[3] for r in rows]}, schema=LABELS_SCHEMA)
    return table, f"{path.stem}@{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def cohort_inputs(uri: str, m: Manifest, pools_path: Path | None = None,
                  labels_path: Path | None = None) -> CohortInputs:
    """The three small tables for the lake at `uri`: the pool list at `pools_path` (default the
    shipped pools-v2.json) and the label CSV at `labels_path` (default none)."""
    pools = load_pool_list(pools_path)
    label_table, labels_version = labels(labels_path, m.network)
    return CohortInputs({"utc_years": utc_years(), "block_pools": block_pools(uri, m, pools), "labels": label_table},
                        pools.version, labels_version)
