-- The pool that mined each block, per mempool.space's pool list (pools-v2.json) of `pools_version`.
CREATE TABLE block_pools (
    height         INTEGER PRIMARY KEY,
    pool_slug      VARCHAR NOT NULL,          -- 'unknown' when neither address nor tag matched
    pool_name      VARCHAR NOT NULL,
    matched_by     VARCHAR,                   -- 'address' | 'tag'; NULL when unknown
    tag_slug       VARCHAR,                   -- the pool the coinbase tag names, if any
    address_slug   VARCHAR,                   -- the pool the payout address belongs to, if any
    conflict       BOOLEAN NOT NULL,          -- tag and address name different pools
    pool_id        INTEGER,                   -- the list's id of the attributed pool (stable across renames)
    pools_version  VARCHAR NOT NULL
);

-- Every pool list the database has used; the active one attributes new blocks.
CREATE TABLE pool_lists (
    version     VARCHAR PRIMARY KEY,          -- pools.PoolList.version ('pools-v2@<sha256 prefix>')
    source      VARCHAR NOT NULL,             -- file it came from ('shipped' for the packaged list)
    loaded_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    active      BOOLEAN NOT NULL,
    list_json   VARCHAR NOT NULL              -- the file's bytes, to diff against the next list
);
