-- True fees per UTC day beside the claimed ones: what the day's transactions paid, Σ (inputs −
-- outputs) of blocks.fees_paid_sat (migration 250), known where the sync read the node's undo data.
-- A miner may claim less than its block's transactions paid (the rest is destroyed), never more;
-- fees_sat stays the claim, which is what hashprice counts (what a miner received).
CREATE OR REPLACE VIEW chain_facts AS
SELECT height, hash, prev_hash, time_s, bits, difficulty, chainwork, subsidy_sat,
       coinbase_value_sat, fees_sat, unclaimed_sat, fees_paid_sat
FROM blocks
UNION ALL
SELECT height, hash, prev_hash, time_s, bits, difficulty, chainwork, subsidy_sat,
       NULL, NULL, NULL, NULL
FROM headers
WHERE height < coalesce((SELECT min(height) FROM blocks), 2147483647)
   OR height > coalesce((SELECT max(height) FROM blocks), -1);

-- NULL on a day with a block whose true fees are unknown (read without undo data, or a header only).
ALTER TABLE daily_network ADD COLUMN fees_paid_sat BIGINT;

UPDATE daily_network d SET fees_paid_sat = t.fees_paid_sat
FROM (SELECT DATE '1970-01-01' + CAST(time_s // 86400 AS INTEGER) AS day,
             CASE WHEN count(fees_paid_sat) = count(*) THEN sum(fees_paid_sat) END AS fees_paid_sat
      FROM chain_facts GROUP BY 1) t
WHERE t.day = d.day;
