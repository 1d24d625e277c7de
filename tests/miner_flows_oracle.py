"""The test oracle for miner flows: the from-scratch SQL minerwatch used before its cohort tables were
kept block by block, kept verbatim. Every cohort's stored daily rows must equal what it gives.

It reads every cohort output of all history for one cohort, so it is only for tests.
"""

from __future__ import annotations

from datetime import date

import duckdb

from minerwatch.errors import UsageError


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


# Every cohort output with the height and transaction that spent it (NULL while unspent).
_OUTPUTS_SQL = ("(SELECT o.*, s.height AS spent_height, s.spent_txid FROM miner_outputs o "
                "LEFT JOIN miner_spends s ON s.txid = o.txid AND s.vout = o.vout)")


def _flows_sql(members: str) -> str:
    """Per-transaction flows of a cohort; parameters: members' params, then the first day."""
    return f"""
    WITH m AS ({members}),
    day_of AS (SELECT height, CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day FROM blocks),
    spent AS (
        SELECT o.spent_txid AS txid, any_value(o.spent_height) AS height, sum(o.value_sat) AS in_sat
        FROM {_OUTPUTS_SQL} o JOIN m ON o.script_id = m.script_id
        WHERE o.spent_height IS NOT NULL AND m.join_height <= o.spent_height GROUP BY o.spent_txid),
    to_c AS (
        SELECT o.txid, any_value(o.height) AS height, sum(o.value_sat) AS to_c_sat
        FROM {_OUTPUTS_SQL} o JOIN m ON o.script_id = m.script_id
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
        FROM {_OUTPUTS_SQL} o JOIN m ON o.script_id = m.script_id
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


def cohorts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every cohort the stored data can name: 0hop, 1hop, each attributed pool, each labelled entity."""
    pools = [f"pool:{s}" for (s,) in con.execute("SELECT DISTINCT pool_slug FROM block_pools ORDER BY 1").fetchall()]
    labels = [f"label:{e}" for (e,) in con.execute("SELECT DISTINCT entity FROM labels ORDER BY 1").fetchall()]
    return ["0hop", "1hop", *pools, *labels]


def mismatches(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Where the stored daily rows of any cohort (flows, and reserve by era) differ from the oracle."""
    from minerwatch.metrics.miners import cohort_days

    out = []
    for cohort in cohorts(con):
        want, got = daily_flows(con, cohort), cohort_days(con, cohort)
        if want != got:
            bad = [(w, g) for w, g in zip(want, got, strict=False) if w != g][:2]
            out.append(f"{cohort} flows: {len(got)} days, expected {len(want)}; first differences {bad}")
        want_eras = reserve_by_era(con, cohort)
        got_eras = con.execute("SELECT day, era_year, reserve_sat FROM daily_miner_reserve_era WHERE cohort = ? "
                               "ORDER BY day, era_year", [cohort]).fetchall()
        if want_eras != got_eras:
            bad = [(w, g) for w, g in zip(want_eras, got_eras, strict=False) if w != g][:2]
            out.append(f"{cohort} eras: {len(got_eras)} rows, expected {len(want_eras)}; first differences {bad}")
    return out
