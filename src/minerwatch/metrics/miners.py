"""Miner reserve and miner flows per cohort (0-hop, 1-hop, a pool's, a label's), per UTC day.

Base tables (filled by the ingest): miner_scripts (who is in a cohort and from which height),
miner_outputs (every output paid to a member, with when it was spent), miner_spend_outputs (every
output of a transaction that spent a member's output). The flows of one transaction and the
cohorts are defined in metrics/miner_blocks.py and metrics/miner_members.py; each day's reserve
change is inflow − outflow − fees paid from the cohort's coins (exactly).

Every cohort is kept up to date as blocks arrive: each block adds its own rows (miner_block_flows,
miner_block_reserve), then the days it touches are summed again from those rows and the reserve is
carried forward from the last day before them (daily_miner_flows, daily_miner_reserve_era). A
recompute from height 0 is the same code over every height.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import duckdb

from minerwatch.metrics import lake_entities
from minerwatch.metrics.miner_blocks import add_block_rows, chunks, drop_temp_tables
from minerwatch.metrics.miner_members import FIXED_COHORTS, KINDS, check_cohort_name, kinds_predicate
from minerwatch.metrics.registry import Query, SeriesFn, metric, refresher
from minerwatch.store import get_meta, set_meta

__all__ = ["FIXED_COHORTS", "SAT", "cohort_days", "cohort_eras", "daily_source", "refresh_cohorts",
           "refresh_miner_flows"]

SAT = 100_000_000
MARK = "miner_flows_through_height"   # meta: the block rows are stored for every height up to this
_DAY = "CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE)"

_ERA_SQL = f"""
CREATE OR REPLACE TEMP TABLE _mf_er AS
WITH days AS (SELECT DISTINCT {_DAY} AS day FROM blocks WHERE time_s >= $first_s),
br AS (SELECT cohort, era_year, day, sum(delta_sat) AS delta FROM miner_block_reserve
       WHERE day >= $first AND {{kinds}} GROUP BY cohort, era_year, day),
carry AS (SELECT cohort, era_year, reserve_sat FROM daily_miner_reserve_era WHERE day = $prev AND {{kinds}}),
pairs AS (SELECT cohort, era_year FROM carry UNION SELECT cohort, era_year FROM br),
grid AS (SELECT p.cohort, p.era_year, days.day FROM pairs p CROSS JOIN days)
SELECT g.cohort, g.era_year, g.day,
       coalesce(c.reserve_sat, 0)
       + sum(coalesce(br.delta, 0)) OVER (PARTITION BY g.cohort, g.era_year ORDER BY g.day) AS reserve_sat
FROM grid g LEFT JOIN br USING (cohort, era_year, day) LEFT JOIN carry c USING (cohort, era_year)
"""

_DAILY_SQL = f"""
INSERT INTO daily_miner_flows
WITH days AS (SELECT DISTINCT {_DAY} AS day FROM blocks WHERE time_s >= $first_s),
bf AS (SELECT cohort, day, sum(inflow_sat) AS inflow, sum(outflow_sat) AS outflow, sum(internal_sat) AS internal,
              sum(outflow_tx_count) AS n_out, max(largest_outflow_sat) AS largest, sum(to_exchange_sat) AS to_ex
       FROM miner_block_flows WHERE day >= $first AND {{kinds}} GROUP BY cohort, day),
rs AS (SELECT cohort, day, sum(reserve_sat) AS reserve FROM _mf_er GROUP BY cohort, day),
-- 0hop and 1hop have a row on every day with a block; another cohort from its first flow or
-- reserve change on (a cohort with a row the day before goes on having one)
starts AS (
    SELECT cohort, min(day) AS start FROM (
        SELECT cohort, $first AS day FROM daily_miner_flows WHERE day = $prev AND {{kinds}}
        UNION ALL SELECT cohort, day FROM bf
        UNION ALL SELECT cohort, day FROM miner_block_reserve WHERE day >= $first AND {{kinds}}
        UNION ALL SELECT unnest($fixed::VARCHAR[]), $first)
    GROUP BY cohort)
SELECT days.day, s.cohort, coalesce(rs.reserve, 0), coalesce(bf.inflow, 0), coalesce(bf.outflow, 0),
       coalesce(bf.internal, 0), coalesce(bf.n_out, 0), coalesce(bf.largest, 0),
       CASE WHEN $has_labels THEN coalesce(bf.to_ex, 0) END, $pools_version, $labels_version
FROM starts s JOIN days ON days.day >= s.start
LEFT JOIN bf ON bf.cohort = s.cohort AND bf.day = days.day
LEFT JOIN rs ON rs.cohort = s.cohort AND rs.day = days.day
"""


def _first_changed_day(con: duckdb.DuckDBPyConnection, start: int, kinds: str) -> date:
    """The first UTC day whose rows can change when heights ≥ `start` change: the days of the blocks
    now there (from 11 blocks lower: header times may run up to ~2 h backwards, so a later block can
    belong to an earlier day) and of the block rows stored for the heights being replaced."""
    days = [con.execute(f"SELECT min({_DAY}) FROM blocks WHERE height >= ?", [max(start - 11, 0)]).fetchone()[0]]  # noqa: S608
    for table in ("miner_block_flows", "miner_block_reserve"):
        days.append(con.execute(f"SELECT min(day) FROM {table} WHERE height >= ? AND {kinds}",  # noqa: S608
                                [start]).fetchone()[0])
    found = [d for d in days if d is not None]
    # No block at or above `start` and none replaced: the last day with a block is done again.
    first = min(found) if found else con.execute(f"SELECT max({_DAY}) FROM blocks").fetchone()[0]  # noqa: S608
    last_kept = con.execute(f"SELECT max(day) FROM daily_miner_flows WHERE {kinds}").fetchone()[0]  # noqa: S608
    if last_kept is not None and last_kept < first:
        first = last_kept
    return first


def _day_before(con: duckdb.DuckDBPyConnection, first: date) -> date | None:
    """The last day with a block before `first` (1hop has a row on each), or None."""
    # Looked for in the last 31 days first: the rows are in day order, so that reads one row group.
    for low in (first - timedelta(days=31), date(1, 1, 1)):
        day = con.execute("SELECT max(day) FROM daily_miner_flows WHERE cohort = '1hop' AND day < ? AND day >= ?",
                          [first, low]).fetchone()[0]
        if day is not None:
            return day
    return None


def refresh_cohorts(con: duckdb.DuckDBPyConnection, from_height: int, kinds: Iterable[str] = KINDS) -> None:
    """Recompute the rows of the cohorts of these kinds that depend on blocks at height ≥ `from_height`:
    the block rows of those heights, then every UTC day they touch (reserve carried forward)."""
    kinds = tuple(k for k in KINDS if k in tuple(kinds))
    where = kinds_predicate(kinds)
    start = from_height
    if kinds == KINDS:
        # A database migrated from before the block rows has no mark of its own: computed from 0.
        # After a reorg the metrics mark is the lower one (the rollback moved it to the fork).
        mark, metrics_mark = get_meta(con, MARK), get_meta(con, "metrics_through_height")
        start = min(start, 0 if mark is None else int(mark) + 1)
        if metrics_mark is not None:
            start = min(start, int(metrics_mark) + 1)
    start = max(start, 0)
    tip = con.execute("SELECT max(height) FROM blocks").fetchone()[0]
    if tip is None:
        for table in ("miner_block_flows", "miner_block_reserve", "daily_miner_flows", "daily_miner_reserve_era"):
            con.execute(f"DELETE FROM {table} WHERE {where}")  # noqa: S608 (fixed names)
        if kinds == KINDS:
            con.execute("DELETE FROM meta WHERE key = ?", [MARK])
        return
    first = _first_changed_day(con, start, where)
    for table in ("miner_block_flows", "miner_block_reserve"):
        con.execute(f"DELETE FROM {table} WHERE height >= ? AND {where}", [start])  # noqa: S608
    # The temp tables live in the caller's transaction: an error rolls them back with everything else.
    for lo, hi in chunks(con, start, tip + 1):
        add_block_rows(con, lo, hi, kinds)
    drop_temp_tables(con)
    _refresh_days(con, first, kinds, where)
    if kinds == KINDS:
        set_meta(con, MARK, str(tip))


def _refresh_days(con: duckdb.DuckDBPyConnection, first: date, kinds: tuple[str, ...], where: str) -> None:
    """Replace the daily rows of days ≥ `first` by the sums of the block rows, reserve carried forward."""
    con.execute(f"DELETE FROM daily_miner_flows WHERE day >= ? AND {where}", [first])  # noqa: S608
    con.execute(f"DELETE FROM daily_miner_reserve_era WHERE day >= ? AND {where}", [first])  # noqa: S608
    first_s = int(datetime.combine(first, datetime.min.time(), timezone.utc).timestamp())
    prev = _day_before(con, first)
    con.execute(_ERA_SQL.format(kinds=where), {"first_s": first_s, "first": first, "prev": prev})
    con.execute("INSERT INTO daily_miner_reserve_era SELECT day, cohort, era_year, reserve_sat FROM _mf_er "
                "WHERE reserve_sat <> 0")
    has_labels = con.execute("SELECT count(*) FROM labels WHERE category = 'exchange'").fetchone()[0] > 0
    con.execute(_DAILY_SQL.format(kinds=where), {
        "first_s": first_s, "first": first, "prev": prev,
        "fixed": list(FIXED_COHORTS) if "fixed" in kinds else [], "has_labels": has_labels,
        "pools_version": get_meta(con, "pools_version"), "labels_version": get_meta(con, "labels_version")})
    con.execute("DROP TABLE _mf_er")


@refresher(40)
def refresh_miner_flows(con: duckdb.DuckDBPyConnection, from_height: int) -> None:
    """Bring every cohort's block and daily rows up to date from `from_height`."""
    refresh_cohorts(con, from_height)


_COLUMNS = ("reserve_sat", "inflow_sat", "outflow_sat", "internal_sat", "outflow_tx_count", "largest_outflow_sat",
            "to_exchange_sat")


@dataclass(frozen=True, slots=True)
class DailySource:
    """Where a cohort's stored daily rows are, as subqueries of one reader ($cohort: the cohort)."""

    days: str     # (day, to_exchange_sat) of every day with a block: 1hop's rows
    flows: str    # the cohort's rows in the columns of daily_miner_flows, on the days it has one
    eras: str     # (day, era_year, reserve_sat): its reserve by era, on the days a pair holds something


# The sync's own tables; a miner entity (entity:<id>) is read from the imported lake results, whose
# sparse rows lake_entities gives in the same shape.
TRACKER = DailySource("(SELECT day, to_exchange_sat FROM daily_miner_flows WHERE cohort = '1hop')",
                      "(SELECT * FROM daily_miner_flows WHERE cohort = $cohort)",
                      "(SELECT day, era_year, reserve_sat FROM daily_miner_reserve_era WHERE cohort = $cohort)")
ENTITIES = DailySource(lake_entities.DAYS_SQL, lake_entities.FLOWS_SQL, lake_entities.ERAS_SQL)


def daily_source(con: duckdb.DuckDBPyConnection, cohort: str, eras: bool = False) -> DailySource:
    """The stored rows of `cohort` (UsageError for a malformed name, NotFoundError for an entity not
    imported, or, with `eras`, imported without its reserve by era)."""
    check_cohort_name(cohort)
    if not lake_entities.is_entity(cohort):
        return TRACKER
    lake_entities.check_entity(con, cohort)
    if eras:
        lake_entities.check_reserve_era(con)
    return ENTITIES


def cohort_days(con: duckdb.DuckDBPyConnection, cohort: str, start: date | None = None,
                end: date | None = None) -> list[tuple]:
    """Rows (day, reserve, inflow, outflow, internal, outflow_tx_count, largest_outflow, to_exchange)
    in sats of `cohort` for every day with a block in [start, end], from the stored daily rows.

    A day before the cohort's first row is all zeros (to_exchange None, as 1hop's, without
    exchange labels); a cohort nobody belongs to is all zeros. A miner entity (entity:<id>) is read
    from the imported lake results (DailySource)."""
    src = daily_source(con, cohort)
    return con.execute(f"""
        SELECT d.day, coalesce(c.reserve_sat, 0), coalesce(c.inflow_sat, 0), coalesce(c.outflow_sat, 0),
               coalesce(c.internal_sat, 0), coalesce(c.outflow_tx_count, 0), coalesce(c.largest_outflow_sat, 0),
               CASE WHEN c.day IS NOT NULL THEN c.to_exchange_sat WHEN d.to_exchange_sat IS NOT NULL THEN 0 END
        FROM {src.days} d LEFT JOIN {src.flows} c ON c.day = d.day
        WHERE d.day BETWEEN $start AND $end ORDER BY d.day
    """, {"cohort": cohort, "start": start or date(1, 1, 1), "end": end or date(9999, 12, 31)}).fetchall()  # noqa: S608


def cohort_eras(con: duckdb.DuckDBPyConnection, cohort: str, start: date | None = None,
                end: date | None = None) -> list[tuple[date, int, int]]:
    """Rows (day, era_year, reserve_sat) of `cohort`'s reserve by era for the days in [start, end]
    on which the era holds something, in day order (daily_miner_reserve_era's rows)."""
    src = daily_source(con, cohort, eras=True)
    return con.execute(f"""
        SELECT day, era_year, reserve_sat FROM {src.eras} e
        WHERE day BETWEEN $start AND $end ORDER BY day, era_year
    """, {"cohort": cohort, "start": start or date(1, 1, 1), "end": end or date(9999, 12, 31)}).fetchall()  # noqa: S608


def _series(con: duckdb.DuckDBPyConnection, q: Query, column: str, per: int = SAT) -> list[tuple[date, float | None]]:
    """One column of the daily flows of q.cohort, divided by `per` (sats → BTC by default)."""
    rows = cohort_days(con, q.cohort, q.start, q.end)
    if column == "inflow_sat - outflow_sat":
        values = [(r[0], r[2] - r[3]) for r in rows]
    else:
        i = 1 + _COLUMNS.index(column)
        values = [(r[0], r[i]) for r in rows]
    return [(d, None if v is None else v / per) for d, v in values]


def _column_metric(name: str, unit: str, definition: str, column: str, per: int = SAT) -> SeriesFn:
    """Register one column of the daily flows as a cohort series called `name`."""

    def series(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
        return _series(con, q, column, per)

    series.__name__ = series.__qualname__ = name
    return metric(name, unit, definition, "miners", cohort=True)(series)


miner_reserve_btc = _column_metric(
    "miner_reserve_btc", "BTC", "balance held by the cohort's scripts at the end of the UTC day", "reserve_sat")
miner_inflow_btc = _column_metric(
    "miner_inflow_btc", "BTC", "value received by the cohort from outside it (coinbases included) per UTC day",
    "inflow_sat")
miner_outflow_btc = _column_metric(
    "miner_outflow_btc", "BTC", "value sent by the cohort to scripts outside it per UTC day", "outflow_sat")
miner_netflow_btc = _column_metric(
    "miner_netflow_btc", "BTC", "inflow − outflow per UTC day", "inflow_sat - outflow_sat")
miner_internal_btc = _column_metric(
    "miner_internal_btc", "BTC", "value moved between the cohort's own scripts per UTC day (not a flow)",
    "internal_sat")
miner_outflow_tx_count = _column_metric(
    "miner_outflow_tx_count", "transactions", "transactions that sent value out of the cohort per UTC day",
    "outflow_tx_count", per=1)
miner_largest_outflow_btc = _column_metric(
    "miner_largest_outflow_btc", "BTC", "the largest single transaction's outflow from the cohort per UTC day",
    "largest_outflow_sat")
miner_to_exchange_btc = _column_metric(
    "miner_to_exchange_btc", "BTC",
    "the part of the outflow paid to scripts a label set marks 'exchange'; None without exchange labels",
    "to_exchange_sat")


def _era_series(con: duckdb.DuckDBPyConnection, q: Query, early: bool) -> list[tuple[date, float | None]]:
    """Reserve held in outputs created in 2009–2010 (early) or from 2011 on, per UTC day."""
    src = daily_source(con, q.cohort, eras=True)
    # Every day with a block; a day without era rows holds nothing.
    rows = con.execute(f"""
        SELECT d.day, coalesce(sum(e.reserve_sat) FILTER (WHERE (e.era_year <= 2010) = $early), 0)
        FROM {src.days} d LEFT JOIN {src.eras} e ON e.day = d.day
        WHERE d.day BETWEEN $start AND $end GROUP BY d.day ORDER BY d.day
    """, {"early": early, "cohort": q.cohort, "start": q.start or date(1, 1, 1),
          "end": q.end or date(9999, 12, 31)}).fetchall()  # noqa: S608 (fixed fragments)
    return [(d, v / SAT) for d, v in rows]


@metric("miner_reserve_2009_2010_btc", "BTC", "miner reserve held in outputs created in 2009–2010 (mostly "
        "never-moved early coinbases)", "miners", cohort=True)
def miner_reserve_2009_2010_btc(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _era_series(con, q, early=True)


@metric("miner_reserve_since_2011_btc", "BTC", "miner reserve held in outputs created from 2011 on (active miners)",
        "miners", cohort=True)
def miner_reserve_since_2011_btc(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _era_series(con, q, early=False)
