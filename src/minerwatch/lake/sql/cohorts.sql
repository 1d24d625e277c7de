-- The miner cohorts, their daily series and the true fees per block, over the lake's tables
-- (blocks, outputs, inputs). One text for DuckDB and Spark SQL: only what both dialects read alike
-- (no FILTER, no any_value, no date functions: a UTC day is floor(time_s / 86400), days since
-- 1970-01-01). Each `-- name:` statement becomes a table the later ones read, in file order;
-- `one_hop_pass` reads `members` and gives the next `members` (minerwatch/lake/cohorts.py repeats it
-- until nothing changes). Definitions: docs/metrics.md, "Miner cohorts"; docs/lake.md.

-- name: day_of
SELECT height, CAST(floor(time_s / 86400) AS BIGINT) AS epoch_day FROM blocks

-- name: block_era
-- The UTC year of each block: the era its outputs are counted in. Besides the lake's tables the
-- statements read three small ones the job passes in (minerwatch/lake/inputs.py): utc_years
-- (era_year, first_day, end_day), block_pools (height, pool_slug: the pool list's attribution of
-- each block) and labels (script_id, entity, category: a label set).
SELECT d.height, y.era_year FROM day_of d JOIN utc_years y ON d.epoch_day >= y.first_day AND d.epoch_day < y.end_day

-- name: spends
-- Every input with the output it spends: the prevout is a join, not a UTXO set in memory.
SELECT i.height AS spend_height, i.txid AS spend_txid, i.tx_index AS spend_tx_index, i.vin AS spend_vin,
       o.height AS out_height, o.txid AS out_txid, o.vout AS out_vout, o.value_sat, o.script_id
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

-- name: parents
-- A 1-hop script's parent, as the tracker records it: in the first transaction (block order) at its
-- 1-hop height that pays it and spends a tracked output of a script 0-hop by then, the script of the
-- first such input. A pool's cohort takes in the 1-hop scripts whose parent it paid first.
WITH zero_inputs AS (
    SELECT s.spend_height, s.spend_tx_index, s.spend_vin, s.spend_txid, s.script_id
    FROM spends s JOIN members m ON m.script_id = s.script_id
    WHERE m.zero_hop_height <= s.spend_height AND m.member_height <= s.out_height AND s.value_sat > 0),
first_input AS (
    SELECT spend_height, spend_tx_index, min(spend_txid) AS spend_txid, min(spend_vin) AS spend_vin
    FROM zero_inputs GROUP BY spend_height, spend_tx_index),
paying AS (
    SELECT m.script_id, m.one_hop_height, min(f.spend_tx_index) AS spend_tx_index
    FROM members m
    JOIN outputs o ON o.script_id = m.script_id AND o.height = m.one_hop_height
    JOIN first_input f ON f.spend_height = o.height AND f.spend_txid = o.txid
    WHERE o.value_sat > 0 AND o.script_type <> 'op_return'
    GROUP BY m.script_id, m.one_hop_height)
SELECT p.script_id, z.script_id AS parent_script_id
FROM paying p
JOIN first_input f ON f.spend_height = p.one_hop_height AND f.spend_tx_index = p.spend_tx_index
JOIN zero_inputs z ON z.spend_height = f.spend_height AND z.spend_tx_index = f.spend_tx_index
                  AND z.spend_vin = f.spend_vin

-- name: tracked_outputs
-- The outputs the single-machine tracker keeps (miner_outputs): paid to a member once it was one.
SELECT o.height, o.txid, o.vout, o.value_sat, o.script_id
FROM outputs o JOIN members m ON m.script_id = o.script_id
WHERE o.value_sat > 0 AND o.script_type <> 'op_return' AND m.member_height <= o.height

-- name: tracked_spends
SELECT s.spend_height, s.spend_txid, s.out_height, s.out_txid, s.out_vout, s.value_sat, s.script_id
FROM spends s JOIN tracked_outputs t ON t.txid = s.out_txid AND t.vout = s.out_vout AND t.height = s.out_height

-- name: cohort_members
-- (cohort, script, the height it joins): 0hop, 1hop, pool:<slug> (the scripts first paid by a
-- coinbase of the pool's blocks, and the 1-hop scripts whose parent is one of them) and
-- label:<entity> (the members a label assigns to the entity, from their 1-hop join). A script in a
-- pool both ways joins at the earlier height.
SELECT cohort, script_id, min(join_height) AS join_height FROM (
    SELECT '0hop' AS cohort, script_id, zero_hop_height AS join_height FROM members WHERE zero_hop_height IS NOT NULL
    UNION ALL
    SELECT '1hop' AS cohort, script_id, member_height AS join_height FROM members
    UNION ALL
    SELECT concat('pool:', p.pool_slug) AS cohort, m.script_id, m.zero_hop_height AS join_height
    FROM members m JOIN block_pools p ON p.height = m.zero_hop_height
    UNION ALL
    SELECT concat('pool:', p.pool_slug) AS cohort, m.script_id, m.one_hop_height AS join_height
    FROM parents q JOIN members m ON m.script_id = q.script_id
    JOIN members pm ON pm.script_id = q.parent_script_id JOIN block_pools p ON p.height = pm.zero_hop_height
    UNION ALL
    SELECT concat('label:', l.entity) AS cohort, m.script_id, m.member_height AS join_height
    FROM members m JOIN labels l ON l.script_id = m.script_id) u
GROUP BY cohort, script_id

-- name: cohort_tx_flows
-- Per cohort and transaction: what it spent of the cohort (in), paid back to it (to_c) and paid to
-- others. Internal = least(in, to_c); outflow = what is left of in, at most what went to others;
-- inflow = to_c beyond in (coinbases included). A fee is not a flow. To exchanges: the part of the
-- outflow paid to scripts labelled 'exchange' that are not members of the cohort by then.
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
ex AS (
    SELECT o.txid, o.height, o.script_id, o.value_sat
    FROM outputs o JOIN spending_txs t ON o.height = t.spend_height AND o.txid = t.spend_txid
    JOIN (SELECT DISTINCT script_id FROM labels WHERE category = 'exchange') l ON l.script_id = o.script_id),
ex_all AS (SELECT txid, sum(value_sat) AS ex_sat FROM ex GROUP BY txid),
ex_member AS (
    SELECT m.cohort, ex.txid, sum(ex.value_sat) AS member_sat
    FROM ex JOIN cohort_members m ON m.script_id = ex.script_id AND m.join_height <= ex.height
    GROUP BY m.cohort, ex.txid),
tx AS (
    SELECT coalesce(s.cohort, c.cohort) AS cohort, coalesce(s.txid, c.txid) AS txid,
           coalesce(s.height, c.height) AS height, coalesce(s.in_sat, 0) AS in_sat,
           coalesce(c.to_c_sat, 0) AS to_c_sat,
           greatest(coalesce(t.out_sat, 0) - coalesce(c.to_c_sat, 0), 0) AS to_other_sat,
           coalesce(e.ex_sat, 0) - coalesce(x.member_sat, 0) AS ex_sat
    FROM spent s FULL JOIN to_c c ON s.cohort = c.cohort AND s.txid = c.txid
    LEFT JOIN tot t ON t.txid = coalesce(s.txid, c.txid)
    LEFT JOIN ex_all e ON e.txid = coalesce(s.txid, c.txid)
    LEFT JOIN ex_member x ON x.cohort = coalesce(s.cohort, c.cohort) AND x.txid = coalesce(s.txid, c.txid)),
f AS (
    SELECT cohort, txid, height, ex_sat, least(in_sat, to_c_sat) AS internal_sat,
           least(in_sat - least(in_sat, to_c_sat), to_other_sat) AS outflow_sat,
           to_c_sat - least(in_sat, to_c_sat) AS inflow_sat
    FROM tx)
SELECT cohort, txid, height, internal_sat, outflow_sat, inflow_sat, least(ex_sat, outflow_sat) AS to_exchange_sat
FROM f

-- name: reserve_events
-- A member's tracked output counts from max(created, joined) until spent, in the era (UTC year) of
-- the block that created it.
WITH held AS (
    SELECT m.cohort, greatest(o.height, m.join_height) AS from_height, s.spend_height AS to_height, o.value_sat,
           e.era_year
    FROM tracked_outputs o JOIN cohort_members m ON m.script_id = o.script_id
    JOIN block_era e ON e.height = o.height
    LEFT JOIN tracked_spends s ON s.out_txid = o.txid AND s.out_vout = o.vout AND s.out_height = o.height
    WHERE s.spend_height IS NULL OR s.spend_height > greatest(o.height, m.join_height))
SELECT cohort, era_year, from_height AS height, value_sat AS delta_sat FROM held
UNION ALL
SELECT cohort, era_year, to_height AS height, -value_sat AS delta_sat FROM held WHERE to_height IS NOT NULL

-- name: cohort_starts
-- The first UTC day of each cohort: 0hop and 1hop have a row on every day with a block, a pool's or
-- a label's from the first day its flows or reserve change (the days before are zeros), as the
-- single-machine tables have them.
WITH first_days AS (
    SELECT f.cohort, min(d.epoch_day) AS epoch_day FROM cohort_tx_flows f JOIN day_of d ON d.height = f.height
    GROUP BY f.cohort
    UNION ALL
    SELECT e.cohort, min(d.epoch_day) AS epoch_day FROM reserve_events e JOIN day_of d ON d.height = e.height
    GROUP BY e.cohort
    UNION ALL
    SELECT '0hop' AS cohort, min(epoch_day) AS epoch_day FROM day_of
    UNION ALL
    SELECT '1hop' AS cohort, min(epoch_day) AS epoch_day FROM day_of)
SELECT cohort, min(epoch_day) AS start_day FROM first_days GROUP BY cohort

-- name: daily_cohort_flows
-- Every cohort on every UTC day with a block from its first (cohort_starts): the reserve at the
-- day's end and the day's flows. to_exchange_sat is 0 while the label set marks no exchange (the
-- single-machine series says null then; a cross join with that fact made Spark's plan stall).
WITH days AS (SELECT DISTINCT epoch_day FROM day_of),
grid AS (SELECT c.cohort, d.epoch_day FROM cohort_starts c JOIN days d ON d.epoch_day >= c.start_day),
fd AS (
    SELECT f.cohort, d.epoch_day, sum(f.inflow_sat) AS inflow_sat, sum(f.outflow_sat) AS outflow_sat,
           sum(f.internal_sat) AS internal_sat,
           sum(CASE WHEN f.outflow_sat > 0 THEN 1 ELSE 0 END) AS outflow_tx_count,
           max(f.outflow_sat) AS largest_outflow_sat, sum(f.to_exchange_sat) AS to_exchange_sat
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
       CAST(coalesce(fd.largest_outflow_sat, 0) AS BIGINT) AS largest_outflow_sat,
       CAST(coalesce(fd.to_exchange_sat, 0) AS BIGINT) AS to_exchange_sat
FROM r LEFT JOIN fd ON fd.cohort = r.cohort AND fd.epoch_day = r.epoch_day

-- name: daily_cohort_reserve_era
-- The reserve at each day's end split by the era (UTC year) its outputs were created in; only the
-- (cohort, era, day) rows that hold something, as the single-machine daily_miner_reserve_era.
WITH days AS (SELECT DISTINCT epoch_day FROM day_of),
rd AS (
    SELECT e.cohort, e.era_year, d.epoch_day, sum(e.delta_sat) AS delta_sat
    FROM reserve_events e JOIN day_of d ON d.height = e.height
    GROUP BY e.cohort, e.era_year, d.epoch_day),
pairs AS (SELECT cohort, era_year, min(epoch_day) AS start_day FROM rd GROUP BY cohort, era_year),
r AS (
    SELECT p.cohort, p.era_year, d.epoch_day,
           sum(coalesce(rd.delta_sat, 0)) OVER (PARTITION BY p.cohort, p.era_year ORDER BY d.epoch_day
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reserve_sat
    FROM pairs p JOIN days d ON d.epoch_day >= p.start_day
    LEFT JOIN rd ON rd.cohort = p.cohort AND rd.era_year = p.era_year AND rd.epoch_day = d.epoch_day)
SELECT cohort, era_year, epoch_day, CAST(reserve_sat AS BIGINT) AS reserve_sat FROM r WHERE reserve_sat <> 0

-- name: block_fees
-- True fees: what a block's transactions spend minus what they pay out (the coinbase aside),
-- beside what its miner claimed (coinbase − subsidy, floored at 0 in blocks.fees_claimed_sat).
WITH ins AS (SELECT spend_height AS height, sum(value_sat) AS in_sat FROM spends GROUP BY spend_height),
outs AS (SELECT height, sum(value_sat) AS out_sat FROM outputs WHERE tx_index > 0 GROUP BY height)
SELECT b.height, CAST(coalesce(ins.in_sat, 0) - coalesce(outs.out_sat, 0) AS BIGINT) AS fees_sat,
       b.fees_claimed_sat, b.unclaimed_sat, b.coinbase_value_sat, b.subsidy_sat
FROM blocks b LEFT JOIN ins ON ins.height = b.height LEFT JOIN outs ON outs.height = b.height
