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
