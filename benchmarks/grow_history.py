"""Grow a minerwatch database's miner tables ×N: the cohort rows copied under other ids.

The demo database holds ~4,500 cohort scripts and ~326,000 cohort outputs; mainnet's cohorts hold
millions. Copying every cohort row N − 1 more times gives a database whose per-block work (ingest,
refresh, rollback, restart) can be timed against a history N times larger, with the same blocks:

- each copy k (1 … N − 1) of a cohort script gets the payload with its last (up to) 4 bytes XORed
  with k and, as its id, the real `script_id` of that payload, so ids and payloads stay consistent
  (the tracker rebuilt from the copy finds every member by its payload, as for a real script);
  1-hop parents point to the parent's copy k; the address column (display only) is kept;
- each copy of an output (and of a spending transaction's output) gets its txid with the first byte
  XORed with k, its spending txid likewise: distinct outpoints, same heights, values and spends;
- the tables are then rewritten in the order a sync writes them (outputs by height, scripts by the
  height of their last join), so that height filters prune row groups as on a synced database;
- with `refresh`, every derived table is recomputed from height 0, so the grown database is one a
  sync could have produced (metrics_through_height stays at the tip).

    python benchmarks/grow_history.py DB [--factor 30]        # grows DB in place

Benchmarks import `grow(con, factor)`; a database is grown once (meta key bench_grown_factor).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from minerwatch.chain.script import SCRIPT_TYPE_NAMES, script_id
from minerwatch.store import connect, get_meta, set_meta, transaction

_TYPE_CODES = {name: code for code, name in SCRIPT_TYPE_NAMES.items()}


@dataclass(frozen=True, slots=True)
class GrowReport:
    factor: int
    scripts: int
    outputs: int
    spend_outputs: int
    seconds: float


def _copy_payload(payload: bytes, k: int) -> bytes:
    if not payload:
        return bytes((k,))
    tail = min(4, len(payload))
    mask = (k * 0x9E3779B1) & ((1 << (8 * tail)) - 1) or k
    return payload[:-tail] + (int.from_bytes(payload[-tail:], "big") ^ mask).to_bytes(tail, "big")


def grow(con: duckdb.DuckDBPyConnection, factor: int = 30, refresh: bool = True) -> GrowReport:
    """Copy every cohort row `factor − 1` more times under other ids (see the module docstring)."""
    if not 2 <= factor <= 256:
        raise ValueError("factor must be 2 … 256 (a copy is named by two hex digits)")
    if get_meta(con, "bench_grown_factor") is not None:
        raise ValueError("this database was grown already")
    started = time.perf_counter()
    ids: list[tuple[int, int, int, str]] = []
    for sid, stype, payload_hex in con.execute(
            "SELECT s.script_id, s.script_type, p.payload_hex FROM miner_scripts s "
            "JOIN miner_script_payloads p USING (script_id)").fetchall():
        payload, code = bytes.fromhex(payload_hex), _TYPE_CODES[stype]
        for k in range(1, factor):
            copy = _copy_payload(payload, k)
            ids.append((k, sid, script_id(code, copy), copy.hex()))
    con.register("_ids_arrow", pa.table({"k": [r[0] for r in ids], "old_id": [r[1] for r in ids],
                                         "new_id": [r[2] for r in ids], "payload_hex": [r[3] for r in ids]}))
    con.execute("CREATE TEMP TABLE _ids AS SELECT * FROM _ids_arrow")
    con.unregister("_ids_arrow")
    con.execute("CREATE TEMP TABLE _copies AS SELECT range AS k FROM range(1, ?)", [factor])
    # The first byte XOR k: never the original's (k ≠ 0), and each copy's differs from every other's.
    renamed = "printf('%02x', xor(('0x' || substr({col}, 1, 2))::INTEGER, c.k)) || substr({col}, 3)"
    with transaction(con):
        con.execute("CREATE TEMP TABLE _scripts AS SELECT * FROM miner_scripts UNION ALL "
                    "SELECT i.new_id, s.script_type, s.address, s.zero_hop_height, s.one_hop_height, p.new_id "
                    "FROM miner_scripts s JOIN _ids i ON i.old_id = s.script_id "
                    "LEFT JOIN _ids p ON p.old_id = s.parent_script_id AND p.k = i.k")
        con.execute("INSERT INTO miner_script_payloads SELECT new_id, payload_hex FROM _ids")
        con.execute(
            "CREATE TEMP TABLE _outputs AS SELECT * FROM miner_outputs UNION ALL "
            f"SELECT {renamed.format(col='o.txid')}, o.vout, o.height, o.tx_index, o.value_sat, i.new_id, "
            "o.is_coinbase FROM miner_outputs o JOIN _ids i ON i.old_id = o.script_id JOIN _copies c ON c.k = i.k")
        con.execute(
            "CREATE TEMP TABLE _spends AS SELECT * FROM miner_spends UNION ALL "
            f"SELECT {renamed.format(col='o.txid')}, o.vout, o.height, {renamed.format(col='o.spent_txid')}, "
            "o.out_height, o.value_sat, i.new_id "
            "FROM miner_spends o JOIN _ids i ON i.old_id = o.script_id JOIN _copies c ON c.k = i.k")
        con.execute(
            "CREATE TEMP TABLE _spend_outputs AS SELECT * FROM miner_spend_outputs UNION ALL "
            f"SELECT {renamed.format(col='o.txid')}, o.vout, o.height, o.tx_index, o.value_sat, "
            "coalesce(i.new_id, o.script_id), o.script_type "
            "FROM miner_spend_outputs o CROSS JOIN _copies c LEFT JOIN _ids i ON i.old_id = o.script_id AND i.k = c.k")
        for table in ("miner_scripts", "miner_outputs", "miner_spends", "miner_spend_outputs"):
            con.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
        con.execute("INSERT INTO miner_scripts SELECT * FROM _scripts "
                    "ORDER BY greatest(coalesce(zero_hop_height, -1), coalesce(one_hop_height, -1)), script_id")
        con.execute("INSERT INTO miner_outputs SELECT * FROM _outputs ORDER BY height, tx_index, txid, vout")
        con.execute("INSERT INTO miner_spends SELECT * FROM _spends ORDER BY height, spent_txid, txid, vout")
        con.execute("INSERT INTO miner_spend_outputs SELECT * FROM _spend_outputs ORDER BY height, tx_index, txid, vout")
        set_meta(con, "bench_grown_factor", str(factor))
    for t in ("_ids", "_copies", "_scripts", "_outputs", "_spends", "_spend_outputs"):
        con.execute(f"DROP TABLE {t}")  # noqa: S608 (fixed names)
    if refresh:
        from minerwatch.metrics.registry import refresh_all

        with transaction(con):
            refresh_all(con, 0)
    con.execute("CHECKPOINT")
    counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
              for t in ("miner_scripts", "miner_outputs", "miner_spend_outputs")]
    return GrowReport(factor, *counts, round(time.perf_counter() - started, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--factor", type=int, default=30)
    ap.add_argument("--no-refresh", action="store_true", help="leave the derived tables as they were")
    args = ap.parse_args()
    con = connect(args.db)
    report = grow(con, args.factor, refresh=not args.no_refresh)
    con.close()
    print(f"grown ×{report.factor}: {report.scripts:,} cohort scripts, {report.outputs:,} cohort outputs, "
          f"{report.spend_outputs:,} spend outputs ({report.seconds:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
