-- Results of the lake's cohort SQL (minerwatch lake cohorts|spark), loaded by `minerwatch lake import
-- RESULTS`: computed from the whole chain as Parquet, on DuckDB or on a Spark cluster, beside the
-- tracker's own series. An import replaces all four tables in one transaction.

CREATE TABLE lake_daily_cohort_flows (
    day                  DATE NOT NULL,       -- UTC day with a block
    cohort               VARCHAR NOT NULL,    -- 0hop, 1hop
    reserve_sat          BIGINT NOT NULL,     -- the columns of daily_miner_flows, same meaning
    inflow_sat           BIGINT NOT NULL,
    outflow_sat          BIGINT NOT NULL,
    internal_sat         BIGINT NOT NULL,
    outflow_tx_count     BIGINT NOT NULL,
    largest_outflow_sat  BIGINT NOT NULL,
    PRIMARY KEY (day, cohort)
);

CREATE TABLE lake_block_fees (
    height              INTEGER PRIMARY KEY,
    fees_sat            BIGINT NOT NULL,      -- true fees: the block's inputs − its outputs, coinbase aside
    fees_claimed_sat    BIGINT NOT NULL,      -- greatest(coinbase − subsidy, 0)
    unclaimed_sat       BIGINT NOT NULL,
    coinbase_value_sat  BIGINT NOT NULL,
    subsidy_sat         BIGINT NOT NULL
);

CREATE TABLE lake_members (
    script_id        BIGINT PRIMARY KEY,
    zero_hop_height  INTEGER,
    one_hop_height   INTEGER,                 -- only when it was 1-hop before any 0-hop height
    member_height    INTEGER NOT NULL         -- first height in either cohort
);

-- What the imported results were computed from (one row).
CREATE TABLE lake_import (
    engine              VARCHAR NOT NULL,     -- duckdb or spark
    network             VARCHAR NOT NULL,
    lake_tip_height     INTEGER NOT NULL,
    lake_tip_hash       VARCHAR NOT NULL,
    minerwatch_version  VARCHAR NOT NULL,     -- of the job that computed them
    imported_at         TIMESTAMP NOT NULL
);
