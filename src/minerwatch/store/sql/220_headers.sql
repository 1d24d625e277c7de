-- Headers stored before (or without) their blocks: `sync --headers-file`, and `sync --rpc`, which
-- takes every header from the node first. The header-only series (difficulty, the hashrate
-- estimators, the retarget forecast, subsidy-only hashvalue) need nothing else, so they cover the
-- whole chain minutes after a sync starts, and on a pruned node the heights whose blocks are gone.
CREATE TABLE headers (
    height       INTEGER PRIMARY KEY,
    hash         VARCHAR NOT NULL,
    prev_hash    VARCHAR NOT NULL,
    time_s       BIGINT NOT NULL,      -- header time (miner-stated, unix seconds)
    version      BIGINT NOT NULL,
    bits         BIGINT NOT NULL,
    difficulty   DOUBLE NOT NULL,
    chainwork    HUGEINT NOT NULL,     -- cumulative expected hashes up to and including this header
    subsidy_sat  BIGINT NOT NULL       -- the protocol's subsidy at this height (no block needed)
);

-- What the metric refreshers read: a stored block's facts where there is one, the header's
-- elsewhere. Blocks are stored without gaps, so "no block" is "outside [first, last] block height".
-- The columns only a block has (coinbase value, fees, unclaimed reward) are NULL on header rows,
-- and every sum over them is NULL where a header row falls in its window: a gap, never a zero.
CREATE VIEW chain_facts AS
SELECT height, hash, prev_hash, time_s, bits, difficulty, chainwork, subsidy_sat,
       coinbase_value_sat, fees_sat, unclaimed_sat
FROM blocks
UNION ALL
SELECT height, hash, prev_hash, time_s, bits, difficulty, chainwork, subsidy_sat,
       NULL, NULL, NULL
FROM headers
WHERE height < coalesce((SELECT min(height) FROM blocks), 2147483647)
   OR height > coalesce((SELECT max(height) FROM blocks), -1);

-- Figures that need a block's coinbase are NULL at heights known from their header alone.
ALTER TABLE block_network ALTER COLUMN revenue_24h_sat DROP NOT NULL;
ALTER TABLE block_network ALTER COLUMN fees_sma144_sat DROP NOT NULL;
ALTER TABLE block_network ALTER COLUMN hashvalue_btc_per_ph_day DROP NOT NULL;
ALTER TABLE block_network ALTER COLUMN hashvalue_brk_btc_per_ph_day DROP NOT NULL;
ALTER TABLE daily_network ALTER COLUMN fees_sat DROP NOT NULL;
ALTER TABLE daily_network ALTER COLUMN unclaimed_sat DROP NOT NULL;
ALTER TABLE daily_network ALTER COLUMN revenue_sat DROP NOT NULL;
ALTER TABLE daily_network ALTER COLUMN hashvalue_btc_per_ph_day DROP NOT NULL;
ALTER TABLE daily_network ALTER COLUMN hashvalue_brk_btc_per_ph_day DROP NOT NULL;
ALTER TABLE daily_network ALTER COLUMN hashvalue_cm_btc_per_ph_day DROP NOT NULL;

-- The Hashrate Index formula with the subsidy alone (no fees): what headers give by themselves.
ALTER TABLE block_network ADD COLUMN hashvalue_subsidy_btc_per_ph_day DOUBLE;
ALTER TABLE block_network ADD COLUMN hashprice_subsidy_usd_per_ph_day DOUBLE;
ALTER TABLE daily_network ADD COLUMN hashvalue_subsidy_btc_per_ph_day DOUBLE;
ALTER TABLE daily_network ADD COLUMN hashprice_subsidy_usd_per_ph_day DOUBLE;

-- Rows computed before this migration get the new columns from the stored blocks and prices.
UPDATE block_network n
SET hashvalue_subsidy_btc_per_ph_day = b.subsidy_sat / 1e8 * 86400.0 * 1e15 / (b.difficulty * 4294967296.0)
FROM blocks b WHERE b.height = n.height;
UPDATE block_network n SET hashprice_subsidy_usd_per_ph_day = n.hashvalue_subsidy_btc_per_ph_day * p.price_usd
FROM prices p WHERE p.date = n.day;
UPDATE daily_network d
SET hashvalue_subsidy_btc_per_ph_day = n.hashvalue_subsidy_btc_per_ph_day,
    hashprice_subsidy_usd_per_ph_day = n.hashprice_subsidy_usd_per_ph_day
FROM block_network n WHERE n.height = d.last_height;
