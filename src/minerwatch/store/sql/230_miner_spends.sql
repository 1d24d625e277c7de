-- The spends of cohort outputs move out of miner_outputs into a table of their own, so that both
-- tables are only ever appended to (and deleted from at the top on a reorg), never updated.
--
-- Marking an output spent in place cost more the more outputs were stored: DuckDB answers
-- `UPDATE miner_outputs … FROM spends` with a join that reads every row, the spent_height index
-- turned each update into a delete and an insert of the whole row, and INSERT OR REPLACE (for the
-- two coinbases that repeat an earlier txid) checked every new row the same way. With the demo's
-- miner tables grown ×30 (9.8 M outputs) that was 0.2–0.9 s per statement per block; an append is
-- a few milliseconds at any size (docs/benchmarks.md, "Following the tip").

-- One row per spent cohort output: the spending block and transaction, and the output's own
-- height, value and script (copied when it is spent), so that the outputs a block spends are read
-- from this table alone, by height: it is appended in height order, so DuckDB's min/max statistics
-- skip every row group but the last few.
CREATE TABLE miner_spends (
    txid         VARCHAR NOT NULL,   -- the spent output (miner_outputs' key)
    vout         INTEGER NOT NULL,
    height       INTEGER NOT NULL,   -- the block that spent it
    spent_txid   VARCHAR NOT NULL,   -- the transaction that spent it
    out_height   INTEGER NOT NULL,   -- the block that created it
    value_sat    BIGINT NOT NULL,
    script_id    BIGINT NOT NULL
);

INSERT INTO miner_spends
SELECT txid, vout, spent_height, spent_txid, height, value_sat, script_id
FROM miner_outputs WHERE spent_height IS NOT NULL
ORDER BY spent_height, spent_txid, txid, vout;

-- miner_outputs without the spend columns. (DuckDB will not drop a column that had an index in
-- the same transaction, so the table is copied, in its height order.)
CREATE TABLE miner_outputs_230 (
    txid          VARCHAR NOT NULL,
    vout          INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    tx_index      INTEGER NOT NULL,           -- position of the transaction in its block
    value_sat     BIGINT NOT NULL,
    script_id     BIGINT NOT NULL,
    is_coinbase   BOOLEAN NOT NULL,
    PRIMARY KEY (txid, vout)
);
INSERT INTO miner_outputs_230
SELECT txid, vout, height, tx_index, value_sat, script_id, is_coinbase FROM miner_outputs
ORDER BY height, tx_index, vout;
DROP TABLE miner_outputs;
ALTER TABLE miner_outputs_230 RENAME TO miner_outputs;
