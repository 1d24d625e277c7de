"""Miner reserve and miner flows per cohort (0-hop, 1-hop, a pool's, a label's), per UTC day.

Base tables (filled by the ingest): miner_scripts (who is in a cohort and from which height),
miner_outputs (every output paid to a member, with when it was spent), miner_spend_outputs (every
output of a transaction that spent a member's output). Per transaction and cohort C:

    in_C      = value of C's outputs the transaction spends
    to_C      = value it pays to C's scripts;   to_other = its other outputs
    internal  = least(in_C, to_C)                       — a transfer inside C, not a flow
    outflow   = least(in_C − internal, to_other)        — sent out of C
    inflow    = to_C − internal                         — received from outside (coinbases: all of it)

so that each day reserve change = inflow − outflow − fees paid from C's coins (exactly).
"""

from __future__ import annotations

from datetime import date

import duckdb

from minerwatch.errors import UsageError
from minerwatch.metrics.registry import Query, SeriesFn, metric, refresher
from minerwatch.store import get_meta

FIXED_COHORTS = ("0hop", "1hop")
SAT = 100_000_000


def members_sql(cohort: str) -> tuple[str, list]:
    """SQL (script_id, join_height) of a cohort's members, with its parameters."""
    if cohort == "0hop":
        return "SELECT script_id, zero_hop_height AS join_height FROM miner_scripts WHERE zero_hop_height IS NOT NULL", []
    if cohort == "1hop":
        return ("SELECT script_id, least(coalesce(zero_hop_height, 2147483647), coalesce(one_hop_height, 2147483647))"
                " AS join_height FROM miner_scripts"), []
    if cohort.startswith("pool:"):
        # A pool's cohort: the scripts its blocks' coinbases paid first (by the pool list in force),
        # and the 1-hop scripts whose first payer was one of those.
        zero = ("SELECT s.script_id, s.zero_hop_height AS h FROM miner_scripts s JOIN block_pools p "
                "ON p.height = s.zero_hop_height WHERE p.pool_slug = ?")
        return (f"WITH z AS ({zero}) SELECT script_id, min(join_height) AS join_height FROM ("
                "SELECT script_id, h AS join_height FROM z UNION ALL SELECT s.script_id, s.one_hop_height "
                "FROM miner_scripts s WHERE s.one_hop_height IS NOT NULL "
                "AND s.parent_script_id IN (SELECT script_id FROM z)) GROUP BY script_id", [cohort[5:]])
    if cohort.startswith("label:"):
        # The cohort scripts (0- or 1-hop) that the latest label sets assign to the entity.
        return ("SELECT DISTINCT s.script_id, least(coalesce(s.zero_hop_height, 2147483647), "
                "coalesce(s.one_hop_height, 2147483647)) AS join_height FROM miner_scripts s "
                "JOIN labels l ON l.script_id = s.script_id WHERE l.entity = ?"), [cohort[6:]]
    raise UsageError(f"unknown cohort {cohort!r}", "use 0hop, 1hop, pool:<slug> or label:<entity>")


def _flows_sql(members: str) -> str:
    """Per-transaction flows of a cohort; parameters: members' params, then the first day."""
    return f"""
    WITH m AS ({members}),
    day_of AS (SELECT height, CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day FROM blocks),
    spent AS (
        SELECT o.spent_txid AS txid, any_value(o.spent_height) AS height, sum(o.value_sat) AS in_sat
        FROM miner_outputs o JOIN m ON o.script_id = m.script_id
        WHERE o.spent_height IS NOT NULL AND m.join_height <= o.spent_height GROUP BY o.spent_txid),
    to_c AS (
        SELECT o.txid, any_value(o.height) AS height, sum(o.value_sat) AS to_c_sat
        FROM miner_outputs o JOIN m ON o.script_id = m.script_id
        WHERE m.join_height <= o.height GROUP BY o.txid),
    tot AS (SELECT txid, sum(value_sat) AS out_sat FROM miner_spend_outputs GROUP BY txid),
    ex AS (
        SELECT so.txid, sum(so.value_sat) AS ex_sat FROM miner_spend_outputs so
        WHERE so.script_id IN (SELECT script_id FROM labels WHERE category = 'exchange')
          AND NOT EXISTS (SELECT 1 FROM m WHERE m.script_id = so.script_id AND m.join_height <= so.height)
        GROUP BY so.txid),
    tx AS (
        SELECT coalesce(s.txid, c.txid) AS txid, coalesce(s.height, c.height) AS height,
               coalesce(s.in_sat, 0) AS in_sat, coalesce(c.to_c_sat, 0) AS to_c_sat,
               greatest(coalesce(t.out_sat, 0) - coalesce(c.to_c_sat, 0), 0) AS to_other_sat,
               coalesce(e.ex_sat, 0) AS ex_sat
        FROM spent s FULL JOIN to_c c ON s.txid = c.txid
        LEFT JOIN tot t ON t.txid = coalesce(s.txid, c.txid)
        LEFT JOIN ex e ON e.txid = coalesce(s.txid, c.txid))
    SELECT d.day, tx.txid, tx.in_sat, least(tx.in_sat, tx.to_c_sat) AS internal_sat,
           least(tx.in_sat - least(tx.in_sat, tx.to_c_sat), tx.to_other_sat) AS outflow_sat,
           tx.to_c_sat - least(tx.in_sat, tx.to_c_sat) AS inflow_sat,
           least(tx.ex_sat, least(tx.in_sat - least(tx.in_sat, tx.to_c_sat), tx.to_other_sat)) AS to_exchange_sat
    FROM tx JOIN day_of d ON d.height = tx.height
    WHERE d.day >= ?
    """


def _reserve_events_sql(members: str) -> str:
    """(day, era_year, delta_sat): a member's output counts from max(created, joined) until spent."""
    return f"""
    WITH m AS ({members}),
    day_of AS (SELECT height, CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day FROM blocks),
    held AS (
        SELECT greatest(o.height, m.join_height) AS from_h, o.spent_height AS to_h, o.value_sat, o.height AS created_h
        FROM miner_outputs o JOIN m ON o.script_id = m.script_id
        WHERE o.spent_height IS NULL OR o.spent_height > greatest(o.height, m.join_height)),
    ev AS (
        SELECT from_h AS h, created_h, value_sat AS delta FROM held
        UNION ALL SELECT to_h, created_h, -value_sat FROM held WHERE to_h IS NOT NULL)
    SELECT d.day, year(c.day) AS era_year, sum(ev.delta) AS delta_sat
    FROM ev JOIN day_of d ON d.height = ev.h JOIN day_of c ON c.height = ev.created_h
    GROUP BY 1, 2
    """


def daily_flows(con: duckdb.DuckDBPyConnection, cohort: str, first_day: date = date(1970, 1, 1)) -> list[tuple]:
    """Rows (day, reserve, inflow, outflow, internal, outflow_tx_count, largest_outflow, to_exchange)
    in sats for every day with a block from `first_day` on."""
    members, params = members_sql(cohort)
    has_labels = con.execute("SELECT count(*) FROM labels WHERE category = 'exchange'").fetchone()[0] > 0
    return con.execute(f"""
        WITH f AS ({_flows_sql(members)}),
        fd AS (SELECT day, sum(inflow_sat) AS inflow, sum(outflow_sat) AS outflow, sum(internal_sat) AS internal,
                      count(*) FILTER (WHERE outflow_sat > 0) AS n_out, coalesce(max(outflow_sat), 0) AS largest,
                      sum(to_exchange_sat) AS to_ex
               FROM f GROUP BY day),
        ev AS ({_reserve_events_sql(members)}),
        rd AS (SELECT day, sum(delta_sat) AS delta FROM ev GROUP BY day),
        days AS (SELECT DISTINCT CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day FROM blocks),
        r AS (SELECT days.day, sum(coalesce(rd.delta, 0)) OVER (ORDER BY days.day) AS reserve
              FROM days LEFT JOIN rd ON rd.day = days.day)
        SELECT r.day, CAST(r.reserve AS BIGINT), coalesce(fd.inflow, 0), coalesce(fd.outflow, 0),
               coalesce(fd.internal, 0), coalesce(fd.n_out, 0), coalesce(fd.largest, 0),
               CASE WHEN ? THEN coalesce(fd.to_ex, 0) END
        FROM r LEFT JOIN fd ON fd.day = r.day
        WHERE r.day >= ? ORDER BY r.day
    """, params + [date(1970, 1, 1)] + params + [has_labels, first_day]).fetchall()


def reserve_by_era(con: duckdb.DuckDBPyConnection, cohort: str, first_day: date = date(1970, 1, 1)) -> list[tuple]:
    """Rows (day, era_year, reserve_sat) for every day with a block, from `first_day` on."""
    members, params = members_sql(cohort)
    return con.execute(f"""
        WITH ev AS ({_reserve_events_sql(members)}),
        days AS (SELECT DISTINCT CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day FROM blocks),
        eras AS (SELECT DISTINCT era_year FROM ev),
        grid AS (SELECT days.day, eras.era_year FROM days CROSS JOIN eras),
        r AS (SELECT g.day, g.era_year, sum(coalesce(ev.delta_sat, 0)) OVER (PARTITION BY g.era_year ORDER BY g.day)
                     AS reserve
              FROM grid g LEFT JOIN ev ON ev.day = g.day AND ev.era_year = g.era_year)
        SELECT day, era_year, CAST(reserve AS BIGINT) FROM r WHERE day >= ? AND reserve <> 0 ORDER BY day, era_year
    """, params + [first_day]).fetchall()


@refresher(40)
def refresh_miner_flows(con: duckdb.DuckDBPyConnection, from_height: int) -> None:
    """Recompute the fixed cohorts' daily rows from the day of `from_height` (less 11 blocks: header
    times may run up to ~2 h backwards, so a later block can belong to an earlier day)."""
    first = con.execute("SELECT min(CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE)) FROM blocks "
                        "WHERE height >= ?", [max(from_height - 11, 0)]).fetchone()[0]
    last_kept = con.execute("SELECT max(day) FROM daily_miner_flows").fetchone()[0]
    if first is None:  # nothing at or above from_height: drop days whose blocks are gone
        first = con.execute("SELECT max(CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE)) FROM blocks").fetchone()[0]
        if first is None:
            con.execute("DELETE FROM daily_miner_flows")
            con.execute("DELETE FROM daily_miner_reserve_era")
            return
    if last_kept is not None and last_kept < first:
        first = min(first, last_kept)
    pools_v, labels_v = get_meta(con, "pools_version"), get_meta(con, "labels_version")
    con.execute("DELETE FROM daily_miner_flows WHERE day >= ?", [first])
    con.execute("DELETE FROM daily_miner_reserve_era WHERE day >= ?", [first])
    for cohort in FIXED_COHORTS:
        flows = [(r[0], cohort, *r[1:], pools_v, labels_v) for r in daily_flows(con, cohort, first)]
        eras = [(d, cohort, y, v) for d, y, v in reserve_by_era(con, cohort, first)]
        if flows:  # DuckDB's executemany refuses an empty list
            con.executemany("INSERT INTO daily_miner_flows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", flows)
        if eras:
            con.executemany("INSERT INTO daily_miner_reserve_era VALUES (?, ?, ?, ?)", eras)


def _series(con: duckdb.DuckDBPyConnection, q: Query, column: str, per: int = SAT) -> list[tuple[date, float | None]]:
    """One column of the daily flows of q.cohort, divided by `per` (sats → BTC by default)."""
    if q.cohort in FIXED_COHORTS:
        rows = con.execute(
            f"SELECT day, {column} FROM daily_miner_flows WHERE cohort = ? AND day BETWEEN ? AND ? ORDER BY day",  # noqa: S608
            [q.cohort, q.start or date(1970, 1, 1), q.end or date(9999, 1, 1)]).fetchall()
    else:
        idx = {"reserve_sat": 1, "inflow_sat": 2, "outflow_sat": 3, "internal_sat": 4, "outflow_tx_count": 5,
               "largest_outflow_sat": 6, "to_exchange_sat": 7, "inflow_sat - outflow_sat": -1}[column]
        rows = [(r[0], r[2] - r[3] if idx < 0 else r[idx]) for r in daily_flows(con, q.cohort, q.start or date(1970, 1, 1))
                if q.end is None or r[0] <= q.end]
    return [(d, None if v is None else v / per) for d, v in rows]


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
    if q.cohort in FIXED_COHORTS:
        rows = con.execute(
            "SELECT d.day, coalesce(sum(e.reserve_sat) FILTER (WHERE (e.era_year <= 2010) = ?), 0) "
            "FROM (SELECT DISTINCT day FROM daily_miner_flows WHERE cohort = ?) d "
            "LEFT JOIN daily_miner_reserve_era e ON e.day = d.day AND e.cohort = ? "
            "WHERE d.day BETWEEN ? AND ? GROUP BY d.day ORDER BY d.day",
            [early, q.cohort, q.cohort, q.start or date(1970, 1, 1), q.end or date(9999, 1, 1)]).fetchall()
    else:
        totals: dict[date, int] = {}
        for d, year, v in reserve_by_era(con, q.cohort, q.start or date(1970, 1, 1)):
            totals[d] = totals.get(d, 0) + (v if (year <= 2010) == early else 0)
        days = [d for d, _ in _series(con, q, "reserve_sat", per=1)]
        rows = [(d, totals.get(d, 0)) for d in days]
    return [(d, v / SAT) for d, v in rows]


@metric("miner_reserve_2009_2010_btc", "BTC", "miner reserve held in outputs created in 2009–2010 (mostly "
        "never-moved early coinbases)", "miners", cohort=True)
def miner_reserve_2009_2010_btc(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _era_series(con, q, early=True)


@metric("miner_reserve_since_2011_btc", "BTC", "miner reserve held in outputs created from 2011 on (active miners)",
        "miners", cohort=True)
def miner_reserve_since_2011_btc(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _era_series(con, q, early=False)
