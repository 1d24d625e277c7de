"""Difficulty: daily series, the difficulty ribbon, the epoch's progress, retarget forecasts by
BRK's and mempool.space's methods (each with a 95 % interval), and the next halving."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.consensus import BLOCK_INTERVAL_S, RETARGET_INTERVAL_BLOCKS
from minerwatch.errors import StoreError
from minerwatch.metrics.network import first_row, daily_column, poisson_bounds95
from minerwatch.metrics.registry import Query, metric
from minerwatch.metrics.signals import RIBBON_DAYS

# mempool.space blends in the previous epoch until 503 blocks (a quarter epoch) are in.
MEMPOOL_QUARTER_EPOCH_BLOCKS = 503
MAX_CHANGE_PCT = 300.0     # a retarget at most multiplies difficulty by 4 …
MIN_CHANGE_PCT = -75.0     # … or divides it by 4


@metric("difficulty", "difficulty", "mean difficulty of the UTC day's blocks (Coin Metrics DiffMean)", "difficulty")
def difficulty_mean(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return daily_column(con, "daily_network", "difficulty_mean", q)


@metric("difficulty_close", "difficulty", "difficulty of the UTC day's last block", "difficulty")
def difficulty_close(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return daily_column(con, "daily_network", "difficulty_close", q)


def _register_ribbon(n: int) -> None:
    def series(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
        return daily_column(con, "daily_signals", f"difficulty_sma{n}", q)
    series.__name__ = f"difficulty_sma{n}"
    metric(f"difficulty_sma{n}", "difficulty", f"{n}-day simple average of the daily mean difficulty (difficulty ribbon)",
           "difficulty")(series)


for _n in RIBBON_DAYS:
    _register_ribbon(_n)


@metric("difficulty_ribbon_compression", "ratio",
        "population standard deviation / mean of the seven ribbon averages (14 … 200 days); low = compressed",
        "difficulty")
def difficulty_ribbon_compression(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return daily_column(con, "daily_signals", "difficulty_ribbon_compression", q)


# ---- the epoch and its forecast ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Epoch:
    tip_height: int
    tip_time_s: int
    difficulty: float
    epoch_start_height: int
    epoch_start_time_s: int           # header time of the epoch's first block (mempool's DATime)
    blocks_in_epoch: int              # tip_height % 2016: blocks mined since the retarget, tip excluded
    progress_pct: float
    remaining_blocks: int
    next_retarget_height: int
    previous_retarget_pct: float | None   # the change at the epoch's first block; None if unknown


@dataclass(frozen=True, slots=True)
class RetargetForecast:
    method: str                       # 'brk' | 'mempool'
    change_pct: float
    low95_pct: float                  # 95 % interval from the Poisson count of the blocks used
    high95_pct: float
    blocks_used: int
    seconds_used: float
    mean_block_interval_s: float
    estimated_retarget_time_s: int


@dataclass(frozen=True, slots=True)
class Halving:
    height: int
    blocks_remaining: int
    subsidy_btc_now: float
    subsidy_btc_after: float
    estimated_time_s: int             # tip time + remaining × the last 2,016 blocks' mean interval


def _block(con: duckdb.DuckDBPyConnection, height: int) -> tuple[int, float] | None:
    row = first_row(con.execute("SELECT time_s, difficulty FROM blocks WHERE height = ?", [height]).fetchall())
    return None if row is None else (int(row[0]), float(row[1]))


def epoch(con: duckdb.DuckDBPyConnection) -> Epoch:
    """Where the tip stands in its 2,016-block difficulty epoch."""
    row = first_row(con.execute("SELECT height, time_s, difficulty FROM blocks ORDER BY height DESC LIMIT 1").fetchall())
    if row is None:
        raise StoreError("no blocks stored", "run `minerwatch sync` first")
    tip, tip_time, diff = int(row[0]), int(row[1]), float(row[2])
    in_epoch = tip % RETARGET_INTERVAL_BLOCKS
    start = tip - in_epoch
    start_block = _block(con, start)
    if start_block is None:
        raise StoreError(f"block {start} (the epoch's first) is not stored", "sync the chain from an earlier height")
    before = _block(con, start - 1) if start > 0 else None
    prev_pct = None if before is None else (start_block[1] / before[1] - 1) * 100
    return Epoch(tip, tip_time, diff, start, start_block[0], in_epoch,
                 in_epoch / RETARGET_INTERVAL_BLOCKS * 100, RETARGET_INTERVAL_BLOCKS - in_epoch,
                 start + RETARGET_INTERVAL_BLOCKS, prev_pct)


def _forecast(method: str, blocks: float, seconds: float, ep: Epoch, now_s: int,
              interval_s: float) -> RetargetForecast:
    def change(n: float) -> float:
        pct = (n * BLOCK_INTERVAL_S / seconds - 1) * 100
        return min(max(pct, MIN_CHANGE_PCT), MAX_CHANGE_PCT)
    if blocks <= 0:  # nothing mined yet in the epoch: no pace to speak of
        return RetargetForecast(method, 0.0, MIN_CHANGE_PCT, MAX_CHANGE_PCT, 0, seconds, interval_s,
                                int(now_s + ep.remaining_blocks * interval_s))
    lo, hi = poisson_bounds95(round(blocks))
    scale = blocks / round(blocks) if round(blocks) else 1.0
    return RetargetForecast(method, change(blocks), change(lo * scale), change(hi * scale), round(blocks),
                            seconds, interval_s, int(now_s + ep.remaining_blocks * interval_s))


def forecast_brk(con: duckdb.DuckDBPyConnection, now_s: int | None = None) -> RetargetForecast:
    """BRK: change % = (blocks so far × 600 / seconds so far − 1) × 100: the blocks mined after the
    epoch's first block over the seconds from its time to `now_s` (default: the tip's time)."""
    ep = epoch(con)
    now = ep.tip_time_s if now_s is None else now_s
    blocks = ep.blocks_in_epoch
    seconds = max(now - ep.epoch_start_time_s, 1)
    return _forecast("brk", blocks, seconds, ep, now, seconds / blocks if blocks else BLOCK_INTERVAL_S)


def forecast_mempool(con: duckdb.DuckDBPyConnection, now_s: int | None = None) -> RetargetForecast:
    """mempool.space: before 503 blocks are in, the last 504 blocks' pace with the previous epoch's
    part scaled by its retarget; afterwards (blocks in epoch + 1) over the time since the retarget.
    Clamped to [−75 %, +300 %]."""
    ep = epoch(con)
    now = ep.tip_time_s if now_s is None else now_s
    diff_s = max(0, now - ep.epoch_start_time_s)
    quarter = _block(con, ep.tip_height - MEMPOOL_QUARTER_EPOCH_BLOCKS) if ep.tip_height >= MEMPOOL_QUARTER_EPOCH_BLOCKS else None
    if quarter is not None and ep.blocks_in_epoch < MEMPOOL_QUARTER_EPOCH_BLOCKS and ep.previous_retarget_pct is not None:
        time_last_epoch = ep.epoch_start_time_s - quarter[0]
        span = diff_s + time_last_epoch * (1 + ep.previous_retarget_pct / 100)
        return _forecast("mempool", 504, max(span, 1), ep, now, span / MEMPOOL_QUARTER_EPOCH_BLOCKS)
    actual = (ep.tip_time_s if ep.blocks_in_epoch == RETARGET_INTERVAL_BLOCKS - 1 else now) - ep.epoch_start_time_s
    avg = diff_s / ep.blocks_in_epoch if ep.blocks_in_epoch else BLOCK_INTERVAL_S
    return _forecast("mempool", ep.blocks_in_epoch + 1, max(actual, 1), ep, now, avg)


def next_halving(con: duckdb.DuckDBPyConnection, halving_interval_blocks: int = 210_000) -> Halving:
    """The next subsidy halving: its height, blocks to go and an estimated time."""
    row = first_row(con.execute("SELECT max(height), arg_max(time_s, height) FROM blocks").fetchall())
    if row[0] is None:
        raise StoreError("no blocks stored", "run `minerwatch sync` first")
    tip, tip_time = int(row[0]), int(row[1])
    back = _block(con, max(tip - RETARGET_INTERVAL_BLOCKS, 0))
    n = min(RETARGET_INTERVAL_BLOCKS, tip)
    interval = (tip_time - back[0]) / n if back is not None and n > 0 and tip_time > back[0] else BLOCK_INTERVAL_S
    target = (tip // halving_interval_blocks + 1) * halving_interval_blocks
    era = tip // halving_interval_blocks
    now_btc = (50 * 100_000_000 >> era) / 1e8 if era < 64 else 0.0
    after_btc = (50 * 100_000_000 >> (era + 1)) / 1e8 if era + 1 < 64 else 0.0
    return Halving(target, target - tip, now_btc, after_btc, int(tip_time + (target - tip) * interval))


@metric("retarget_forecast_pct", "%",
        "BRK pace at the day's last block: (blocks since the epoch's first × 600 / seconds since − 1) × 100, "
        "clamped to [−75, 300]", "difficulty")
def retarget_forecast_pct(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    rows = con.execute(
        "SELECT d.day, CASE WHEN d.last_height % 2016 > 0 AND t.time_s > e.time_s THEN "
        "least(greatest(((d.last_height % 2016) * 600.0 / (t.time_s - e.time_s) - 1) * 100, -75.0), 300.0) END "
        "FROM daily_network d JOIN blocks t ON t.height = d.last_height "
        "LEFT JOIN blocks e ON e.height = d.last_height - d.last_height % 2016 "
        "WHERE d.day >= coalesce(?, DATE '0001-01-01') AND d.day <= coalesce(?, DATE '9999-12-31') ORDER BY d.day",
        [q.start, q.end]).fetchall()
    return [(d, None if v is None else float(v)) for d, v in rows]
