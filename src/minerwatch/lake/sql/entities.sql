-- Miner entities by the common-input-ownership heuristic: scripts whose coins one transaction spends
-- together belong to one owner; the connected components of that relation that hold a 0-hop script
-- are the miner entities (a 0-hop script never co-spent is an entity of its own). Reads `spends`
-- and `zero_hop` of cohorts.sql. `entity_pass` reads `entity_labels` and gives the next one
-- (minerwatch/lake/cohorts.py repeats it until no label changes); a component ends labelled with
-- its smallest script_id — the entity's id.

-- name: cospends
-- (transaction, script) for every transaction that spends the coins of two scripts or more.
WITH per_tx AS (SELECT DISTINCT spend_height, spend_txid, script_id FROM spends),
multi AS (
    SELECT spend_height, spend_txid FROM per_tx GROUP BY spend_height, spend_txid HAVING count(*) > 1)
SELECT p.spend_height, p.spend_txid, p.script_id
FROM per_tx p JOIN multi m ON m.spend_height = p.spend_height AND m.spend_txid = p.spend_txid

-- name: cospend_edges
-- The co-spend graph on scripts, as a star per transaction: every script of a co-spending
-- transaction linked, both ways, to the transaction's smallest script_id. Same components as
-- linking every pair, with one edge per script instead of a square per transaction.
WITH root AS (SELECT spend_height, spend_txid, min(script_id) AS root FROM cospends GROUP BY spend_height, spend_txid),
star AS (
    SELECT DISTINCT c.script_id AS a, r.root AS b
    FROM cospends c JOIN root r ON r.spend_height = c.spend_height AND r.spend_txid = c.spend_txid
    WHERE c.script_id <> r.root)
SELECT a, b FROM star UNION ALL SELECT b AS a, a AS b FROM star

-- name: entity_labels
-- Every co-spent script starts as its own parent (label).
SELECT DISTINCT script_id, script_id AS label FROM cospends

-- name: entity_pass
-- One pass of FastSV (Zhang, Azad and Hu, 2020: Shiloach–Vishkin's hooking and shortcutting, made
-- fast), a pass a few joins over `cospend_edges`: with f the label and f(f(v)) the grandparent,
--   stochastic hooking  f(f(u)) ← min(f(f(u)), f(f(v)))  for every edge (u, v),
--   aggressive hooking  f(u)    ← min(f(u), f(f(v)))     for every edge (u, v),
--   shortcutting        f(u)    ← min(f(u), f(f(u))).
-- It settles in about log2 of the longest co-spend chain, where plain label propagation (a hop a
-- pass) took one pass per link: 178 passes on the rehearsal chain's lake, and mainnet's
-- consolidation chains are thousands long. Why the end is right: a label is only ever replaced by a
-- smaller one of the same component, so f(v) <= v. A pass that changes nothing has
-- f(u) <= f(f(u)) <= f(u) (every tree a star) and f(u) <= f(f(v)) = f(v) both ways on every edge
-- (one star per component); its root r has f(r) = r and r <= every script_id of the component, so
-- every script ends labelled with its component's smallest script_id: the entity's id.
WITH grand AS (
    SELECT l.script_id, l.label, p.label AS grand
    FROM entity_labels l JOIN entity_labels p ON p.script_id = l.label),
offers AS (
    SELECT script_id, grand AS label FROM grand
    UNION ALL
    SELECT e.a AS script_id, v.grand AS label FROM cospend_edges e JOIN grand v ON v.script_id = e.b
    UNION ALL
    SELECT u.label AS script_id, v.grand AS label
    FROM cospend_edges e JOIN grand u ON u.script_id = e.a JOIN grand v ON v.script_id = e.b)
SELECT script_id, min(label) AS label FROM offers GROUP BY script_id

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
