"""Run the cohort SQL (sql/cohorts.sql, entities.sql, flows.sql) on any engine that can make a table from a query.

The statements are the definitions; this module only orders them and repeats `one_hop_pass` until
the 1-hop heights stop changing. DuckDB (duck.py) and Spark (spark_job.py) each supply an `Engine`.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any, Protocol

from minerwatch.lake.layout import LakeError

# The tables a run leaves for its user: who is in which cohort, the daily series, the true fees, the
# miner entities (script by script, then one row each with its cohort name) and their daily series
# and reserve by era (on the days they change only).
RESULT_TABLES = ("members", "daily_cohort_flows", "block_fees", "entities", "daily_cohort_reserve_era",
                 "entity_cohorts", "daily_entity_flows", "daily_entity_reserve_era")
# The statement files, in the order they run (each reads tables of the ones before it): the entities
# come before the flows, which treat them as one more kind of cohort.
SQL_FILES = ("cohorts.sql", "entities.sql", "flows.sql")
# Each pass after the first changes only scripts that were 1-hop before they were 0-hop and whose
# coins of that time were spent after; a chain that needs more than a few passes has a loop of them.
MAX_ONE_HOP_PASSES = 20
# The components' passes (FastSV, entities.sql) grow with the logarithm of the longest chain of
# co-spends: 10 on the rehearsal chain's lake. 64 is far beyond any chain a ledger can hold.
MAX_ENTITY_PASSES = 64

_CHANGED_SQL = """
SELECT count(*) FROM members_next n FULL JOIN members m ON m.script_id = n.script_id
WHERE m.script_id IS NULL OR n.script_id IS NULL
   OR coalesce(m.one_hop_height, -1) <> coalesce(n.one_hop_height, -1)
"""
# Scripts 1-hop before they were 0-hop: only they make a further pass differ.
_ONE_HOP_FIRST_SQL = "SELECT count(*) FROM members WHERE one_hop_height < zero_hop_height"
_LABELS_CHANGED_SQL = """
SELECT count(*) FROM entity_labels_next n JOIN entity_labels l ON l.script_id = n.script_id WHERE l.label <> n.label
"""


class Engine(Protocol):
    def materialize(self, name: str, sql: str) -> None:
        """Make (or replace) table `name` from the query `sql`, computed now."""

    def count(self, sql: str) -> int:
        """The one integer `sql` selects."""

    def register(self, name: str, table: Any) -> None:
        """Make table `name` from a small pyarrow Table (the inputs of lake/inputs.py)."""


def statements() -> list[tuple[str, str]]:
    """(name, query) of every statement of the SQL files, in order."""
    out: list[tuple[str, str]] = []
    for file in SQL_FILES:
        text = files("minerwatch.lake").joinpath(f"sql/{file}").read_text()
        for chunk in text.split("-- name: ")[1:]:
            name, _, body = chunk.partition("\n")
            lines = [ln for ln in body.splitlines() if not ln.lstrip().startswith("--")]
            out.append((name.strip(), "\n".join(lines).strip()))
    return out


def run(engine: Engine, inputs: dict[str, Any]) -> int:
    """Compute every table of the cohort SQL, given its small input tables (lake/inputs.py: name →
    pyarrow Table); returns how many 1-hop passes it took."""
    for name, table in inputs.items():
        engine.register(name, table)
    passes = 0
    for name, sql in statements():
        if name == "entity_pass":
            _propagate_labels(engine, sql)
            continue
        if name != "one_hop_pass":
            engine.materialize(name, sql)
            continue
        while True:
            passes += 1
            if passes > MAX_ONE_HOP_PASSES:
                raise LakeError(f"the 1-hop heights still change after {MAX_ONE_HOP_PASSES} passes",
                                "report this chain: the cohort definition should settle in two or three")
            engine.materialize("members_next", sql)
            changed = engine.count(_CHANGED_SQL)
            engine.materialize("members", "SELECT * FROM members_next")
            if not changed or not engine.count(_ONE_HOP_FIRST_SQL):
                break
    return passes


def _propagate_labels(engine: Engine, sql: str) -> int:
    """Repeat `entity_pass` until no script's label changes; returns the passes."""
    for passes in range(1, MAX_ENTITY_PASSES + 1):
        engine.materialize("entity_labels_next", sql)
        changed = engine.count(_LABELS_CHANGED_SQL)
        engine.materialize("entity_labels", "SELECT * FROM entity_labels_next")
        if not changed:
            return passes
    raise LakeError(f"the entity labels still change after {MAX_ENTITY_PASSES} passes",
                    "report this chain: the passes should settle in about log2 of its longest co-spend chain")
