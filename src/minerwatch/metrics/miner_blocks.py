"""Each block's contribution to every cohort's flows and reserve (miner_block_flows, miner_block_reserve).

Per transaction and cohort C (docs/metrics.md):

    in_C      = value of C's outputs the transaction spends
    to_C      = value it pays to C's scripts;   to_other = its other outputs
    internal  = least(in_C, to_C)                       — a transfer inside C, not a flow
    outflow   = least(in_C − internal, to_other)        — sent out of C
    inflow    = to_C − internal                         — received from outside (coinbases: all of it)

and an output of a member counts in C's reserve from max(created, joined) until it is spent.

A block's rows need only the cohort outputs created or spent in it (found by height in
miner_outputs and miner_spends, both appended in height order) and the outputs of the
rare scripts that join 0-hop after being 1-hop. Heights are taken in chunks, so that a recompute
from height 0 holds one chunk's outputs in memory at a time, and one new block is one chunk.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from minerwatch.metrics.miner_members import late_joiners_sql, resolve_members

# A chunk holds about this many created cohort outputs (~100 bytes each in the temp tables).
CHUNK_OUTPUTS = 1_000_000
_BUCKET_BLOCKS = 1_000

_OUT_COLUMNS = "txid, height, value_sat, script_id, spent_height, spent_txid"
_DAY = "CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE)"

_FLOWS_SQL = """
INSERT INTO miner_block_flows
WITH spent AS (
    SELECT m.cohort, o.spent_txid AS txid, any_value(o.spent_height) AS height, sum(o.value_sat) AS in_sat
    FROM _mf_out o JOIN _mf_m m ON o.script_id = m.script_id
    WHERE o.spent_height >= $lo AND o.spent_height < $hi AND m.join_height <= o.spent_height
    GROUP BY m.cohort, o.spent_txid),
to_c AS (
    SELECT m.cohort, o.txid, any_value(o.height) AS height, sum(o.value_sat) AS to_c_sat
    FROM _mf_out o JOIN _mf_m m ON o.script_id = m.script_id
    WHERE o.height >= $lo AND o.height < $hi AND m.join_height <= o.height
    GROUP BY m.cohort, o.txid),
tot AS (SELECT txid, sum(value_sat) AS out_sat FROM _mf_so GROUP BY txid),
ex AS (SELECT * FROM _mf_so WHERE script_id IN (SELECT script_id FROM labels WHERE category = 'exchange')),
ex_all AS (SELECT txid, sum(value_sat) AS ex_sat FROM ex GROUP BY txid),
-- paid to an exchange-labelled script that is itself a member of C: not an exchange outflow of C
ex_member AS (
    SELECT m.cohort, ex.txid, sum(ex.value_sat) AS member_sat
    FROM ex JOIN _mf_m m ON m.script_id = ex.script_id AND m.join_height <= ex.height
    GROUP BY m.cohort, ex.txid),
tx AS (
    SELECT coalesce(s.cohort, c.cohort) AS cohort, coalesce(s.height, c.height) AS height,
           coalesce(s.in_sat, 0) AS in_sat, coalesce(c.to_c_sat, 0) AS to_c_sat,
           greatest(coalesce(t.out_sat, 0) - coalesce(c.to_c_sat, 0), 0) AS to_other_sat,
           coalesce(e.ex_sat, 0) - coalesce(x.member_sat, 0) AS ex_sat
    FROM spent s FULL JOIN to_c c ON s.cohort = c.cohort AND s.txid = c.txid
    LEFT JOIN tot t ON t.txid = coalesce(s.txid, c.txid)
    LEFT JOIN ex_all e ON e.txid = coalesce(s.txid, c.txid)
    LEFT JOIN ex_member x ON x.cohort = coalesce(s.cohort, c.cohort) AND x.txid = coalesce(s.txid, c.txid)),
f AS (
    SELECT cohort, height, least(in_sat, to_c_sat) AS internal_sat,
           least(in_sat - least(in_sat, to_c_sat), to_other_sat) AS outflow_sat,
           to_c_sat - least(in_sat, to_c_sat) AS inflow_sat, ex_sat
    FROM tx)
SELECT f.height, d.day, f.cohort, sum(f.inflow_sat), sum(f.outflow_sat), sum(f.internal_sat),
       count(*) FILTER (WHERE f.outflow_sat > 0), max(f.outflow_sat), sum(least(f.ex_sat, f.outflow_sat))
FROM f JOIN _mf_days d ON d.height = f.height
GROUP BY f.height, d.day, f.cohort
"""

_RESERVE_SQL = f"""
INSERT INTO miner_block_reserve
WITH held AS (
    SELECT m.cohort, greatest(o.height, m.join_height) AS from_h, o.spent_height AS to_h, o.value_sat,
           o.height AS created_h
    FROM _mf_out o JOIN _mf_m m ON o.script_id = m.script_id
    WHERE o.spent_height IS NULL OR o.spent_height > greatest(o.height, m.join_height)),
ev AS (
    SELECT cohort, from_h AS h, created_h, value_sat AS delta FROM held WHERE from_h >= $lo AND from_h < $hi
    UNION ALL
    SELECT cohort, to_h, created_h, -value_sat FROM held WHERE to_h >= $lo AND to_h < $hi),
-- the era of an output is the UTC year of the block that created it (reading blocks' height and
-- time columns: ~925,000 rows on mainnet, a few milliseconds)
created AS (SELECT height, year({_DAY}) AS era_year FROM blocks
            WHERE height IN (SELECT DISTINCT created_h FROM ev))
SELECT ev.h, d.day, ev.cohort, c.era_year, sum(ev.delta)
FROM ev JOIN _mf_days d ON d.height = ev.h JOIN created c ON c.height = ev.created_h
GROUP BY ev.h, d.day, ev.cohort, c.era_year
HAVING sum(ev.delta) <> 0
"""


def chunks(con: duckdb.DuckDBPyConnection, lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi) cut into height ranges of about CHUNK_OUTPUTS created cohort outputs each."""
    if hi - lo <= _BUCKET_BLOCKS:
        return [(lo, hi)] if hi > lo else []
    counts = con.execute(f"SELECT height // {_BUCKET_BLOCKS} AS b, count(*) FROM miner_outputs "  # noqa: S608 (a constant)
                         "WHERE height >= ? AND height < ? GROUP BY b ORDER BY b", [lo, hi]).fetchall()
    out, start, n = [], lo, 0
    for bucket, count in counts:
        n += count
        if n >= CHUNK_OUTPUTS:
            end = min((bucket + 1) * _BUCKET_BLOCKS, hi)
            out.append((start, end))
            start, n = end, 0
    if start < hi:
        out.append((start, hi))
    return out


def _gather_outputs(con: duckdb.DuckDBPyConnection, lo: int, hi: int, kinds: tuple[str, ...]) -> None:
    """Temp table _mf_out: the cohort outputs created in [lo, hi), those created earlier and spent
    in [lo, hi), and the older unspent outputs of scripts that join a cohort late in [lo, hi).

    spent_height is set where the spend falls in [lo, hi) (NULL for a later one: no row of these
    heights depends on it), except for the late joiners' outputs, which carry any later spend."""
    # Both reads are height ranges of tables appended in height order: DuckDB's min/max statistics
    # skip every row group but the last few, whatever the history stored.
    con.execute("CREATE OR REPLACE TEMP TABLE _mf_spent AS SELECT txid, vout, out_height AS height, value_sat, "
                "script_id, height AS spent_height, spent_txid FROM miner_spends WHERE height >= ? AND height < ?",
                [lo, hi])
    con.execute(f"CREATE OR REPLACE TEMP TABLE _mf_out AS SELECT {_OUT_COLUMNS} FROM (SELECT * FROM miner_outputs "  # noqa: S608
                "WHERE height >= ? AND height < ?) o LEFT JOIN _mf_spent s USING (txid, vout, height, value_sat, "
                "script_id)", [lo, hi])
    con.execute(f"INSERT INTO _mf_out SELECT {_OUT_COLUMNS} FROM _mf_spent WHERE height < ?", [lo])  # noqa: S608
    if "fixed" in kinds or "pool" in kinds:
        late = [sid for (sid,) in con.execute(late_joiners_sql(), [lo, hi]).fetchall()]
        for i in range(0, len(late), 512):
            part = late[i:i + 512]
            marks = ", ".join("?" * len(part))
            # Rare (a 1-hop script paid by a coinbase later): one read of the script ids of
            # miner_outputs and miner_spends; their outputs spent in [lo, hi) are in _mf_out already.
            con.execute(f"INSERT INTO _mf_out SELECT {_OUT_COLUMNS} FROM (SELECT txid, vout, height, value_sat, "  # noqa: S608
                        f"script_id FROM miner_outputs WHERE script_id IN ({marks}) AND height < ?) o "
                        f"LEFT JOIN (SELECT txid, vout, height AS spent_height, spent_txid FROM miner_spends "
                        f"WHERE script_id IN ({marks})) s USING (txid, vout) "
                        "WHERE s.spent_height IS NULL OR s.spent_height >= ?", [*part, lo, *part, hi])
    con.execute("CREATE OR REPLACE TEMP TABLE _mf_so AS SELECT txid, height, value_sat, script_id "
                "FROM miner_spend_outputs WHERE height >= ? AND height < ?", [lo, hi])
    con.execute(f"CREATE OR REPLACE TEMP TABLE _mf_days AS SELECT height, {_DAY} AS day FROM blocks "  # noqa: S608
                "WHERE height >= ? AND height < ?", [lo, hi])


def add_block_rows(con: duckdb.DuckDBPyConnection, lo: int, hi: int, kinds: Iterable[str]) -> None:
    """Insert the rows of heights [lo, hi) for the cohorts of these kinds (none may be stored yet)."""
    kinds = tuple(kinds)
    _gather_outputs(con, lo, hi, kinds)
    resolve_members(con, "SELECT script_id FROM _mf_out UNION SELECT script_id FROM _mf_so "
                         "WHERE script_id IN (SELECT script_id FROM labels WHERE category = 'exchange')", [], kinds)
    con.execute(_FLOWS_SQL, {"lo": lo, "hi": hi})
    con.execute(_RESERVE_SQL, {"lo": lo, "hi": hi})


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables add_block_rows made (they would otherwise live as long as the connection)."""
    for t in ("_mf_out", "_mf_spent", "_mf_so", "_mf_days", "_mf_ms", "_mf_par", "_mf_m"):
        con.execute(f"DROP TABLE IF EXISTS {t}")  # noqa: S608 (fixed names)
