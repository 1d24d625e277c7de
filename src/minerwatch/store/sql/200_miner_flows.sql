-- Daily miner reserve and flows for the two fixed cohorts ('0hop', '1hop'); pool and label
-- cohorts are computed on demand from the same base tables. Amounts in satoshis.
CREATE TABLE daily_miner_flows (
    day                  DATE NOT NULL,
    cohort               VARCHAR NOT NULL,
    reserve_sat          BIGINT NOT NULL,    -- balance of the cohort's tracked outputs at the day's end
    inflow_sat           BIGINT NOT NULL,    -- received from outside the cohort (coinbases included)
    outflow_sat          BIGINT NOT NULL,    -- sent to scripts outside the cohort
    internal_sat         BIGINT NOT NULL,    -- moved between the cohort's own scripts (not a flow)
    outflow_tx_count     INTEGER NOT NULL,   -- transactions with an outflow
    largest_outflow_sat  BIGINT NOT NULL,    -- the largest single transaction's outflow
    to_exchange_sat      BIGINT,             -- part of outflow paid to scripts labelled 'exchange'; NULL without labels
    pools_version        VARCHAR,
    labels_version       VARCHAR,
    PRIMARY KEY (day, cohort)
);

-- Reserve by the UTC year in which the held output was created (for an unmoved coinbase: mined).
CREATE TABLE daily_miner_reserve_era (
    day          DATE NOT NULL,
    cohort       VARCHAR NOT NULL,
    era_year     INTEGER NOT NULL,
    reserve_sat  BIGINT NOT NULL,
    PRIMARY KEY (day, cohort, era_year)
);

-- User label sets: address/script → entity and category (e.g. exchange). Each import is a version.
CREATE TABLE labels (
    label_set   VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,
    script_id   BIGINT NOT NULL,
    address     VARCHAR NOT NULL,
    entity      VARCHAR NOT NULL,
    category    VARCHAR NOT NULL,
    PRIMARY KEY (label_set, script_id)
);
