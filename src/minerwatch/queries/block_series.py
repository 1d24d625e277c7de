"""Per-block values of the daily series that have one, for the windows shorter than a week (24h, 3d),
where a daily series has one to three points.

A daily series here is the daily close (or mean) of a value defined at every block (the Hashrate
Index hashprice, BRK's trailing-24 h hashrate, Core's 120-block estimate, difficulty): the per-block
value is the same definition, read from the row the metric refresher stored for each block
(`block_network`, `blocks`). A series counted per UTC day (blocks, revenue, flows, reserve) has no
per-block value and is not listed.
"""

from __future__ import annotations

import duckdb

from minerwatch.queries.db import table_exists
from minerwatch.queries.mining import interval_start_s

SHORT_INTERVALS = ("24h", "3d")

# metric → the stored per-block column (a constant of this module: never user input).
_COLUMNS: dict[str, str] = {
    "hashprice_usd_per_ph_day": "n.hashprice_usd_per_ph_day",
    "hashvalue_btc_per_ph_day": "n.hashvalue_btc_per_ph_day",
    "hashprice_usd_per_th_day": "n.hashprice_usd_per_ph_day / 1000",
    "hashvalue_sat_per_th_day": "n.hashvalue_btc_per_ph_day * 1e8 / 1000",
    "hashprice_brk_usd_per_ph_day": "n.hashprice_brk_usd_per_ph_day",
    "hashvalue_brk_btc_per_ph_day": "n.hashvalue_brk_btc_per_ph_day",
    "hashrate_brk_ehs": "n.hashrate_24h_ehs",
    "hashrate_chainwork_ehs": "n.hashrate_cw120_ehs",
    "difficulty": "b.difficulty",
    "difficulty_close": "b.difficulty",
}


def has_block_series(name: str) -> bool:
    """Whether metric `name` has a value at every block (so a 24h or 3d window can draw it)."""
    return name in _COLUMNS


def block_metrics() -> tuple[str, ...]:
    return tuple(_COLUMNS)


def read_block_series(con: duckdb.DuckDBPyConnection, name: str, interval: str) -> list[tuple[int, float | None]]:
    """(header time in unix s, value) of every stored block in `interval` before the tip's time,
    oldest first; [] when the per-block table is not built in this database."""
    if not has_block_series(name) or not (table_exists(con, "blocks") and table_exists(con, "block_network")):
        return []
    tip = con.execute("SELECT time_s FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
    if tip is None:
        return []
    start = interval_start_s(interval, int(tip[0]))
    rows = con.execute(
        f"SELECT b.time_s, {_COLUMNS[name]} FROM blocks b JOIN block_network n USING (height) "
        "WHERE b.time_s > ? ORDER BY b.height", [start if start is not None else -1]).fetchall()
    return [(int(t), None if v is None else float(v)) for t, v in rows]


def pool_blocks_in_window(con: duckdb.DuckDBPyConnection, interval: str) -> list[tuple[int, str, str]]:
    """(header time in unix s, pool slug, pool name) of every stored block in `interval` before the
    tip's time, oldest first (the attribution of mempool.space's pool list, as stored)."""
    if not (table_exists(con, "blocks") and table_exists(con, "block_pools")):
        return []
    tip = con.execute("SELECT time_s FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
    if tip is None:
        return []
    start = interval_start_s(interval, int(tip[0]))
    rows = con.execute("SELECT b.time_s, p.pool_slug, p.pool_name FROM blocks b JOIN block_pools p USING (height) "
                       "WHERE b.time_s > ? ORDER BY b.height", [start if start is not None else -1]).fetchall()
    return [(int(t), str(s), str(n)) for t, s, n in rows]


def pool_recent_blocks(con: duckdb.DuckDBPyConnection, slug: str, limit: int = 10) -> list[tuple[int, int, int, int]]:
    """(height, header time in unix s, transactions, fees claimed in sat) of the pool's latest `limit` blocks."""
    if not table_exists(con, "block_pools"):
        return []
    rows = con.execute("SELECT b.height, b.time_s, b.tx_count, greatest(b.coinbase_value_sat - b.subsidy_sat, 0) "
                       "FROM blocks b JOIN block_pools p USING (height) WHERE p.pool_slug = ? "
                       "ORDER BY b.height DESC LIMIT ?", [slug, limit]).fetchall()
    return [(int(h), int(t), int(n), int(f)) for h, t, n, f in rows]


def pool_name(con: duckdb.DuckDBPyConnection, slug: str) -> str | None:
    """The stored name of the pool `slug`, or None when no stored block is attributed to it."""
    if not table_exists(con, "block_pools"):
        return None
    row = con.execute("SELECT pool_name FROM block_pools WHERE pool_slug = ? LIMIT 1", [slug]).fetchone()
    return None if row is None else str(row[0])
