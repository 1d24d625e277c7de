"""Reads of the chain tables: status of a database, facts of a stored block."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from minerwatch.errors import UsageError
from minerwatch.store import get_meta, schema_version

BLOCK_FIELDS = (
    "height", "hash", "prev_hash", "time_s", "median_time_past_s", "version", "bits", "difficulty", "chainwork",
    "size_bytes", "weight_wu", "tx_count", "input_count", "output_count", "segwit_tx_count", "p2tr_output_count",
    "coinbase_value_sat", "subsidy_sat", "fees_sat", "unclaimed_sat", "coinbase_tag", "coinbase_script_hex",
)


def status(con: duckdb.DuckDBPyConnection, db_path: Path) -> dict[str, Any]:
    """What the database holds: network, tip, counts, schema and data versions."""
    tip = con.execute("SELECT height, hash, time_s FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
    count, first = con.execute("SELECT count(*), min(height) FROM blocks").fetchone()
    through = get_meta(con, "metrics_through_height")
    return {
        "network": get_meta(con, "network"),
        "simulated": get_meta(con, "network") == "simnet",
        "tip_height": tip[0] if tip else None,
        "tip_hash": tip[1] if tip else None,
        "tip_time_s": tip[2] if tip else None,
        "first_height": first,
        "blocks": count,
        "metrics_through_height": int(through) if through is not None else None,
        "pools_version": get_meta(con, "pools_version"),
        "labels_version": get_meta(con, "labels_version"),
        "db_path": str(db_path),
        "schema_version": schema_version(con),
    }


def block(con: duckdb.DuckDBPyConnection, ref: str) -> dict[str, Any]:
    """Facts of the stored block at a height or with a hash."""
    cols = ", ".join(BLOCK_FIELDS)
    if ref.isdigit():
        row = con.execute(f"SELECT {cols} FROM blocks WHERE height = ?", [int(ref)]).fetchone()  # noqa: S608
    elif len(ref) == 64:
        row = con.execute(f"SELECT {cols} FROM blocks WHERE hash = ?", [ref.lower()]).fetchone()  # noqa: S608
    else:
        raise UsageError(f"{ref!r} is neither a height nor a 64-hex-digit block hash", "e.g. `minerwatch block 840000`")
    if row is None:
        tip = con.execute("SELECT max(height) FROM blocks").fetchone()[0]
        stored = f"stored tip: {tip}" if tip is not None else "it holds no blocks yet"
        raise UsageError(f"block {ref} is not in the database ({stored})", "run `minerwatch sync` first")
    out = dict(zip(BLOCK_FIELDS, row))
    out["chainwork"] = int(out["chainwork"])
    out["bits"] = f"0x{out['bits']:08x}"
    out["weight"] = out["weight_wu"]
    out["time"] = datetime.fromtimestamp(out["time_s"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out["coinbase_payouts"] = [
        {"vout": v, "value_sat": val, "script_type": t, "address": a}
        for v, val, t, a in con.execute(
            "SELECT vout, value_sat, script_type, address FROM coinbase_outputs WHERE height = ? ORDER BY vout",
            [out["height"]]).fetchall()
    ]
    pool = _pool(con, out["height"])
    if pool is not None:
        out["pool"] = pool
    return out


def _pool(con: duckdb.DuckDBPyConnection, height: int) -> dict[str, Any] | None:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'block_pools'").fetchone()[0]
    if not exists:
        return None
    cur = con.execute("SELECT * FROM block_pools WHERE height = ?", [height])
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row))
