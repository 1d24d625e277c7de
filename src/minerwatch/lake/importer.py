"""`minerwatch lake import RESULTS`: the cohort tables a DuckDB or Spark run wrote, into the database."""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from minerwatch.errors import NetworkMismatchError
from minerwatch.lake.duck import RESULTS_MANIFEST
from minerwatch.lake.layout import LakeError, open_lake
from minerwatch.store import get_meta, transaction

_DAY = "CAST(DATE '1970-01-01' + CAST(epoch_day AS INTEGER) AS DATE)"
# The results give 0 to exchanges when their label set marks no exchange; the database says NULL
# then, as daily_miner_flows does ($exchange: the results' label set marks some script 'exchange').
_TO_EXCHANGE = "CASE WHEN $exchange THEN to_exchange_sat END"
# Result table → (database table, the SELECT over the imported rows, `r`, that fills it).
_LOADS = {
    "daily_cohort_flows": ("lake_daily_cohort_flows",
                           f"SELECT {_DAY}, cohort, reserve_sat, inflow_sat, outflow_sat, internal_sat, "
                           f"outflow_tx_count, largest_outflow_sat, {_TO_EXCHANGE} FROM r"),
    "daily_cohort_reserve_era": ("lake_daily_cohort_reserve_era",
                                 f"SELECT {_DAY}, cohort, era_year, reserve_sat FROM r"),
    "block_fees": ("lake_block_fees", "SELECT height, fees_sat, fees_claimed_sat, unclaimed_sat, coinbase_value_sat, "
                                      "subsidy_sat FROM r"),
    "members": ("lake_members", "SELECT script_id, zero_hop_height, one_hop_height, member_height FROM r"),
    "entities": ("lake_entities", "SELECT script_id, entity_id, zero_hop_height FROM r"),
    "entity_cohorts": ("lake_entity_cohorts", "SELECT entity_id, cohort, seed_height, seed_vout, seed_address, "
                                              "script_count, coinbase_script_count, NULL, NULL FROM r"),
    "daily_entity_flows": ("lake_daily_entity_flows",
                           f"SELECT cohort, {_DAY}, reserve_sat, inflow_sat, outflow_sat, internal_sat, "
                           f"outflow_tx_count, largest_outflow_sat, {_TO_EXCHANGE} FROM r"),
    "daily_entity_reserve_era": ("lake_daily_entity_reserve_era",
                                 f"SELECT cohort, era_year, {_DAY}, reserve_sat FROM r"),
}
# Each entity's reserve now: the latest of its rows (they are only the days that change it), kept
# with the entity so that a list of entities reads one row each.
_LATEST_RESERVE = """
UPDATE lake_entity_cohorts c SET reserve_sat = n.reserve_sat, reserve_day = n.day
FROM (SELECT cohort, arg_max(reserve_sat, day) AS reserve_sat, max(day) AS day
      FROM lake_daily_entity_flows GROUP BY cohort) n
WHERE n.cohort = c.cohort
"""


@dataclass(frozen=True, slots=True)
class Imported:
    engine: str
    lake_tip_height: int
    rows: dict[str, int]


def import_results(con: duckdb.DuckDBPyConnection, uri: str) -> Imported:
    """Replace the lake_* tables with the results under `uri`, in one transaction."""
    fs, root = open_lake(uri)
    path = f"{root}/{RESULTS_MANIFEST}"
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        raise LakeError(f"{uri} holds no cohort results ({RESULTS_MANIFEST} is missing)",
                        "write them first: minerwatch lake cohorts|spark LAKE --out RESULTS")
    with fs.open_input_stream(path) as f:
        info = json.loads(f.read().decode())
    stored = get_meta(con, "network")
    if stored is not None and stored != info["network"]:
        raise NetworkMismatchError(f"the results are of {info['network']}, the database holds {stored}",
                                   f"import them into a {info['network']} database")
    # Results written before the exchange count was recorded lack the entities' reserve by era too,
    # and are refused below for that.
    exchange = info.get("exchange_scripts", 0) > 0
    datasets = {}
    for name in _LOADS:
        files = [i.path for i in fs.get_file_info(pafs.FileSelector(f"{root}/{name}"))
                 if i.path.endswith(".parquet")]
        if not files:
            raise LakeError(f"{uri}/{name} holds no Parquet file",
                            "run the cohort job again with this version of minerwatch (lake cohorts|spark)")
        datasets[name] = pads.dataset(files, filesystem=fs, format="parquet").to_table()
    rows = {}
    with transaction(con):
        con.execute("DELETE FROM lake_import")
        for name, (table, select) in _LOADS.items():
            con.execute(f"DELETE FROM {table}")
            con.register("r", datasets[name])
            try:
                con.execute(f"INSERT INTO {table} {select}", {"exchange": exchange} if "$exchange" in select else None)
            finally:
                con.unregister("r")
            rows[table] = datasets[name].num_rows
        con.execute(_LATEST_RESERVE)
        # imported_at in UTC whatever the machine's time zone (now() is a local time once stored as TIMESTAMP).
        con.execute("INSERT INTO lake_import VALUES (?, ?, ?, ?, ?, now() AT TIME ZONE 'UTC')",
                    [info["engine"], info["network"], info["lake_tip_height"], info["lake_tip_hash"],
                     info["minerwatch_version"]])
    return Imported(info["engine"], info["lake_tip_height"], rows)
