-- The miner cohorts, their daily series and the true fees per block, over the lake's tables
-- (blocks, outputs, inputs). One text for DuckDB and Spark SQL: only what both dialects read alike
-- (no FILTER, no any_value, no date functions: a UTC day is floor(time_s / 86400), days since
-- 1970-01-01). Each `-- name:` statement becomes a table the later ones read, in file order;
-- `one_hop_pass` reads `members` and gives the next `members` (minerwatch/lake/cohorts.py repeats it
-- until nothing changes). Definitions: docs/metrics.md, "Miner cohorts"; docs/lake.md.

-- name: day_of
SELECT height, CAST(floor(time_s / 86400) AS BIGINT) AS epoch_day FROM blocks

-- name: spends
-- Every input with the output it spends: the prevout is a join, not a UTXO set in memory.
SELECT i.height AS spend_height, i.txid AS spend_txid, o.height AS out_height, o.txid AS out_txid,
       o.vout AS out_vout, o.value_sat, o.script_id
FROM inputs i JOIN outputs o ON o.txid = i.prev_txid AND o.vout = i.prev_vout

-- name: zero_hop
-- A script joins 0-hop at the first height a coinbase pays it (value > 0, not OP_RETURN).
SELECT script_id, min(height) AS zero_hop_height
FROM outputs WHERE tx_index = 0 AND value_sat > 0 AND script_type <> 'op_return'
GROUP BY script_id

-- name: members
SELECT script_id, zero_hop_height, CAST(NULL AS INT) AS one_hop_height, zero_hop_height AS member_height
FROM zero_hop

-- name: one_hop_pass
-- A script joins 1-hop at the first height it receives an output (value > 0, not OP_RETURN) of a
-- transaction that spends a tracked output of a script 0-hop by then; it keeps that height only if
-- it was no member before (a coinbase comes first in its block). A tracked output is one paid to a
-- script that was a member (0- or 1-hop) when it was created — which needs the 1-hop heights this
-- computes, hence the repetition (it changes only scripts that were 1-hop before they were 0-hop).
WITH zero_spends AS (
    SELECT DISTINCT s.spend_height, s.spend_txid
    FROM spends s JOIN members m ON m.script_id = s.script_id
    WHERE m.zero_hop_height <= s.spend_height AND m.member_height <= s.out_height AND s.value_sat > 0),
candidates AS (
    SELECT o.script_id, min(o.height) AS first_height
    FROM outputs o JOIN zero_spends z ON o.txid = z.spend_txid AND o.height = z.spend_height
    WHERE o.value_sat > 0 AND o.script_type <> 'op_return'
    GROUP BY o.script_id),
joined AS (
    SELECT coalesce(z.script_id, c.script_id) AS script_id, z.zero_hop_height,
           CASE WHEN z.zero_hop_height IS NULL OR c.first_height < z.zero_hop_height THEN c.first_height END
               AS one_hop_height
    FROM zero_hop z FULL JOIN candidates c ON c.script_id = z.script_id)
SELECT script_id, zero_hop_height, one_hop_height,
       least(coalesce(zero_hop_height, one_hop_height), coalesce(one_hop_height, zero_hop_height)) AS member_height
FROM joined

-- name: tracked_outputs
-- The outputs the single-machine tracker keeps (miner_outputs): paid to a member once it was one.
SELECT o.height, o.txid, o.vout, o.value_sat, o.script_id
FROM outputs o JOIN members m ON m.script_id = o.script_id
WHERE o.value_sat > 0 AND o.script_type <> 'op_return' AND m.member_height <= o.height

-- name: tracked_spends
SELECT s.spend_height, s.spend_txid, s.out_height, s.out_txid, s.out_vout, s.value_sat, s.script_id
FROM spends s JOIN tracked_outputs t ON t.txid = s.out_txid AND t.vout = s.out_vout AND t.height = s.out_height

-- name: cohort_members
SELECT '0hop' AS cohort, script_id, zero_hop_height AS join_height FROM members WHERE zero_hop_height IS NOT NULL
UNION ALL
SELECT '1hop' AS cohort, script_id, member_height AS join_height FROM members

-- name: cohort_tx_flows
-- Per cohort and transaction: what it spent of the cohort (in), paid back to it (to_c) and paid to
-- others. Internal = least(in, to_c); outflow = what is left of in, at most what went to others;
-- inflow = to_c beyond in (coinbases included). A fee is not a flow.
WITH spent AS (
    SELECT m.cohort, s.spend_txid AS txid, min(s.spend_height) AS height, sum(s.value_sat) AS in_sat
    FROM tracked_spends s JOIN cohort_members m ON m.script_id = s.script_id
    WHERE m.join_height <= s.spend_height
    GROUP BY m.cohort, s.spend_txid),
to_c AS (
    SELECT m.cohort, o.txid, min(o.height) AS height, sum(o.value_sat) AS to_c_sat
    FROM tracked_outputs o JOIN cohort_members m ON m.script_id = o.script_id
    WHERE m.join_height <= o.height
    GROUP BY m.cohort, o.txid),
spending_txs AS (SELECT DISTINCT spend_height, spend_txid FROM tracked_spends),
tot AS (
    SELECT o.txid, sum(o.value_sat) AS out_sat
    FROM outputs o JOIN spending_txs t ON o.height = t.spend_height AND o.txid = t.spend_txid
    GROUP BY o.txid),
tx AS (
    SELECT coalesce(s.cohort, c.cohort) AS cohort, coalesce(s.txid, c.txid) AS txid,
           coalesce(s.height, c.height) AS height, coalesce(s.in_sat, 0) AS in_sat,
           coalesce(c.to_c_sat, 0) AS to_c_sat,
           greatest(coalesce(t.out_sat, 0) - coalesce(c.to_c_sat, 0), 0) AS to_other_sat
    FROM spent s FULL JOIN to_c c ON s.cohort = c.cohort AND s.txid = c.txid
    LEFT JOIN tot t ON t.txid = coalesce(s.txid, c.txid))
SELECT cohort, txid, height, least(in_sat, to_c_sat) AS internal_sat,
       least(in_sat - least(in_sat, to_c_sat), to_other_sat) AS outflow_sat,
       to_c_sat - least(in_sat, to_c_sat) AS inflow_sat
FROM tx

-- name: reserve_events
-- A member's tracked output counts from max(created, joined) until spent.
WITH held AS (
    SELECT m.cohort, greatest(o.height, m.join_height) AS from_height, s.spend_height AS to_height, o.value_sat
    FROM tracked_outputs o JOIN cohort_members m ON m.script_id = o.script_id
    LEFT JOIN tracked_spends s ON s.out_txid = o.txid AND s.out_vout = o.vout AND s.out_height = o.height
    WHERE s.spend_height IS NULL OR s.spend_height > greatest(o.height, m.join_height))
SELECT cohort, from_height AS height, value_sat AS delta_sat FROM held
UNION ALL
SELECT cohort, to_height AS height, -value_sat AS delta_sat FROM held WHERE to_height IS NOT NULL

-- name: daily_cohort_flows
-- Every cohort on every UTC day with a block: the reserve at the day's end and the day's flows.
WITH days AS (SELECT DISTINCT epoch_day FROM day_of),
cohorts AS (SELECT DISTINCT cohort FROM cohort_members),
grid AS (SELECT c.cohort, d.epoch_day FROM cohorts c CROSS JOIN days d),
fd AS (
    SELECT f.cohort, d.epoch_day, sum(f.inflow_sat) AS inflow_sat, sum(f.outflow_sat) AS outflow_sat,
           sum(f.internal_sat) AS internal_sat,
           sum(CASE WHEN f.outflow_sat > 0 THEN 1 ELSE 0 END) AS outflow_tx_count,
           max(f.outflow_sat) AS largest_outflow_sat
    FROM cohort_tx_flows f JOIN day_of d ON d.height = f.height
    GROUP BY f.cohort, d.epoch_day),
rd AS (
    SELECT e.cohort, d.epoch_day, sum(e.delta_sat) AS delta_sat
    FROM reserve_events e JOIN day_of d ON d.height = e.height
    GROUP BY e.cohort, d.epoch_day),
r AS (
    SELECT g.cohort, g.epoch_day,
           sum(coalesce(rd.delta_sat, 0)) OVER (PARTITION BY g.cohort ORDER BY g.epoch_day
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reserve_sat
    FROM grid g LEFT JOIN rd ON rd.cohort = g.cohort AND rd.epoch_day = g.epoch_day)
SELECT r.cohort, r.epoch_day, CAST(r.reserve_sat AS BIGINT) AS reserve_sat,
       CAST(coalesce(fd.inflow_sat, 0) AS BIGINT) AS inflow_sat,
       CAST(coalesce(fd.outflow_sat, 0) AS BIGINT) AS outflow_sat,
       CAST(coalesce(fd.internal_sat, 0) AS BIGINT) AS internal_sat,
       CAST(coalesce(fd.outflow_tx_count, 0) AS BIGINT) AS outflow_tx_count,
       CAST(coalesce(fd.largest_outflow_sat, 0) AS BIGINT) AS largest_outflow_sat
FROM r LEFT JOIN fd ON fd.cohort = r.cohort AND fd.epoch_day = r.epoch_day

-- name: block_fees
-- True fees: what a block's transactions spend minus what they pay out (the coinbase aside),
-- beside what its miner claimed (coinbase − subsidy, floored at 0 in blocks.fees_claimed_sat).
WITH ins AS (SELECT spend_height AS height, sum(value_sat) AS in_sat FROM spends GROUP BY spend_height),
outs AS (SELECT height, sum(value_sat) AS out_sat FROM outputs WHERE tx_index > 0 GROUP BY height)
SELECT b.height, CAST(coalesce(ins.in_sat, 0) - coalesce(outs.out_sat, 0) AS BIGINT) AS fees_sat,
       b.fees_claimed_sat, b.unclaimed_sat, b.coinbase_value_sat, b.subsidy_sat
FROM blocks b LEFT JOIN ins ON ins.height = b.height LEFT JOIN outs ON outs.height = b.height
