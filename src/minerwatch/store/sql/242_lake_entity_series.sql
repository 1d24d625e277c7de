-- The miner entities as cohorts (lake/sql/entities.sql, flows.sql), loaded by `minerwatch lake
-- import` with the other lake_* tables: one row per entity with its cohort name, and each entity's
-- daily series on the days they change (the reserve holds from one row to the next).
CREATE TABLE lake_entity_cohorts (
    entity_id              BIGINT PRIMARY KEY,   -- lake_entities.entity_id
    cohort                 VARCHAR NOT NULL,     -- entity:<seed_height>.<seed_vout>
    seed_height            INTEGER NOT NULL,     -- the first coinbase output paid to one of its scripts
    seed_vout              INTEGER NOT NULL,
    seed_address           VARCHAR,              -- that output's address (pk:<hex> for a bare key)
    script_count           BIGINT NOT NULL,      -- scripts in the entity
    coinbase_script_count  BIGINT NOT NULL       -- of which a coinbase paid (0-hop scripts)
);

CREATE TABLE lake_daily_entity_flows (
    cohort               VARCHAR NOT NULL,    -- entity:<seed_height>.<seed_vout>
    day                  DATE NOT NULL,       -- UTC day on which the entity's reserve or flows change
    reserve_sat          BIGINT NOT NULL,     -- at the day's end; the columns of daily_miner_flows
    inflow_sat           BIGINT NOT NULL,
    outflow_sat          BIGINT NOT NULL,
    internal_sat         BIGINT NOT NULL,
    outflow_tx_count     BIGINT NOT NULL,
    largest_outflow_sat  BIGINT NOT NULL,
    PRIMARY KEY (cohort, day)
);
