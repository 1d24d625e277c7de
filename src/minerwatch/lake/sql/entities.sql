-- Miner entities by the common-input-ownership heuristic: scripts whose coins one transaction spends
-- together belong to one owner; the connected components of that relation that hold a 0-hop script
-- are the miner entities (a 0-hop script never co-spent is an entity of its own). Reads `spends`
-- and `zero_hop` of cohorts.sql. `entity_pass` reads `entity_labels` and gives the next one
-- (minerwatch/lake/cohorts.py repeats it until no label changes): each script takes the smallest
-- label among the transactions it was co-spent in, each transaction the smallest among its
-- scripts, so a component ends labelled with its smallest script_id — the entity's id.

-- name: cospends
-- (transaction, script) for every transaction that spends the coins of two scripts or more.
WITH per_tx AS (SELECT DISTINCT spend_height, spend_txid, script_id FROM spends),
multi AS (
    SELECT spend_height, spend_txid FROM per_tx GROUP BY spend_height, spend_txid HAVING count(*) > 1)
SELECT p.spend_height, p.spend_txid, p.script_id
FROM per_tx p JOIN multi m ON m.spend_height = p.spend_height AND m.spend_txid = p.spend_txid

-- name: entity_labels
SELECT DISTINCT script_id, script_id AS label FROM cospends

-- name: entity_pass
WITH tx_label AS (
    SELECT c.spend_height, c.spend_txid, min(l.label) AS label
    FROM cospends c JOIN entity_labels l ON l.script_id = c.script_id
    GROUP BY c.spend_height, c.spend_txid)
SELECT c.script_id, min(t.label) AS label
FROM cospends c JOIN tx_label t ON t.spend_height = c.spend_height AND t.spend_txid = c.spend_txid
GROUP BY c.script_id

-- name: entities
-- script_id, entity_id (the smallest script_id of its component), zero_hop_height (NULL: joined by a co-spend).
WITH seeded AS (
    SELECT DISTINCT l.label FROM entity_labels l JOIN zero_hop z ON z.script_id = l.script_id)
SELECT l.script_id, l.label AS entity_id, z.zero_hop_height
FROM entity_labels l JOIN seeded s ON s.label = l.label LEFT JOIN zero_hop z ON z.script_id = l.script_id
UNION ALL
SELECT z.script_id, z.script_id AS entity_id, z.zero_hop_height
FROM zero_hop z LEFT JOIN entity_labels l ON l.script_id = z.script_id
WHERE l.script_id IS NULL

-- name: entity_cohorts
-- One row per entity: its cohort name, entity:<height>.<vout> of its seed — the first coinbase output
-- (lowest height, then vout) paid to one of its scripts — with that output's address, and its size.
-- The seed names an entity in words a reader can check on any block explorer, and it stays the same
-- as the lake grows unless a co-spend merges the entity into one with an earlier seed.
WITH paid AS (
    SELECT e.entity_id, c.height, c.vout, c.address,
           row_number() OVER (PARTITION BY e.entity_id ORDER BY c.height, c.vout) AS rn
    FROM entities e JOIN coinbase_payouts c ON c.script_id = e.script_id
    WHERE c.value_sat > 0 AND c.script_type <> 'op_return'),
sizes AS (
    SELECT entity_id, count(*) AS script_count, count(zero_hop_height) AS coinbase_script_count
    FROM entities GROUP BY entity_id)
SELECT p.entity_id, 'entity:' || CAST(p.height AS STRING) || '.' || CAST(p.vout AS STRING) AS cohort,
       p.height AS seed_height, p.vout AS seed_vout, p.address AS seed_address,
       CAST(s.script_count AS BIGINT) AS script_count, CAST(s.coinbase_script_count AS BIGINT) AS coinbase_script_count
FROM paid p JOIN sizes s ON s.entity_id = p.entity_id
WHERE p.rn = 1
