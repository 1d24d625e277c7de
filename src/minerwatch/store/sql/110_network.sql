-- Network economics per block: the figures whose definition is per block (BRK's trailing 24 h,
-- Core's getnetworkhashps, the Hashrate Index hashprice that changes every block).
CREATE TABLE block_network (
    height                        INTEGER PRIMARY KEY,
    day                           DATE NOT NULL,      -- UTC day of the header time
    clock_s                       BIGINT NOT NULL,    -- running maximum of header times (monotone)
    blocks_24h                    INTEGER NOT NULL,   -- blocks with clock in (clock − 86,400 s, clock]
    revenue_24h_sat               BIGINT NOT NULL,    -- coinbase value of those blocks
    hashrate_24h_ehs              DOUBLE NOT NULL,    -- BRK: blocks_24h / 144 × difficulty × 2^32 / 600
    hashrate_cw120_ehs            DOUBLE,             -- Core getnetworkhashps(120); NULL if no time elapsed
    fees_sma144_sat               DOUBLE NOT NULL,    -- mean fees of this and the 143 previous blocks
    hashvalue_btc_per_ph_day      DOUBLE NOT NULL,    -- Hashrate Index
    hashprice_usd_per_ph_day      DOUBLE,             -- Hashrate Index; NULL without a price that day
    hashvalue_brk_btc_per_ph_day  DOUBLE NOT NULL,    -- BRK: revenue_24h / hashrate_24h
    hashprice_brk_usd_per_ph_day  DOUBLE
);

-- Network economics per UTC day (days with at least one block).
CREATE TABLE daily_network (
    day                           DATE PRIMARY KEY,
    blocks                        INTEGER NOT NULL,
    first_height                  INTEGER NOT NULL,
    last_height                   INTEGER NOT NULL,   -- the day's close
    difficulty_mean               DOUBLE NOT NULL,
    difficulty_close              DOUBLE NOT NULL,
    subsidy_sat                   BIGINT NOT NULL,
    fees_sat                      BIGINT NOT NULL,
    unclaimed_sat                 BIGINT NOT NULL,
    revenue_sat                   BIGINT NOT NULL,    -- coinbase value: subsidy + fees − unclaimed
    price_usd                     DOUBLE,             -- NULL: no price that day
    hashrate_ehs                  DOUBLE NOT NULL,    -- Coin Metrics: blocks / 144 × mean difficulty × 2^32 / 600
    blocks_7d                     INTEGER,
    hashrate_7d_ehs               DOUBLE,             -- NULL until the window is full
    blocks_30d                    INTEGER,
    hashrate_30d_ehs              DOUBLE,
    blocks_60d                    INTEGER,
    hashrate_60d_ehs              DOUBLE,
    hashrate_24h_close_ehs        DOUBLE NOT NULL,    -- BRK, at the day's last block
    hashrate_cw120_close_ehs      DOUBLE,             -- Core getnetworkhashps(120), at the day's last block
    hashvalue_btc_per_ph_day      DOUBLE NOT NULL,    -- Hashrate Index, daily close
    hashprice_usd_per_ph_day      DOUBLE,
    hashvalue_brk_btc_per_ph_day  DOUBLE NOT NULL,    -- BRK, daily close
    hashprice_brk_usd_per_ph_day  DOUBLE,
    hashvalue_cm_btc_per_ph_day   DOUBLE NOT NULL,    -- Coin Metrics: revenue of the day / hashrate_ehs
    hashprice_cm_usd_per_ph_day   DOUBLE
);

-- Signals built on the daily table: ribbons, Puell, thermocap, price momentum.
CREATE TABLE daily_signals (
    day                           DATE PRIMARY KEY,
    difficulty_sma14              DOUBLE,
    difficulty_sma25              DOUBLE,
    difficulty_sma40              DOUBLE,
    difficulty_sma60              DOUBLE,
    difficulty_sma90              DOUBLE,
    difficulty_sma128             DOUBLE,
    difficulty_sma200             DOUBLE,
    difficulty_ribbon_compression DOUBLE,             -- stddev / mean of the seven averages
    price_sma10_usd               DOUBLE,
    price_sma20_usd               DOUBLE,
    puell_multiple                DOUBLE,             -- subsidy only (Glassnode, BRK)
    puell_multiple_with_fees      DOUBLE,
    thermocap_usd                 DOUBLE,             -- cumulative subsidy in USD (BRK)
    thermocap_with_fees_usd       DOUBLE              -- cumulative subsidy + fees in USD (Coin Metrics)
);
