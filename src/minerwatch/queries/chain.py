"""Reads of the chain tables: status of a database, facts of a stored block."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from minerwatch.errors import UsageError
from minerwatch.metrics.coverage import coverage, usd_gap
from minerwatch.networks import NETWORKS
from minerwatch.store import get_meta, schema_version

BLOCK_FIELDS = (
    "height", "hash", "prev_hash", "time_s", "median_time_past_s", "version", "bits", "difficulty", "chainwork",
    "size_bytes", "weight_wu", "tx_count", "input_count", "output_count", "segwit_tx_count", "p2tr_output_count",
    "coinbase_value_sat", "subsidy_sat", "fees_sat", "unclaimed_sat", "coinbase_tag", "coinbase_script_hex",
    "fees_paid_sat",
)


def _simulated(network: str | None) -> bool:
    known = NETWORKS.get(network or "")
    return bool(known and known.simulated)


def status(con: duckdb.DuckDBPyConnection, db_path: Path) -> dict[str, Any]:
    """What the database holds: network, tip, counts, schema and data versions."""
    tip = con.execute("SELECT height, hash, time_s FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
    count, first = con.execute("SELECT count(*), min(height) FROM blocks").fetchone()
    through = get_meta(con, "metrics_through_height")
    return {
        "network": get_meta(con, "network"),
        "simulated": _simulated(get_meta(con, "network")),
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
        # Where the header, block and genesis series start and end, and why (metrics/coverage.py).
        "series": _series_coverage(con),
        # Where USD figures stop before the chain does, and the command that fills the days (None: current).
        "usd_prices": gap.as_dict() if (gap := usd_gap(con)) else None,
        # What the last blocks-directory sync set aside and skipped (None: never synced from files).
        "blocks_dir_report": json.loads(report) if (report := get_meta(con, "blocks_dir_report")) else None,
    }


def usd_note(con: duckdb.DuckDBPyConnection | None) -> str | None:
    """The sentence that says since when USD figures stop before the chain, and the fix; None when
    the prices reach the chain's last day (or there is no database)."""
    if con is None:
        return None
    gap = usd_gap(con)
    return None if gap is None else gap.sentence


def _series_coverage(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The coverage of each kind of series, with one summary line for the plain `status` output."""
    try:
        kinds = coverage(con)
    except duckdb.CatalogException:       # a database from before the headers table
        return {"summary": "run `minerwatch sync` once with this version"}
    lines = [f"{k} {c.from_height:,}–{c.through_height:,}" + ("" if c.complete else " (not from genesis)")
             if c.from_height is not None else f"{k} none" for k, c in kinds.items()]
    return {"summary": "; ".join(lines), **{k: c.as_dict() for k, c in kinds.items()}}


_ASCII_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
MAX_HEIGHT = 2**31 - 1          # Bitcoin Core keeps a block's height in a signed 32-bit int


class BlockNotFoundError(UsageError):
    """A well-formed height or hash that no stored block has; `tip_height` is the stored tip (None: no blocks)."""

    def __init__(self, message: str, hint: str, tip_height: int | None) -> None:
        super().__init__(message, hint)
        self.tip_height = tip_height


def parse_block_ref(ref: str) -> int | str:
    """A 64-hex-digit hash in lower case, or a height (ASCII decimal digits) as int; UsageError otherwise.
    A height beyond MAX_HEIGHT comes back as MAX_HEIGHT + 1: no block has it, and int() refuses a string
    of more than 4,300 digits. str.isdigit() is not the test: it accepts "¹" and "²³", which int() refuses."""
    if len(ref) == 64 and set(ref) <= _HEX_DIGITS:
        return ref.lower()
    if ref and set(ref) <= _ASCII_DIGITS:
        digits = ref.lstrip("0") or "0"
        return int(digits) if len(digits) <= len(str(MAX_HEIGHT)) else MAX_HEIGHT + 1
    raise UsageError(f"{ref!r} is neither a height nor a 64-hex-digit block hash",
                     "a height is written with the digits 0-9 (e.g. 840000), a hash with 64 hex digits")


def block(con: duckdb.DuckDBPyConnection, ref: str) -> dict[str, Any]:
    """Facts of the stored block at a height or with a hash."""
    cols = ", ".join(BLOCK_FIELDS)
    key = parse_block_ref(ref)
    column = "height" if isinstance(key, int) else "hash"
    # DuckDB refuses to bind an integer beyond 128 bits: a height no block can have is not looked up.
    row = (None if isinstance(key, int) and key > MAX_HEIGHT
           else con.execute(f"SELECT {cols} FROM blocks WHERE {column} = ?", [key]).fetchone())  # noqa: S608
    if row is None:
        tip = con.execute("SELECT max(height) FROM blocks").fetchone()[0]
        stored = f"stored tip: {tip}" if tip is not None else "it holds no blocks yet"
        raise BlockNotFoundError(f"block {ref} is not in the database ({stored})", "run `minerwatch sync` first", tip)
    out = dict(zip(BLOCK_FIELDS, row))
    out["chainwork"] = int(out["chainwork"])
    out["bits"] = f"0x{out['bits']:08x}"
    # The keys of `block --file` (queries.rawblock): time_s and time_utc, weight_wu, pool_slug.
    out["time_utc"] = datetime.fromtimestamp(out["time_s"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
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
