"""Chain facts the mining pages and mempool.space-compatible endpoints read: pool shares over an
interval, retarget history, the retarget forecast, blocks per day."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

from minerwatch.queries.db import table_exists
from minerwatch.queries.intervals import INTERVAL_DAYS, parse_interval

EPOCH_BLOCKS = 2016
TARGET_SPACING_S = 600
# mempool.space clamps the forecast to what one retarget can do: ×4 up, ÷4 down.
MAX_CHANGE_PCT, MIN_CHANGE_PCT = 300.0, -75.0


@dataclass(frozen=True, slots=True)
class PoolShare:
    slug: str
    name: str
    blocks: int
    share: float                  # of the interval's blocks, 0–1
    empty_blocks: int             # blocks with only the coinbase


@dataclass(frozen=True, slots=True)
class PoolShares:
    interval: str
    start_time_s: int | None      # window (start, tip time]; None = all history
    end_time_s: int
    blocks: int
    attributed: bool              # False: no pool attribution stored yet
    pools: list[PoolShare]


def interval_start_s(interval: str, tip_time_s: int) -> int | None:
    """Unix start of `interval` counted back from the tip's time (the data's "now")."""
    days = INTERVAL_DAYS[parse_interval(interval)]
    return None if days is None else tip_time_s - days * 86_400


def pool_shares(con: duckdb.DuckDBPyConnection, interval: str, tip_time_s: int) -> PoolShares:
    """Blocks per pool among the blocks whose time is within `interval` before the tip."""
    start = interval_start_s(interval, tip_time_s)
    lo = -(2**62) if start is None else start
    total = con.execute("SELECT count(*) FROM blocks WHERE time_s > ?", [lo]).fetchone()[0]
    if not table_exists(con, "block_pools"):
        return PoolShares(interval, start, tip_time_s, int(total), False, [])
    rows = con.execute(
        """SELECT p.pool_slug, any_value(p.pool_name), count(*), count(*) FILTER (WHERE b.tx_count = 1)
           FROM blocks b JOIN block_pools p USING (height)
           WHERE b.time_s > ?
           GROUP BY p.pool_slug ORDER BY count(*) DESC, p.pool_slug""",
        [lo],
    ).fetchall()
    pools = [PoolShare(s, n, int(c), int(c) / total if total else 0.0, int(e)) for s, n, c, e in rows]
    return PoolShares(interval, start, tip_time_s, int(total), True, pools)


@dataclass(frozen=True, slots=True)
class Retarget:
    height: int
    time_s: int
    difficulty: float
    change_ratio: float | None    # difficulty / previous epoch's difficulty (None for the first)


def retargets(con: duckdb.DuckDBPyConnection, since_time_s: int | None = None) -> list[Retarget]:
    """The first block of every difficulty epoch (height multiple of 2,016), oldest first."""
    rows = con.execute(
        """SELECT height, time_s, difficulty,
                  difficulty / lag(difficulty) OVER (ORDER BY height)
           FROM blocks WHERE height % 2016 = 0 ORDER BY height"""
    ).fetchall()
    out = [Retarget(int(h), int(t), float(d), None if r is None else float(r)) for h, t, d, r in rows]
    if since_time_s is not None:
        out = [r for r in out if r.time_s > since_time_s]
    return out


@dataclass(frozen=True, slots=True)
class RetargetForecast:
    """The next retarget, forecast from the pace since the epoch started (mempool.space/BRK method)."""

    tip_height: int
    tip_time_s: int
    epoch_start_height: int
    epoch_start_time_s: int
    blocks_in_epoch: int
    progress_pct: float
    remaining_blocks: int
    next_retarget_height: int
    mean_block_time_s: float
    change_pct: float
    change_low_pct: float         # 95 % Poisson interval on the pace (±1.96/√N with N blocks in)
    change_high_pct: float
    estimated_retarget_time_s: int
    previous_change_pct: float | None
    current_difficulty: float


def _clamp(x: float) -> float:
    return max(MIN_CHANGE_PCT, min(MAX_CHANGE_PCT, x))


def retarget_forecast(con: duckdb.DuckDBPyConnection) -> RetargetForecast | None:
    """Forecast of the next retarget at the stored tip; None for an empty database."""
    tip = con.execute("SELECT height, time_s, difficulty FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
    if tip is None:
        return None
    height, tip_time, diff = int(tip[0]), int(tip[1]), float(tip[2])
    start_height = height - height % EPOCH_BLOCKS
    rows = dict(con.execute(
        "SELECT height, difficulty FROM blocks WHERE height IN (?, ?)",
        [start_height, start_height - EPOCH_BLOCKS]).fetchall())
    start_row = con.execute("SELECT time_s FROM blocks WHERE height = ?", [start_height]).fetchone()
    start_time = int(start_row[0]) if start_row else tip_time
    n = height - start_height
    elapsed = max(tip_time - start_time, 0)
    mean_s = elapsed / n if n and elapsed else float(TARGET_SPACING_S)
    change = _clamp((TARGET_SPACING_S / mean_s - 1.0) * 100.0)
    # Blocks arrive as a Poisson process: N blocks in the elapsed time estimate the rate to ±1/√N.
    rel = 1.96 / math.sqrt(n) if n else 1.0
    low = _clamp((TARGET_SPACING_S / mean_s * (1 - rel) - 1.0) * 100.0)
    high = _clamp((TARGET_SPACING_S / mean_s * (1 + rel) - 1.0) * 100.0)
    remaining = EPOCH_BLOCKS - n
    prev = None
    if start_height in rows and (start_height - EPOCH_BLOCKS) in rows and rows[start_height - EPOCH_BLOCKS]:
        prev = (float(rows[start_height]) / float(rows[start_height - EPOCH_BLOCKS]) - 1.0) * 100.0
    return RetargetForecast(
        tip_height=height, tip_time_s=tip_time, epoch_start_height=start_height, epoch_start_time_s=start_time,
        blocks_in_epoch=n, progress_pct=n / EPOCH_BLOCKS * 100.0, remaining_blocks=remaining,
        next_retarget_height=start_height + EPOCH_BLOCKS, mean_block_time_s=mean_s,
        change_pct=change, change_low_pct=low, change_high_pct=high,
        estimated_retarget_time_s=int(tip_time + remaining * mean_s),
        previous_change_pct=prev, current_difficulty=diff,
    )


def blocks_per_day(con: duckdb.DuckDBPyConnection, start: date | None, end: date) -> dict[date, int]:
    """Blocks stored per UTC day (by header time) from `start` to `end` inclusive."""
    lo = -(2**62) if start is None else int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())
    hi = int(datetime(end.year, end.month, end.day, tzinfo=timezone.utc).timestamp()) + 86_400
    rows = con.execute(
        """SELECT CAST(to_timestamp(time_s) AT TIME ZONE 'UTC' AS DATE) AS day, count(*)
           FROM blocks WHERE time_s >= ? AND time_s < ? GROUP BY day""",
        [lo, hi],
    ).fetchall()
    return {d if isinstance(d, date) else date.fromisoformat(str(d)): int(c) for d, c in rows}


def last_block_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """UTC day of the tip's header time."""
    row = con.execute("SELECT time_s FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
    return None if row is None else datetime.fromtimestamp(int(row[0]), tz=timezone.utc).date()


BLOCK_COLUMNS = ("height", "hash", "prev_hash", "time_s", "median_time_past_s", "version", "bits", "difficulty",
                 "size_bytes", "weight_wu", "tx_count", "coinbase_value_sat", "subsidy_sat", "fees_sat",
                 "coinbase_tag")


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
