"""Chain facts the mining pages and mempool.space-compatible endpoints read: pool shares over an
interval, retarget history, the retarget forecasts, blocks per day.

The forecasts and pool shares are computed in minerwatch.metrics (one implementation each); this
module picks the window or the moment every interface asks for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

from minerwatch.metrics.pool_share import PoolShare, PoolWindow
from minerwatch.metrics.pool_share import pool_shares
from minerwatch.metrics.retarget import MempoolAdjustment, PaceForecast, mempool_difficulty_adjustment
from minerwatch.metrics.difficulty import Halving, next_halving
from minerwatch.metrics.retarget import forecast as retarget_forecast
from minerwatch.queries.db import table_exists
from minerwatch.queries.intervals import INTERVAL_DAYS, parse_interval

__all__ = ["Halving", "MempoolAdjustment", "PaceForecast", "PoolShare", "PoolWindow", "mempool_difficulty_adjustment",
           "next_halving", "retarget_forecast"]


def interval_start_s(interval: str, tip_time_s: int) -> int | None:
    """Unix start of `interval` counted back from the tip's time (the data's "now")."""
    days = INTERVAL_DAYS[parse_interval(interval)]
    return None if days is None else tip_time_s - days * 86_400


def interval_pool_shares(con: duckdb.DuckDBPyConnection, interval: str) -> PoolWindow:
    """pool_shares (the one definition) over the blocks whose header time falls within `interval`
    before the tip's."""
    parse_interval(interval)
    row = con.execute("SELECT time_s FROM blocks ORDER BY height DESC LIMIT 1").fetchall()
    start = interval_start_s(interval, int(row[0][0])) if row else None
    return pool_shares(con, start, None, interval)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A difficulty adjustment as mempool.space's indexer records it."""

    time_s: int
    height: int
    difficulty: float
    adjustment: float             # difficulty / the block before's, rounded to 6 decimals; 0.0 for genesis


def _js_round(x: float) -> float:
    """JavaScript's Math.round: halves go up (Python's round() takes them to even)."""
    return float(math.floor(x + 0.5))


def difficulty_adjustments(con: duckdb.DuckDBPyConnection, since_time_s: int | None,
                           until_time_s: int) -> list[Adjustment]:
    """mempool.space's difficulty_adjustments table (its indexer, $indexDifficultyAdjustments): the
    genesis block, then every block whose bits differ from the block before's (the retargets; on the
    testnets also the minimum-difficulty blocks and the returns from them), the ratio of the two
    difficulties rounded to 6 decimals; header time in [since, until], oldest first."""
    rows = con.execute(
        """SELECT time_s, height, difficulty, ratio FROM (
               SELECT time_s, height, difficulty, bits <> lag(bits) OVER w AS changed,
                      difficulty / lag(difficulty) OVER w AS ratio
               FROM blocks WINDOW w AS (ORDER BY height))
           WHERE (height = 0 OR changed) AND time_s >= ? AND time_s <= ? ORDER BY height""",
        [-(2**62) if since_time_s is None else since_time_s, until_time_s]).fetchall()
    return [Adjustment(int(t), int(h), float(d), 0.0 if h == 0 else _js_round(float(r) * 1_000_000) / 1_000_000)
            for t, h, d, r in rows]


def daily_difficulty_adjustments(adjustments: list[Adjustment]) -> list[Adjustment]:
    """The same grouped by UTC day as mempool.space's hashrate route reads them ($getAdjustments:
    the mean of each field per day, time and height cast to integers as MySQL does, halves away
    from zero). A mainnet day never holds two retargets; a testnet day can."""
    days: dict[int, list[Adjustment]] = {}
    for a in adjustments:
        days.setdefault(a.time_s // 86_400, []).append(a)
    out = []
    for group in days.values():
        n = len(group)
        out.append(Adjustment(math.floor(sum(a.time_s for a in group) / n + 0.5),
                              math.floor(sum(a.height for a in group) / n + 0.5),
                              sum(a.difficulty for a in group) / n, sum(a.adjustment for a in group) / n))
    return sorted(out, key=lambda a: a.height)


def last_block_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """UTC day of the tip's header time (the highest stored block or header)."""
    facts = "chain_facts" if table_exists(con, "chain_facts") else "blocks"   # a file from before migration 220
    row = con.execute(f"SELECT time_s FROM {facts} ORDER BY height DESC LIMIT 1").fetchone()  # noqa: S608
    return None if row is None else datetime.fromtimestamp(int(row[0]), tz=timezone.utc).date()


BLOCK_COLUMNS = ("height", "hash", "prev_hash", "time_s", "median_time_past_s", "version", "bits", "difficulty",
                 "size_bytes", "weight_wu", "tx_count", "coinbase_value_sat", "subsidy_sat", "fees_sat",
                 "coinbase_tag", "fees_paid_sat")


def blocks_down_from(con: duckdb.DuckDBPyConnection, start_height: int, count: int) -> list[dict[str, object]]:
    """Up to `count` stored blocks from `start_height` downwards, newest first."""
    cols = ", ".join(BLOCK_COLUMNS)
    rows = con.execute(
        f"SELECT {cols} FROM blocks WHERE height <= ? ORDER BY height DESC LIMIT ?",  # noqa: S608 (fixed names)
        [start_height, count]).fetchall()
    return [dict(zip(BLOCK_COLUMNS, r)) for r in rows]


def block_by_hash(con: duckdb.DuckDBPyConnection, block_hash: str) -> dict[str, object] | None:
    cols = ", ".join(BLOCK_COLUMNS)
    row = con.execute(f"SELECT {cols} FROM blocks WHERE hash = ?", [block_hash]).fetchone()  # noqa: S608
    return None if row is None else dict(zip(BLOCK_COLUMNS, row))


def hash_at_height(con: duckdb.DuckDBPyConnection, height: int) -> str | None:
    row = con.execute("SELECT hash FROM blocks WHERE height = ?", [height]).fetchone()
    return None if row is None else str(row[0])


def pool_of(con: duckdb.DuckDBPyConnection, heights: list[int]) -> dict[int, tuple[str, str]]:
    """(slug, name) of the pool of each height that has one."""
    if not heights or not table_exists(con, "block_pools"):
        return {}
    rows = con.execute("SELECT height, pool_slug, pool_name FROM block_pools WHERE list_contains(?, height)",
                       [heights]).fetchall()
    return {int(h): (str(s), str(n)) for h, s, n in rows}


def chainwork_hashrate_hs(con: duckdb.DuckDBPyConnection, blocks: int) -> float | None:
    """Bitcoin Core's getnetworkhashps(blocks) at the tip: work of the last `blocks` blocks divided by
    the spread of their header times (H/s); None with too few blocks or no elapsed time."""
    if blocks <= 0:
        return None
    row = con.execute(
        """WITH last AS (SELECT height, time_s, chainwork FROM blocks ORDER BY height DESC LIMIT ?)
           SELECT max(chainwork) - min(chainwork), max(time_s) - min(time_s), count(*) FROM last""",
        [blocks + 1]).fetchone()
    if row is None or row[2] < 2 or not row[1] or row[1] <= 0:
        return None
    return float(row[0]) / float(row[1])


def blocks_since(con: duckdb.DuckDBPyConnection, start_time_s: int) -> int:
    """Blocks whose header time is after `start_time_s`."""
    return int(con.execute("SELECT count(*) FROM blocks WHERE time_s > ?", [start_time_s]).fetchone()[0])
