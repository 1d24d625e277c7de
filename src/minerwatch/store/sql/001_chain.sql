-- Chain facts and miner tracking. Amounts in integer satoshis; hashes as display-order hex.
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

CREATE TABLE blocks (
    height              INTEGER PRIMARY KEY,
    hash                VARCHAR NOT NULL UNIQUE,
    prev_hash           VARCHAR NOT NULL,
    time_s              BIGINT NOT NULL,      -- header time (miner-stated, unix seconds)
    median_time_past_s  BIGINT NOT NULL,      -- median of the last 11 header times (BIP113)
    version             BIGINT NOT NULL,
    bits                BIGINT NOT NULL,
    difficulty          DOUBLE NOT NULL,
    chainwork           HUGEINT NOT NULL,     -- cumulative expected hashes up to and including this block
    size_bytes          INTEGER NOT NULL,
    weight_wu           INTEGER NOT NULL,
    tx_count            INTEGER NOT NULL,
    input_count         INTEGER NOT NULL,     -- non-coinbase inputs
    output_count        INTEGER NOT NULL,
    segwit_tx_count     INTEGER NOT NULL,
    p2tr_output_count   INTEGER NOT NULL,
    coinbase_value_sat  BIGINT NOT NULL,      -- sum of the coinbase transaction's outputs
    subsidy_sat         BIGINT NOT NULL,      -- what the protocol allowed as new coins at this height
    fees_sat            BIGINT NOT NULL,      -- greatest(coinbase value − subsidy, 0): fees the miner claimed
    unclaimed_sat       BIGINT NOT NULL,      -- greatest(subsidy − coinbase value, 0): reward left on the table
    coinbase_tag        VARCHAR NOT NULL,     -- coinbase scriptSig as printable text
    coinbase_script_hex VARCHAR NOT NULL
);

-- Every output of every coinbase: who the block paid.
CREATE TABLE coinbase_outputs (
    height       INTEGER NOT NULL,
    vout         INTEGER NOT NULL,
    value_sat    BIGINT NOT NULL,
    script_type  VARCHAR NOT NULL,            -- p2pk, p2pkh, p2sh, p2wpkh, p2wsh, p2tr, multisig, op_return, …
    script_id    BIGINT NOT NULL,             -- minerwatch.chain.script.script_id
    address      VARCHAR,                     -- NULL where the script has no address form (P2PK, multisig, …)
    PRIMARY KEY (height, vout)
);

-- Scripts in the miner cohorts. 0-hop: received a coinbase output (from zero_hop_height).
-- 1-hop: received value in a transaction that spent a 0-hop output (from one_hop_height).
CREATE TABLE miner_scripts (
    script_id        BIGINT PRIMARY KEY,
    script_type      VARCHAR NOT NULL,
    address          VARCHAR,                 -- address, or 'pk:<hex>' for bare public keys, NULL otherwise
    zero_hop_height  INTEGER,                 -- first height it received a coinbase output
    one_hop_height   INTEGER,                 -- first height it received from a 0-hop script
    parent_script_id BIGINT                   -- for 1-hop: the 0-hop script that first paid it
);

-- Every output paid to a cohort script once it was a member: the reserve is what is unspent.
CREATE TABLE miner_outputs (
    txid          VARCHAR NOT NULL,
    vout          INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    tx_index      INTEGER NOT NULL,           -- position of the transaction in its block
    value_sat     BIGINT NOT NULL,
    script_id     BIGINT NOT NULL,
    is_coinbase   BOOLEAN NOT NULL,
    spent_height  INTEGER,                    -- NULL while unspent
    spent_txid    VARCHAR,
    PRIMARY KEY (txid, vout)
);

-- Every output of every transaction that spent a miner_outputs row: where miners' coins went.
CREATE TABLE miner_spend_outputs (
    txid         VARCHAR NOT NULL,
    vout         INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    tx_index     INTEGER NOT NULL,
    value_sat    BIGINT NOT NULL,
    script_id    BIGINT NOT NULL,
    script_type  VARCHAR NOT NULL,
    PRIMARY KEY (txid, vout)
);

-- The owner payload of each cohort script (public key, hash or script), to rebuild state and addresses.
CREATE TABLE miner_script_payloads (
    script_id    BIGINT PRIMARY KEY,
    payload_hex  VARCHAR NOT NULL
);
