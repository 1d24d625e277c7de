-- The daily series of each miner entity (entities.sql) as a cohort `entity:<height>.<vout>`: its
-- reserve at the day's end, inflow, outflow, internal transfers, by the rules of cohort_tx_flows and
-- reserve_events in cohorts.sql (what a transaction spends of the cohort, pays back to it and pays
-- to others), over every coin of the entity's scripts: the clustering is of the whole lake, so an
-- entity owns its scripts' coins from their first, whenever the co-spend that joined them came —
-- where 0hop and 1hop count a member's coins only from its join. One text for DuckDB and Spark SQL.

-- name: entity_outputs
SELECT c.cohort, o.height, o.txid, o.vout, o.value_sat
FROM outputs o JOIN entities e ON e.script_id = o.script_id JOIN entity_cohorts c ON c.entity_id = e.entity_id
WHERE o.value_sat > 0 AND o.script_type <> 'op_return'

-- name: entity_spends
SELECT o.cohort, s.spend_height, s.spend_txid, o.height AS out_height, o.txid AS out_txid, o.vout AS out_vout,
       o.value_sat
FROM entity_outputs o JOIN spends s ON s.out_txid = o.txid AND s.out_vout = o.vout AND s.out_height = o.height

-- name: entity_tx_flows
-- Internal = least(in, to_c); outflow = what is left of in, at most what went to others;
-- inflow = to_c beyond in (coinbases included). A fee is not a flow.
WITH spent AS (
    SELECT cohort, spend_txid AS txid, min(spend_height) AS height, sum(value_sat) AS in_sat
    FROM entity_spends GROUP BY cohort, spend_txid),
to_c AS (
    SELECT cohort, txid, min(height) AS height, sum(value_sat) AS to_c_sat
    FROM entity_outputs GROUP BY cohort, txid),
spending_txs AS (SELECT DISTINCT spend_height, spend_txid FROM entity_spends),
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

-- name: entity_day_flows
SELECT f.cohort, d.epoch_day, sum(f.inflow_sat) AS inflow_sat, sum(f.outflow_sat) AS outflow_sat,
       sum(f.internal_sat) AS internal_sat,
       sum(CASE WHEN f.outflow_sat > 0 THEN 1 ELSE 0 END) AS outflow_tx_count,
       max(f.outflow_sat) AS largest_outflow_sat
FROM entity_tx_flows f JOIN day_of d ON d.height = f.height
GROUP BY f.cohort, d.epoch_day

-- name: entity_day_reserve
-- An output counts from its block until the block that spends it (not at all when both are one).
WITH events AS (
    SELECT o.cohort, o.height, o.value_sat AS delta_sat FROM entity_outputs o
    UNION ALL
    SELECT cohort, spend_height AS height, -value_sat AS delta_sat FROM entity_spends)
SELECT e.cohort, d.epoch_day, sum(e.delta_sat) AS delta_sat
FROM events e JOIN day_of d ON d.height = e.height
GROUP BY e.cohort, d.epoch_day

-- name: daily_entity_flows
-- Each entity on the UTC days its reserve or flows change, and only those: mainnet has millions of
-- entities (every early coinbase key never co-spent is one), so a row per entity and day with a
-- block would be billions. The reserve at a row's day's end holds until the entity's next row.
WITH keyed AS (
    SELECT cohort, epoch_day FROM entity_day_flows
    UNION
    SELECT cohort, epoch_day FROM entity_day_reserve),
r AS (
    SELECT k.cohort, k.epoch_day,
           sum(coalesce(rd.delta_sat, 0)) OVER (PARTITION BY k.cohort ORDER BY k.epoch_day
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reserve_sat
    FROM keyed k LEFT JOIN entity_day_reserve rd ON rd.cohort = k.cohort AND rd.epoch_day = k.epoch_day)
SELECT r.cohort, r.epoch_day, CAST(r.reserve_sat AS BIGINT) AS reserve_sat,
       CAST(coalesce(fd.inflow_sat, 0) AS BIGINT) AS inflow_sat,
       CAST(coalesce(fd.outflow_sat, 0) AS BIGINT) AS outflow_sat,
       CAST(coalesce(fd.internal_sat, 0) AS BIGINT) AS internal_sat,
       CAST(coalesce(fd.outflow_tx_count, 0) AS BIGINT) AS outflow_tx_count,
       CAST(coalesce(fd.largest_outflow_sat, 0) AS BIGINT) AS largest_outflow_sat
FROM r LEFT JOIN entity_day_flows fd ON fd.cohort = r.cohort AND fd.epoch_day = r.epoch_day
