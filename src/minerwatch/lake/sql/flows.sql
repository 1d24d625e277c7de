-- The daily series of every cohort by one set of rules: 0hop, 1hop, pool:<slug>, label:<entity>
-- (cohort_members, cohorts.sql) and the miner entities entity:<height>.<vout> (entities.sql). Per
-- transaction, what it spends of the cohort (in), pays back to it (to_c) and pays to others; the
-- reserve, each coin the cohort holds from the height it counts from until spent. The one difference
-- between the kinds is where a coin starts to count (cohort_outputs). One text for DuckDB and Spark
-- SQL (the header of cohorts.sql says what both read alike). Definitions: docs/metrics.md, "Miner
-- cohorts" and "Miner entities"; docs/lake.md.

-- name: cohort_outputs
-- Each output a cohort holds, the height it counts from (from_height) and the input that spends it
-- (NULL while unspent). A member's tracked output counts from max(created, joined), as the tracker
-- counts it. An entity owns every coin of its scripts from their first: the clustering is of the
-- whole lake, so the co-spend that joined a script may come after its coins — where 0hop and 1hop
-- count a member's coins only from its join. One row per (cohort, output) and a spend is one input,
-- so the spend rides on the output's row: every reader of a spend also needs its from_height.
WITH held AS (
    SELECT m.cohort, o.height, o.txid, o.vout, o.value_sat, o.script_id,
           greatest(o.height, m.join_height) AS from_height
    FROM tracked_outputs o JOIN cohort_members m ON m.script_id = o.script_id
    UNION ALL
    SELECT c.cohort, o.height, o.txid, o.vout, o.value_sat, o.script_id, o.height AS from_height
    FROM outputs o JOIN entities e ON e.script_id = o.script_id JOIN entity_cohorts c ON c.entity_id = e.entity_id
    WHERE o.value_sat > 0 AND o.script_type <> 'op_return')
SELECT h.cohort, h.height, h.txid, h.vout, h.value_sat, h.script_id, h.from_height, s.spend_height, s.spend_txid
FROM held h LEFT JOIN spends s ON s.out_txid = h.txid AND s.out_vout = h.vout AND s.out_height = h.height

-- name: cohort_tx_flows
-- Per cohort and transaction: internal = least(in, to_c); outflow = what is left of in, at most what
-- went to others; inflow = to_c beyond in (coinbases included). A fee is not a flow. To exchanges:
-- the part of the outflow paid to scripts labelled 'exchange' that the cohort does not hold by then.
-- Each part is the rule the tracker's tables follow (tests/test_lake_cohorts.py holds them equal):
--  in: a spend counts once the cohort holds the coin; from_height <= spend_height is join_height <=
--    spend_height, as a coin is never spent below the height it was created at.
--  to_c: an output counts when the cohort holds its script at its height; from_height = height is
--    join_height <= height (an entity's outputs: always).
--  exchange: every exchange-labelled output of a transaction that spends some cohort's coin, less the
--    cohort's own exchange-labelled ones — those of to_c, the same outputs. When the cohort spent in
--    the transaction the first includes the second (>= 0); when it spent nothing its outflow is 0,
--    so is its part to exchanges (greatest(…, 0) keeps a transaction outside spending_txs from
--    going below 0).
WITH exchange_scripts AS (SELECT DISTINCT script_id FROM labels WHERE category = 'exchange'),
spent AS (
    SELECT cohort, spend_txid AS txid, min(spend_height) AS height, sum(value_sat) AS in_sat
    FROM cohort_outputs WHERE spend_height >= from_height
    GROUP BY cohort, spend_txid),
to_c AS (
    SELECT o.cohort, o.txid, min(o.height) AS height, sum(o.value_sat) AS to_c_sat,
           sum(CASE WHEN x.script_id IS NULL THEN 0 ELSE o.value_sat END) AS to_c_exchange_sat
    FROM cohort_outputs o LEFT JOIN exchange_scripts x ON x.script_id = o.script_id
    WHERE o.from_height = o.height
    GROUP BY o.cohort, o.txid),
spending_txs AS (SELECT DISTINCT height, txid FROM spent),
tot AS (
    SELECT o.txid, sum(o.value_sat) AS out_sat,
           sum(CASE WHEN x.script_id IS NULL THEN 0 ELSE o.value_sat END) AS exchange_sat
    FROM outputs o JOIN spending_txs t ON o.height = t.height AND o.txid = t.txid
    LEFT JOIN exchange_scripts x ON x.script_id = o.script_id
    GROUP BY o.txid),
tx AS (
    SELECT coalesce(s.cohort, c.cohort) AS cohort, coalesce(s.txid, c.txid) AS txid,
           coalesce(s.height, c.height) AS height, coalesce(s.in_sat, 0) AS in_sat,
           coalesce(c.to_c_sat, 0) AS to_c_sat,
           greatest(coalesce(t.out_sat, 0) - coalesce(c.to_c_sat, 0), 0) AS to_other_sat,
           greatest(coalesce(t.exchange_sat, 0) - coalesce(c.to_c_exchange_sat, 0), 0) AS ex_sat
    FROM spent s FULL JOIN to_c c ON s.cohort = c.cohort AND s.txid = c.txid
    LEFT JOIN tot t ON t.txid = coalesce(s.txid, c.txid)),
f AS (
    SELECT cohort, txid, height, ex_sat, least(in_sat, to_c_sat) AS internal_sat,
           least(in_sat - least(in_sat, to_c_sat), to_other_sat) AS outflow_sat,
           to_c_sat - least(in_sat, to_c_sat) AS inflow_sat
    FROM tx)
SELECT cohort, txid, height, internal_sat, outflow_sat, inflow_sat, least(ex_sat, outflow_sat) AS to_exchange_sat
FROM f

-- name: cohort_day_flows
-- The flows of each cohort per UTC day on which it has a transaction.
SELECT f.cohort, d.epoch_day, sum(f.inflow_sat) AS inflow_sat, sum(f.outflow_sat) AS outflow_sat,
       sum(f.internal_sat) AS internal_sat,
       sum(CASE WHEN f.outflow_sat > 0 THEN 1 ELSE 0 END) AS outflow_tx_count,
       max(f.outflow_sat) AS largest_outflow_sat, sum(f.to_exchange_sat) AS to_exchange_sat
FROM cohort_tx_flows f JOIN day_of d ON d.height = f.height
GROUP BY f.cohort, d.epoch_day

-- name: cohort_day_reserve
-- The change of each cohort's reserve per era (the UTC year of the block that created the coin) and
-- UTC day: a coin counts from its from_height until the block that spends it; one spent at or below
-- its from_height never counts (for an entity's coin: created and spent in one block).
WITH held AS (
    SELECT cohort, height, from_height, spend_height, value_sat FROM cohort_outputs
    WHERE spend_height IS NULL OR spend_height > from_height),
events AS (
    SELECT cohort, height AS out_height, from_height AS height, value_sat AS delta_sat FROM held
    UNION ALL
    SELECT cohort, height AS out_height, spend_height AS height, -value_sat AS delta_sat FROM held
    WHERE spend_height IS NOT NULL)
SELECT e.cohort, y.era_year, d.epoch_day, sum(e.delta_sat) AS delta_sat
FROM events e JOIN block_era y ON y.height = e.out_height JOIN day_of d ON d.height = e.height
GROUP BY e.cohort, y.era_year, d.epoch_day

-- name: daily_cohort_flows
-- Every cohort but the entities on every UTC day with a block from its first: the reserve at the
-- day's end and the day's flows, as the single-machine daily_miner_flows. 0hop and 1hop start on the
-- first day with a block, a pool's or a label's on the first day its flows or reserve change (the
-- days before are zeros). to_exchange_sat is 0 while the label set marks no exchange (the
-- single-machine series says null then, and so does `lake import`; a cross join with that fact made
-- Spark's plan stall).
WITH starts AS (
    SELECT cohort, min(epoch_day) AS start_day FROM (
        SELECT cohort, epoch_day FROM cohort_day_flows WHERE cohort NOT LIKE 'entity:%'
        UNION ALL
        SELECT cohort, epoch_day FROM cohort_day_reserve WHERE cohort NOT LIKE 'entity:%'
        UNION ALL
        SELECT '0hop' AS cohort, epoch_day FROM day_of
        UNION ALL
        SELECT '1hop' AS cohort, epoch_day FROM day_of) u
    GROUP BY cohort),
days AS (SELECT DISTINCT epoch_day FROM day_of),
grid AS (SELECT c.cohort, d.epoch_day FROM starts c JOIN days d ON d.epoch_day >= c.start_day),
rd AS (
    SELECT cohort, epoch_day, sum(delta_sat) AS delta_sat FROM cohort_day_reserve
    WHERE cohort NOT LIKE 'entity:%' GROUP BY cohort, epoch_day),
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
FROM r LEFT JOIN cohort_day_flows fd ON fd.cohort = r.cohort AND fd.epoch_day = r.epoch_day

-- name: daily_cohort_reserve_era
-- The reserve at each day's end split by era, every cohort but the entities; only the (cohort, era,
-- day) rows that hold something, as the single-machine daily_miner_reserve_era.
WITH days AS (SELECT DISTINCT epoch_day FROM day_of),
rd AS (SELECT cohort, era_year, epoch_day, delta_sat FROM cohort_day_reserve WHERE cohort NOT LIKE 'entity:%'),
pairs AS (SELECT cohort, era_year, min(epoch_day) AS start_day FROM rd GROUP BY cohort, era_year),
r AS (
    SELECT p.cohort, p.era_year, d.epoch_day,
           sum(coalesce(rd.delta_sat, 0)) OVER (PARTITION BY p.cohort, p.era_year ORDER BY d.epoch_day
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reserve_sat
    FROM pairs p JOIN days d ON d.epoch_day >= p.start_day
    LEFT JOIN rd ON rd.cohort = p.cohort AND rd.era_year = p.era_year AND rd.epoch_day = d.epoch_day)
SELECT cohort, era_year, epoch_day, CAST(reserve_sat AS BIGINT) AS reserve_sat FROM r WHERE reserve_sat <> 0

-- name: daily_entity_flows
-- Each entity on the UTC days its reserve or flows change, and only those: mainnet has millions of
-- entities (every early coinbase key never co-spent is one), so a row per entity and day with a
-- block would be billions. The reserve at a row's day's end holds until the entity's next row.
-- Every change of an entity's reserve is at a transaction with a row in cohort_tx_flows (its coin
-- counts from the transaction that pays it until the one that spends it), so the days of
-- cohort_day_flows are all its days.
WITH rd AS (
    SELECT cohort, epoch_day, sum(delta_sat) AS delta_sat FROM cohort_day_reserve
    WHERE cohort LIKE 'entity:%' GROUP BY cohort, epoch_day),
r AS (
    SELECT f.*, sum(coalesce(rd.delta_sat, 0)) OVER (PARTITION BY f.cohort ORDER BY f.epoch_day
                                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reserve_sat
    FROM cohort_day_flows f LEFT JOIN rd ON rd.cohort = f.cohort AND rd.epoch_day = f.epoch_day
    WHERE f.cohort LIKE 'entity:%')
SELECT cohort, epoch_day, CAST(reserve_sat AS BIGINT) AS reserve_sat, CAST(inflow_sat AS BIGINT) AS inflow_sat,
       CAST(outflow_sat AS BIGINT) AS outflow_sat, CAST(internal_sat AS BIGINT) AS internal_sat,
       CAST(outflow_tx_count AS BIGINT) AS outflow_tx_count,
       CAST(largest_outflow_sat AS BIGINT) AS largest_outflow_sat, CAST(to_exchange_sat AS BIGINT) AS to_exchange_sat
FROM r

-- name: daily_entity_reserve_era
-- Each entity's reserve by era at the end of the UTC days on which it changes, and only those (as
-- daily_entity_flows, for the same reason): the row holds until the (entity, era)'s next one, which
-- may say 0. daily_cohort_reserve_era has the other cohorts on every day with a block.
SELECT cohort, era_year, epoch_day,
       CAST(sum(delta_sat) OVER (PARTITION BY cohort, era_year ORDER BY epoch_day
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS reserve_sat
FROM cohort_day_reserve WHERE cohort LIKE 'entity:%' AND delta_sat <> 0
