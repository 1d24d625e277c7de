"""Who is in which miner cohort, for a given set of scripts: the one definition of the cohorts.

A cohort member is (cohort, script_id, join_height); a script counts for the cohort from
join_height on. Cohorts (docs/metrics.md, "Miner reserve and miner flows"):

    0hop             scripts that received a coinbase output, from that height
    1hop             0hop plus scripts paid by a transaction spending a 0hop output, from the first
    pool:<slug>      scripts first paid by a coinbase of the pool's blocks, and the 1-hop scripts
                     whose first 0-hop payer was one of those (from the earlier of the two)
    label:<entity>   cohort scripts a label set assigns to the entity, from their 1-hop join

Only the scripts a block's flows touch are looked up, so the cost follows the block, not the
number of members (tens of millions on mainnet).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from minerwatch.errors import UsageError

# A cohort kind names a family of cohorts that is recomputed together: a new pool list changes the
# pool cohorts only; labels change the label cohorts and every cohort's flow to exchanges.
KINDS = ("fixed", "pool", "label")
FIXED_COHORTS = ("0hop", "1hop")
NEVER = 2147483647  # a join height no block reaches (the 1-hop join of a script with neither height)

# Fixed SQL predicates on a `cohort` column, one per kind (never built from input).
KIND_PREDICATES = {"fixed": "cohort IN ('0hop', '1hop')", "pool": "cohort LIKE 'pool:%'",
                   "label": "cohort LIKE 'label:%'"}

# DuckDB answers `script_id IN (constants…)` from the primary-key index (~30 µs a key, measured on
# 1.35 M scripts) and anything else by reading every row; up to this many keys the index wins on
# mainnet's tens of millions of scripts. Larger sets (a recompute from height 0) take the scan.
INDEX_LOOKUP_MAX_KEYS = 2048
_LOOKUP_CHUNK = 512


def check_cohort_name(cohort: str) -> None:
    """UsageError unless `cohort` names a cohort: 0hop, 1hop, pool:<slug>, label:<entity> or
    entity:<height>.<vout> (a miner entity of the lake's results, metrics/lake_entities.py)."""
    if cohort not in FIXED_COHORTS and not cohort.startswith(("pool:", "label:", "entity:")):
        raise UsageError(f"unknown cohort {cohort!r}", "use 0hop, 1hop, pool:<slug>, label:<entity> or entity:<id>")


def kinds_predicate(kinds: Iterable[str]) -> str:
    """SQL that keeps the rows of cohorts of these kinds (a fixed fragment, not input)."""
    return "(" + " OR ".join(KIND_PREDICATES[k] for k in kinds) + ")"


def lookup_scripts(con: duckdb.DuckDBPyConnection, target: str, keys_sql: str, params: list) -> None:
    """Create temp table `target` (script_id, zero_hop_height, one_hop_height, parent_script_id) with
    the miner_scripts rows of the script ids `keys_sql` selects (one column)."""
    columns = "script_id, zero_hop_height, one_hop_height, parent_script_id"
    n = con.execute(f"SELECT count(DISTINCT k) FROM ({keys_sql}) AS t(k)", params).fetchone()[0]  # noqa: S608
    if n > INDEX_LOOKUP_MAX_KEYS:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {columns} FROM miner_scripts "  # noqa: S608
                    f"WHERE script_id IN (SELECT k FROM ({keys_sql}) AS t(k))", params)
        return
    keys = [k for (k,) in con.execute(f"SELECT DISTINCT k FROM ({keys_sql}) AS t(k) WHERE k IS NOT NULL",  # noqa: S608
                                      params).fetchall()]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {columns} FROM miner_scripts LIMIT 0")  # noqa: S608
    for i in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[i:i + _LOOKUP_CHUNK]
        # One placeholder per key: only an IN list of values (not a list parameter or a join)
        # becomes an index scan.
        marks = ", ".join("?" * len(chunk))
        con.execute(f"INSERT INTO {target} SELECT {columns} FROM miner_scripts WHERE script_id IN ({marks})",  # noqa: S608
                    chunk)


def _member_parts(kinds: Iterable[str]) -> list[str]:
    """The membership rules of each kind, over temp tables _mf_ms (the scripts) and _mf_par (their
    0-hop parents)."""
    least = f"least(coalesce(s.zero_hop_height, {NEVER}), coalesce(s.one_hop_height, {NEVER}))"
    parts = []
    if "fixed" in kinds:
        parts.append("SELECT '0hop' AS cohort, s.script_id, s.zero_hop_height AS join_height FROM _mf_ms s "
                     "WHERE s.zero_hop_height IS NOT NULL")
        parts.append(f"SELECT '1hop', s.script_id, {least} FROM _mf_ms s")
    if "pool" in kinds:
        # A pool's 0-hop scripts: first paid by a coinbase of its blocks (by the pool list in force).
        parts.append("SELECT 'pool:' || p.pool_slug, s.script_id, s.zero_hop_height FROM _mf_ms s "
                     "JOIN block_pools p ON p.height = s.zero_hop_height")
        # Its 1-hop scripts: those whose first 0-hop payer is one of them.
        parts.append("SELECT 'pool:' || p.pool_slug, s.script_id, s.one_hop_height FROM _mf_ms s "
                     "JOIN _mf_par q ON q.script_id = s.parent_script_id "
                     "JOIN block_pools p ON p.height = q.zero_hop_height WHERE s.one_hop_height IS NOT NULL")
    if "label" in kinds:
        parts.append(f"SELECT DISTINCT 'label:' || l.entity, s.script_id, {least} FROM _mf_ms s "
                     "JOIN labels l ON l.script_id = s.script_id")
    return parts


def resolve_members(con: duckdb.DuckDBPyConnection, scripts_sql: str, params: list, kinds: Iterable[str]) -> None:
    """Create temp table _mf_m (cohort, script_id, join_height): every membership, in a cohort of
    these kinds, of the scripts `scripts_sql` selects. One row per cohort and script (a script
    in a pool both as 0-hop and as 1-hop joins at the earlier height)."""
    kinds = tuple(kinds)
    lookup_scripts(con, "_mf_ms", scripts_sql, params)
    lookup_scripts(con, "_mf_par", "SELECT parent_script_id FROM _mf_ms WHERE parent_script_id IS NOT NULL", [])
    union = " UNION ALL ".join(_member_parts(kinds))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _mf_m AS SELECT cohort, script_id, min(join_height) AS join_height "  # noqa: S608
                f"FROM ({union}) AS u(cohort, script_id, join_height) GROUP BY cohort, script_id")


def late_joiners_sql() -> str:
    """SQL (parameters lo, hi) of the scripts that joined 0-hop at a height in [lo, hi) after they
    had been 1-hop: the only members whose older outputs start to count for a cohort (0hop, and
    the pool of that coinbase) long after they were created."""
    return ("SELECT script_id FROM miner_scripts WHERE zero_hop_height >= ? AND zero_hop_height < ? "
            "AND one_hop_height < zero_hop_height")
