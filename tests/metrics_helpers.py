"""Block facts built by hand for the network-metric tests: every figure a metric reads is chosen
here, so each expected value can be worked out on paper."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from minerwatch import store
from minerwatch.consensus import subsidy_sat

DAY_S = 86_400
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class Fact:
    height: int
    time_s: int
    difficulty: float
    fees_sat: int = 0
    unclaimed_sat: int = 0
    subsidy_sat: int | None = None    # default: the protocol's subsidy at `height`


def open_db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A real database file with every migration applied."""
    return store.connect(tmp_path / "metrics.duckdb")


def insert_facts(con: duckdb.DuckDBPyConnection, facts: Iterable[Fact], chainwork_before: int = 0) -> None:
    """Write blocks rows; chainwork accumulates round(difficulty × 2^32) per block."""
    rows = []
    cw = chainwork_before
    prev = con.execute("SELECT max(height), arg_max(chainwork, height) FROM blocks").fetchone()
    if prev[0] is not None and chainwork_before == 0:
        cw = int(prev[1])
    for f in facts:
        sub = subsidy_sat(f.height) if f.subsidy_sat is None else f.subsidy_sat
        cw += round(f.difficulty * 2**32)
        value = sub + f.fees_sat - f.unclaimed_sat
        rows.append((f.height, f"{f.height:064x}", f"{f.height - 1:064x}", f.time_s, f.time_s, 0x20000000,
                     0x1d00ffff, f.difficulty, cw, 1000, 4000, 1, 0, 1, 0, 0, value, sub, f.fees_sat,
                     f.unclaimed_sat, "", ""))
    insert_block_rows(con, rows)


def insert_block_rows(con: duckdb.DuckDBPyConnection, rows: list[tuple[object, ...]]) -> None:
    """Bulk-insert blocks rows (the table's first columns, in order) through Arrow; executemany is ~10 ms a row."""
    if not rows:
        return
    names = [r[0] for r in con.execute("DESCRIBE blocks").fetchall()][:len(rows[0])]
    # chainwork exceeds 64 bits: it travels as text and becomes HUGEINT in SQL.
    table = pa.table({n: [str(r[i]) if n == "chainwork" else r[i] for r in rows] for i, n in enumerate(names)})
    con.register("_fact_rows", table)
    try:
        con.execute(f"INSERT INTO blocks ({', '.join(names)}) "
                    "SELECT * REPLACE (CAST(chainwork AS HUGEINT) AS chainwork) FROM _fact_rows")
    finally:
        con.unregister("_fact_rows")


def day_of_blocks(height0: int, day_index: int, n: int, difficulty: float, fees_sat: int = 0,
                  start_s: int = T0) -> list[Fact]:
    """n blocks spread evenly over UTC day `day_index` after `start_s`, from height0 on."""
    step = DAY_S // n
    return [Fact(height0 + i, start_s + day_index * DAY_S + i * step, difficulty, fees_sat) for i in range(n)]
