"""Checked header chains → the `headers` table, one transaction per batch, and its rollback.

Headers come before blocks (`sync --rpc` takes all of them first) or instead of them (`sync
--headers-file`, a pruned node's early heights). The metric refreshers read them through the
`chain_facts` view (store/sql/220_headers.sql), where a stored block's own facts win.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pyarrow as pa

from minerwatch.chain.headers import HeaderRow, Parent
from minerwatch.store import lower_metrics_mark, transaction

_COLUMNS = ("height", "hash", "prev_hash", "time_s", "version", "bits", "difficulty", "chainwork", "subsidy_sat")


def chain_top(con: duckdb.DuckDBPyConnection) -> int | None:
    """The highest height known from a block or a header; None for an empty database."""
    row = con.execute("SELECT max(height) FROM chain_facts").fetchall()
    return None if row[0][0] is None else int(row[0][0])


def parent_at(con: duckdb.DuckDBPyConnection, height: int) -> Parent | None:
    """The stored block or header at `height` as a chain's parent; None if neither is stored."""
    rows = con.execute("SELECT height, hash, bits, time_s, chainwork FROM chain_facts WHERE height = ?",
                       [height]).fetchall()
    if not rows:
        return None
    h, block_hash, bits, time_s, chainwork = rows[0]
    return Parent(int(h), str(block_hash), int(bits), int(time_s), int(chainwork))


def time_at(con: duckdb.DuckDBPyConnection, height: int) -> int | None:
    """Header time of the stored block or header at `height`, or None."""
    rows = con.execute("SELECT time_s FROM chain_facts WHERE height = ?", [height]).fetchall()
    return None if not rows else int(rows[0][0])


def hash_at(con: duckdb.DuckDBPyConnection, height: int) -> str | None:
    """Hash of the stored block or header at `height`, or None."""
    rows = con.execute("SELECT hash FROM chain_facts WHERE height = ?", [height]).fetchall()
    return None if not rows else str(rows[0][0])


def store_headers(con: duckdb.DuckDBPyConnection, rows: list[HeaderRow], replace_from: int | None = None) -> None:
    """Write `rows` (consecutive, checked) in one transaction. With `replace_from`, the headers from
    that height on are deleted first and the metric mark is lowered below it in the same
    transaction (a reorg seen in the headers), so no derived row outlives its header."""
    if not rows:
        return
    table = pa.table({
        "height": pa.array([r.height for r in rows], pa.int32()),
        "hash": [r.hash for r in rows],
        "prev_hash": [r.prev_hash for r in rows],
        "time_s": pa.array([r.time_s for r in rows], pa.int64()),
        "version": pa.array([r.version for r in rows], pa.int64()),
        "bits": pa.array([r.bits for r in rows], pa.int64()),
        "difficulty": pa.array([r.difficulty for r in rows], pa.float64()),
        # chainwork passes 2^64 on mainnet: as a 38-digit decimal it becomes HUGEINT in SQL.
        "chainwork": pa.array([Decimal(r.chainwork) for r in rows], pa.decimal128(38, 0)),
        "subsidy_sat": pa.array([r.subsidy_sat for r in rows], pa.int64()),
    })
    cols = ", ".join(_COLUMNS)
    with transaction(con):
        if replace_from is not None:
            con.execute("DELETE FROM headers WHERE height >= ?", [replace_from])
            lower_metrics_mark(con, replace_from - 1)
        # A height stored before (a file loaded twice, or headers below a resumed sync) is replaced.
        con.execute("DELETE FROM headers WHERE height BETWEEN ? AND ?", [rows[0].height, rows[-1].height])
        con.register("_header_rows", table)
        try:
            con.execute(f"INSERT INTO headers ({cols}) SELECT {cols} FROM _header_rows")  # noqa: S608 (fixed names)
        finally:
            con.unregister("_header_rows")


def drop_covered_headers(con: duckdb.DuckDBPyConnection) -> None:
    """Delete the headers of heights whose block is stored (inside the caller's transaction): the
    table keeps the heights known from a header alone, so that a database synced headers first
    ends up as one synced without them."""
    con.execute("DELETE FROM headers WHERE height BETWEEN (SELECT min(height) FROM blocks) "
                "AND (SELECT max(height) FROM blocks)")


def rollback_headers(con: duckdb.DuckDBPyConnection, height: int) -> None:
    """Drop the headers above `height` and lower the metric mark to it, in one transaction."""
    with transaction(con):
        con.execute("DELETE FROM headers WHERE height > ?", [height])
        lower_metrics_mark(con, height)


def header_range(con: duckdb.DuckDBPyConnection) -> tuple[int, int] | None:
    """(lowest, highest) height of the `headers` table, or None when it is empty."""
    row = con.execute("SELECT min(height), max(height) FROM headers").fetchall()[0]
    return None if row[0] is None else (int(row[0]), int(row[1]))
