"""Miner entities as cohorts `entity:<height>.<vout>`: their daily rows, from the results of the lake's
SQL that `minerwatch lake import` loaded (lake_entity_cohorts, lake_daily_entity_flows,
lake_daily_entity_reserve_era). The entities are computed from the whole transaction graph on DuckDB
or Spark (docs/lake.md, "Miner entities"); this module only reads them, in the shape of the other
cohorts' daily rows (metrics/miners.py)."""

from __future__ import annotations

import duckdb

from minerwatch.errors import NotFoundError

PREFIX = "entity:"
IMPORT_HINT = ("compute them from the lake with `minerwatch lake cohorts` or `lake spark`, then run "
               "minerwatch lake import RESULTS (docs/scale-out.md)")


def is_entity(cohort: str) -> bool:
    return cohort.startswith(PREFIX)


def imported(con: duckdb.DuckDBPyConnection) -> bool:
    """True when lake results with entities are loaded into this database."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name IN ('lake_import', 'lake_entity_cohorts')").fetchone()[0] == 2:
        return False
    return bool(con.execute("SELECT EXISTS (SELECT 1 FROM lake_import)").fetchone()[0])


def check_entity(con: duckdb.DuckDBPyConnection, cohort: str) -> None:
    """NotFoundError unless `cohort` names an imported entity (or when no lake results are imported)."""
    if not imported(con):
        raise NotFoundError(f"no miner entities in this database: {cohort} is a cohort of the lake's results, "
                            "and none were imported", IMPORT_HINT)
    if con.execute("SELECT EXISTS (SELECT 1 FROM lake_entity_cohorts WHERE cohort = ?)", [cohort]).fetchone()[0]:
        return
    # The entities holding the most now: enough to spot a mistyped seed.
    known = [r[0] for r in con.execute(
        "SELECT c.cohort FROM lake_entity_cohorts c ORDER BY c.script_count DESC, c.seed_height, c.seed_vout LIMIT 8"
    ).fetchall()]
    raise NotFoundError(f"no imported miner entity is called {cohort!r}",
                        "an entity is named entity:<height>.<vout> after the first coinbase output paid to it; "
                        f"the largest: {', '.join(known)}; `minerwatch miners entities` lists them")


def check_reserve_era(con: duckdb.DuckDBPyConnection) -> None:
    """NotFoundError when the imported results hold entities but not their reserve by era (imported
    before minerwatch computed it): every era would read as 0."""
    if con.execute("SELECT EXISTS (SELECT 1 FROM lake_daily_entity_flows) "
                   "AND NOT EXISTS (SELECT 1 FROM lake_daily_entity_reserve_era)").fetchone()[0]:
        raise NotFoundError("the imported lake results have no reserve by era for the miner entities "
                            "(they were computed by an older minerwatch)",
                            "compute them again with `minerwatch lake cohorts` or `lake spark`, then run "
                            "minerwatch lake import RESULTS")


# The entities' stored rows are only the days that change them (millions of entities on mainnet,
# docs/lake.md); these give them day by day in the shape of the tracker's daily_miner_flows and
# daily_miner_reserve_era, for the one reader of every cohort (metrics/miners.py: DailySource):
# between two rows the reserve holds and the flows are zero; before the first there is no row.
# $cohort is the entity. DAYS_SQL: every day with a block of the lake, with 1hop's to_exchange_sat
# (NULL when the lake's label set marks no exchange).
DAYS_SQL = "(SELECT day, to_exchange_sat FROM lake_daily_cohort_flows WHERE cohort = '1hop')"
FLOWS_SQL = """(
    SELECT d.day, e.reserve_sat,
           CASE WHEN e.day = d.day THEN e.inflow_sat ELSE 0 END AS inflow_sat,
           CASE WHEN e.day = d.day THEN e.outflow_sat ELSE 0 END AS outflow_sat,
           CASE WHEN e.day = d.day THEN e.internal_sat ELSE 0 END AS internal_sat,
           CASE WHEN e.day = d.day THEN e.outflow_tx_count ELSE 0 END AS outflow_tx_count,
           CASE WHEN e.day = d.day THEN e.largest_outflow_sat ELSE 0 END AS largest_outflow_sat,
           CASE WHEN e.day = d.day THEN e.to_exchange_sat WHEN e.to_exchange_sat IS NOT NULL THEN 0 END
               AS to_exchange_sat
    FROM (SELECT day FROM lake_daily_cohort_flows WHERE cohort = '1hop') d
    ASOF JOIN (SELECT * FROM lake_daily_entity_flows WHERE cohort = $cohort) e ON d.day >= e.day)"""
# Only the (day, era) rows that hold something, as daily_miner_reserve_era keeps them.
ERAS_SQL = """(
    SELECT g.day, e.era_year, e.reserve_sat
    FROM (SELECT d.day, y.era_year FROM (SELECT day FROM lake_daily_cohort_flows WHERE cohort = '1hop') d
          CROSS JOIN (SELECT DISTINCT era_year FROM lake_daily_entity_reserve_era WHERE cohort = $cohort) y) g
    ASOF JOIN (SELECT * FROM lake_daily_entity_reserve_era WHERE cohort = $cohort) e
        ON e.era_year = g.era_year AND g.day >= e.day
    WHERE e.reserve_sat <> 0)"""
