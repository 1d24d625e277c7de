"""What one block's cohort writes cost DuckDB on a table of millions of rows, by kind of statement.

    python benchmarks/bench_duckdb_writes.py [--rows 10000000] [--db PATH]

Builds (once, kept at --db) a table shaped like miner_outputs before migration 230: PRIMARY KEY
(txid, vout) on 64-hex-digit txids, an index on spent_height, half the rows spent. Then times, each
in a transaction rolled back (median of 5): appending 2 rows, INSERT OR REPLACE of 2 rows, marking
100 outputs spent with UPDATE … FROM a table of spends, and with UPDATE … WHERE on their keys.
Why the cohort tables are only appended to (docs/architecture.md, "Miner cohorts").
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import duckdb


def build(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE mo (txid VARCHAR NOT NULL, vout INTEGER NOT NULL, height INTEGER NOT NULL,
        tx_index INTEGER NOT NULL, value_sat BIGINT NOT NULL, script_id BIGINT NOT NULL, is_coinbase BOOLEAN NOT NULL,
        spent_height INTEGER, spent_txid VARCHAR, PRIMARY KEY (txid, vout))""")
    con.execute(f"""INSERT INTO mo SELECT sha256(i::VARCHAR), (i % 3)::INT, (i // 20)::INT, 0, 1000, i % 100000, false,
        CASE WHEN i % 2 = 0 THEN (i // 20 + 5)::INT END, CASE WHEN i % 2 = 0 THEN sha256((i + 1)::VARCHAR) END
        FROM range({int(rows)}) t(i)""")
    con.execute("CREATE INDEX mo_spent_height ON mo (spent_height)")
    con.close()


def timed(con: duckdb.DuckDBPyConnection, sql: str, runs: int = 5) -> float:
    """Median seconds of `sql` ({k} is the run number), each run in a transaction rolled back."""
    out = []
    for k in range(runs):
        con.execute("BEGIN")
        t = time.perf_counter()
        con.execute(sql.format(k=k))
        out.append(time.perf_counter() - t)
        con.execute("ROLLBACK")
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--db", type=Path, default=Path("bench_duckdb_writes.duckdb"))
    args = ap.parse_args()
    if not args.db.exists():
        build(args.db, args.rows)
    con = duckdb.connect(str(args.db))
    n = con.execute("SELECT count(*) FROM mo").fetchone()[0]
    print(f"{n:,} rows; load average {os.getloadavg()[0]:.1f}")
    new = "('a{k}', 0, 999999, 0, 1, 1, false, NULL, NULL), ('b{k}', 0, 999999, 0, 1, 1, false, NULL, NULL)"
    con.execute("CREATE TEMP TABLE sp AS SELECT txid, vout, 999999 AS h, 'x' AS st FROM mo "
                "WHERE spent_height IS NULL USING SAMPLE 100 ROWS")
    keys = con.execute("SELECT txid, vout FROM sp").fetchall()
    by_key = " OR ".join(f"(txid = '{t}' AND vout = {v})" for t, v in keys)
    for label, sql in (
        ("INSERT of 2 rows", f"INSERT INTO mo VALUES {new}"),
        ("INSERT OR REPLACE of 2 rows", f"INSERT OR REPLACE INTO mo VALUES {new}"),
        ("UPDATE … FROM 100 spends", "UPDATE mo SET spent_height = s.h, spent_txid = s.st FROM sp s "
                                     "WHERE mo.txid = s.txid AND mo.vout = s.vout"),
        ("UPDATE of 100 rows by key", f"UPDATE mo SET spent_height = 999999, spent_txid = 'x' WHERE {by_key}"),
    ):
        print(f"{label:30} {timed(con, sql) * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
