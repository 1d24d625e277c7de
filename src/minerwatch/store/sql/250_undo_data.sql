-- What a sync from the node's undo files (blocks/rev*.dat) needs beside the cohort tables.
--
-- With undo data each input brings the output it spent (script, value, creation height), so the
-- tracker decides a spend from the script's membership and heights alone instead of holding every
-- unspent cohort output in memory. One case takes more than heights: an output paid to a script in
-- the block where the script joined 1-hop, by a transaction before the joining one, was never
-- tracked. Those outputs are kept here (a few per join block) so that their spend is decided
-- right after a restart too. ingest/tracker.py has the rule.
CREATE TABLE miner_prejoin_outputs (
    txid        VARCHAR NOT NULL,
    vout        INTEGER NOT NULL,
    height      INTEGER NOT NULL,   -- the join block that created it
    script_id   BIGINT NOT NULL
);

-- A database whose cohorts were tracked before this table existed lacks the rows of its earlier
-- join blocks: it keeps deciding spends from its stored unspent outputs (the ingest reads this
-- mark). A database with no 1-hop member yet is complete from the start.
INSERT INTO meta (key, value)
SELECT 'prejoin_complete_from_height', CAST(tip + 1 AS VARCHAR) FROM (SELECT max(height) AS tip FROM blocks)
WHERE EXISTS (SELECT 1 FROM miner_scripts WHERE one_hop_height IS NOT NULL);

-- The true fees of a block (the inputs' values minus the outputs', coinbase excluded), known when
-- its undo data was read; NULL otherwise. fees_sat stays what the miner claimed above the subsidy.
ALTER TABLE blocks ADD COLUMN fees_paid_sat BIGINT;
