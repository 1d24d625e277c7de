"""Miner entities as cohorts `entity:<height>.<vout>`: their daily rows, from the results of the lake's
SQL that `minerwatch lake import` loaded (lake_entity_cohorts, lake_daily_entity_flows). The entities
are computed from the whole transaction graph on DuckDB or Spark (docs/lake.md, "Miner entities");
this module only reads them, in the shape of the other cohorts' daily rows (metrics/miners.py)."""

from __future__ import annotations

from datetime import date

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


def entity_days(con: duckdb.DuckDBPyConnection, cohort: str, start: date | None = None,
                end: date | None = None) -> list[tuple]:
    """Rows (day, reserve, inflow, outflow, internal, outflow_tx_count, largest_outflow, to_exchange)
    in sats of entity `cohort` for every day with a block of the lake in [start, end] — the shape of
    miners.cohort_days. The stored rows are only the days that change the entity: between them the
    reserve holds and the flows are zero; before the first, all is zero. to_exchange is None (the
    lake's SQL has no label sets)."""
    check_entity(con, cohort)
    return con.execute("""
        SELECT d.day, coalesce(e.reserve_sat, 0),
               CASE WHEN e.day = d.day THEN e.inflow_sat ELSE 0 END,
               CASE WHEN e.day = d.day THEN e.outflow_sat ELSE 0 END,
               CASE WHEN e.day = d.day THEN e.internal_sat ELSE 0 END,
               CASE WHEN e.day = d.day THEN e.outflow_tx_count ELSE 0 END,
               CASE WHEN e.day = d.day THEN e.largest_outflow_sat ELSE 0 END,
               CAST(NULL AS BIGINT)
        FROM (SELECT day FROM lake_daily_cohort_flows WHERE cohort = '1hop' AND day BETWEEN ? AND ?) d
        ASOF LEFT JOIN (SELECT * FROM lake_daily_entity_flows WHERE cohort = ?) e ON d.day >= e.day
        ORDER BY d.day
    """, [start or date(1, 1, 1), end or date(9999, 12, 31), cohort]).fetchall()
