"""The miner entities of the imported lake results, as every interface lists them, and what computed them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

from minerwatch.errors import NotFoundError, UsageError
from minerwatch.metrics.lake_entities import IMPORT_HINT, check_entity, imported as imported  # re-exported: pages ask
from minerwatch.queries.db import table_exists

ORDERS = ("reserve", "scripts")
LIMIT_MAX = 1000


@dataclass(frozen=True, slots=True)
class LakeSource:
    """Which lake, engine and version computed the imported results, and when they were loaded."""

    engine: str                    # duckdb or spark
    lake_tip_height: int
    lake_tip_hash: str
    minerwatch_version: str        # of the job that computed them
    imported_at: datetime          # UTC

    def describe(self) -> str:
        """One line for people: "the lake to height 438, computed by Spark (minerwatch 0.9.0), imported 2026-11-28 22:10 UTC"."""
        engine = {"duckdb": "DuckDB", "spark": "Spark"}.get(self.engine, self.engine)
        return (f"the lake to height {self.lake_tip_height:,}, computed by {engine} (minerwatch "
                f"{self.minerwatch_version}), imported {self.imported_at:%Y-%m-%d %H:%M} UTC")


@dataclass(frozen=True, slots=True)
class Entity:
    cohort: str                    # entity:<seed_height>.<seed_vout>
    seed_height: int               # the first coinbase output paid to one of its scripts
    seed_vout: int
    seed_address: str | None
    seed_pool: str | None          # the pool this database attributes the seed's block to, if stored
    scripts: int                   # scripts in the entity (co-spent together)
    coinbase_scripts: int          # of which a coinbase paid
    labels: tuple[str, ...]        # entities a label set gives its scripts
    reserve_btc: float             # at the end of `reserve_day`
    reserve_day: date | None       # the entity's last change (the reserve holds since)


@dataclass(frozen=True, slots=True)
class EntityList:
    source: LakeSource
    total: int                     # entities imported
    order: str                     # reserve | scripts
    entities: list[Entity]         # the first `limit` in that order


def lake_source(con: duckdb.DuckDBPyConnection) -> LakeSource | None:
    """What computed the imported lake results; None when none were imported."""
    if not table_exists(con, "lake_import"):
        return None
    row = con.execute("SELECT engine, lake_tip_height, lake_tip_hash, minerwatch_version, imported_at "
                      "FROM lake_import").fetchone()
    # Stored without a zone, written in UTC (lake/importer.py): said so, for the API's date-time.
    return None if row is None else LakeSource(*row[:4], row[4].replace(tzinfo=timezone.utc))


def list_entities(con: duckdb.DuckDBPyConnection, order: str = "reserve", limit: int = 50) -> EntityList:
    """The imported entities, largest first by reserve (BTC held now) or by scripts; NotFoundError
    when no lake results are imported."""
    if order not in ORDERS:
        raise UsageError(f"cannot order entities by {order!r}", "order by one of: " + ", ".join(ORDERS))
    if not 1 <= limit <= LIMIT_MAX:
        raise UsageError(f"limit {limit} is outside 1–{LIMIT_MAX}", "ask for fewer entities, e.g. 50")
    source = lake_source(con)
    if source is None or not imported(con):
        raise NotFoundError("no miner entities in this database: no lake results were imported", IMPORT_HINT)
    total = con.execute("SELECT count(*) FROM lake_entity_cohorts").fetchone()[0]
    return EntityList(source, int(total), order, _select(con, order, limit, None))


def exchanges_labelled(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the imported lake results were computed with a label set that marks exchanges (the
    flow to exchanges is NULL on every row otherwise, as the sync's is without one)."""
    return bool(con.execute("SELECT EXISTS (SELECT 1 FROM lake_daily_cohort_flows WHERE cohort = '1hop' "
                            "AND to_exchange_sat IS NOT NULL)").fetchone()[0])


def entity(con: duckdb.DuckDBPyConnection, cohort: str) -> Entity:
    """One imported entity by its cohort name; NotFoundError if there is none."""
    check_entity(con, cohort)
    return _select(con, "scripts", 1, cohort)[0]


def _select(con: duckdb.DuckDBPyConnection, order: str, limit: int, cohort: str | None) -> list[Entity]:
    """The first `limit` entities in `order` (or the one called `cohort`)."""
    key = "reserve_sat DESC, script_count DESC" if order == "reserve" else "script_count DESC, reserve_sat DESC"
    pools = "(SELECT pool_name FROM block_pools p WHERE p.height = c.seed_height AND p.pool_slug <> 'unknown')" \
        if table_exists(con, "block_pools") else "CAST(NULL AS VARCHAR)"
    labels = ("(SELECT list(DISTINCT l.entity ORDER BY l.entity) FROM lake_entities e JOIN labels l "
              "ON l.script_id = e.script_id WHERE e.entity_id = c.entity_id)") \
        if table_exists(con, "labels") else "CAST(NULL AS VARCHAR[])"
    # The import stores each entity's latest reserve with it: a list reads one row per entity.
    rows = con.execute(f"""
        WITH ranked AS (SELECT c.* EXCLUDE (reserve_sat, reserve_day), coalesce(c.reserve_sat, 0) AS reserve_sat,
                               c.reserve_day AS day
                        FROM lake_entity_cohorts c WHERE ? IS NULL OR c.cohort = ?
                        ORDER BY {key}, c.seed_height, c.seed_vout LIMIT ?)
        SELECT c.cohort, c.seed_height, c.seed_vout, c.seed_address, {pools}, c.script_count,
               c.coinbase_script_count, {labels}, c.reserve_sat, c.day
        FROM ranked c ORDER BY {key}, c.seed_height, c.seed_vout
    """, [cohort, cohort, limit]).fetchall()  # noqa: S608 (fixed fragments)
    return [Entity(r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), tuple(r[7] or ()), r[8] / 1e8, r[9])
            for r in rows]
