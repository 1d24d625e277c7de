-- Miner flows maintained block by block, for every cohort: 0hop and 1hop, each pool's
-- ('pool:<slug>') and each labelled entity's ('label:<entity>'). Amounts in satoshis.
--
-- A block's contribution depends only on blocks at or below it, so a new block (or a reorg's new
-- branch) adds rows for its own height and the UTC days it touches are re-added from these rows,
-- with the reserve carried forward from the day before: the cost of a block does not grow with
-- the stored history (docs/architecture.md, "Miner flows, block by block").

-- Per block and cohort: the sums of the per-transaction flows of the block's transactions
-- (rows only where the cohort has a transaction in the block).
CREATE TABLE miner_block_flows (
    height               INTEGER NOT NULL,
    day                  DATE NOT NULL,       -- UTC day of the block's header time
    cohort               VARCHAR NOT NULL,
    inflow_sat           BIGINT NOT NULL,
    outflow_sat          BIGINT NOT NULL,
    internal_sat         BIGINT NOT NULL,
    outflow_tx_count     INTEGER NOT NULL,
    largest_outflow_sat  BIGINT NOT NULL,
    to_exchange_sat      BIGINT NOT NULL      -- 0 without exchange labels (the daily row says NULL)
);

-- Per block, cohort and era (UTC year the held output was created): the change of the reserve
-- (rows only where it is not 0).
CREATE TABLE miner_block_reserve (
    height       INTEGER NOT NULL,
    day          DATE NOT NULL,
    cohort       VARCHAR NOT NULL,
    era_year     INTEGER NOT NULL,
    delta_sat    BIGINT NOT NULL
);

-- The outputs a block spends are found through this index (an index scan of a few hundred keys)
-- instead of a scan of every cohort output ever stored. DuckDB moves a row whose indexed column
-- is updated to the end of the table, so spent outputs also lie in spend order.
CREATE INDEX miner_outputs_spent_height ON miner_outputs (spent_height);

-- daily_miner_flows and daily_miner_reserve_era now also hold the pool and label cohorts: a row on
-- every day with a block from the cohort's first flow or reserve change on (0hop and 1hop: every
-- day with a block). A day without a row before that is all zeros.

-- A database made before this migration has none of these rows: its next sync refreshes the
-- tip's block again, and the miner-flow refresher, finding no mark of its own
-- (meta miner_flows_through_height), computes its tables from height 0 once.
UPDATE meta SET value = CAST(CAST(value AS BIGINT) - 1 AS VARCHAR)
WHERE key = 'metrics_through_height' AND CAST(value AS BIGINT) >= 0;
