-- Miner entities from the lake's SQL (lake/sql/entities.sql), loaded by `minerwatch lake import` with
-- the other lake_* tables: scripts joined by common-input-ownership to a component holding a 0-hop script.
CREATE TABLE lake_entities (
    script_id        BIGINT PRIMARY KEY,
    entity_id        BIGINT NOT NULL,     -- the smallest script_id of the component
    zero_hop_height  INTEGER              -- NULL: in the entity through a co-spend only
);
