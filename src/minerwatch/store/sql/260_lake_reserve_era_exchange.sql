-- The lake's reserve by era and the part of the outflow paid to exchanges, which `minerwatch lake
-- import` loads since the entities are cohorts of flows.sql like the others: the columns and tables
-- of daily_miner_flows and daily_miner_reserve_era the lake_* tables lacked, and each entity's latest
-- reserve, so that listing the entities does not read every entity-day row. Numbered after 250: a
-- database is migrated by the migrations above its schema version.

-- NULL when the results' label set marks no script 'exchange' (as daily_miner_flows.to_exchange_sat).
ALTER TABLE lake_daily_cohort_flows ADD COLUMN to_exchange_sat BIGINT;
ALTER TABLE lake_daily_entity_flows ADD COLUMN to_exchange_sat BIGINT;

-- Every cohort but the entities: the rows of daily_miner_reserve_era (those that hold something).
CREATE TABLE lake_daily_cohort_reserve_era (
    day          DATE NOT NULL,        -- UTC day with a block
    cohort       VARCHAR NOT NULL,     -- 0hop, 1hop, pool:<slug>, label:<entity>
    era_year     INTEGER NOT NULL,     -- the UTC year the held outputs were created in
    reserve_sat  BIGINT NOT NULL,      -- at the day's end
    PRIMARY KEY (day, cohort, era_year)
);

-- The entities: only the days an (entity, era) changes; a row holds until the pair's next (0 included).
CREATE TABLE lake_daily_entity_reserve_era (
    cohort       VARCHAR NOT NULL,     -- entity:<seed_height>.<seed_vout>
    era_year     INTEGER NOT NULL,
    day          DATE NOT NULL,
    reserve_sat  BIGINT NOT NULL,
    PRIMARY KEY (cohort, era_year, day)
);

-- The reserve at the end of the entity's last row of lake_daily_entity_flows, and that day (NULL:
-- no row), written by the import in its transaction; filled here for results imported before.
ALTER TABLE lake_entity_cohorts ADD COLUMN reserve_sat BIGINT;
ALTER TABLE lake_entity_cohorts ADD COLUMN reserve_day DATE;
UPDATE lake_entity_cohorts c SET reserve_sat = n.reserve_sat, reserve_day = n.day
FROM (SELECT cohort, arg_max(reserve_sat, day) AS reserve_sat, max(day) AS day
      FROM lake_daily_entity_flows GROUP BY cohort) n
WHERE n.cohort = c.cohort;
