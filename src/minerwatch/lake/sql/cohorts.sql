-- The miner cohorts (who is in which, from when) and the true fees per block, over the lake's tables
-- (blocks, outputs, inputs). One text for DuckDB and Spark SQL: only what both dialects read alike
-- (no FILTER, no any_value, no date functions: a UTC day is floor(time_s / 86400), days since
-- 1970-01-01). Each `-- name:` statement becomes a table the later ones read, in file order, and
-- the files run in the order of minerwatch/lake/cohorts.py (this one, entities.sql, flows.sql: the
-- daily series of every cohort, the entities' too); `one_hop_pass` reads `members` and gives the
-- next `members` (cohorts.py repeats it until nothing changes). Definitions: docs/metrics.md,
-- "Miner cohorts"; docs/lake.md.

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

-- name: block_fees
-- True fees: what a block's transactions spend minus what they pay out (the coinbase aside),
-- beside what its miner claimed (coinbase − subsidy, floored at 0 in blocks.fees_claimed_sat).
WITH ins AS (SELECT spend_height AS height, sum(value_sat) AS in_sat FROM spends GROUP BY spend_height),
outs AS (SELECT height, sum(value_sat) AS out_sat FROM outputs WHERE tx_index > 0 GROUP BY height)
SELECT b.height, CAST(coalesce(ins.in_sat, 0) - coalesce(outs.out_sat, 0) AS BIGINT) AS fees_sat,
       b.fees_claimed_sat, b.unclaimed_sat, b.coinbase_value_sat, b.subsidy_sat
FROM blocks b LEFT JOIN ins ON ins.height = b.height LEFT JOIN outs ON outs.height = b.height
