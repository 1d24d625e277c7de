"""Difficulty: daily series, the difficulty ribbon, the daily retarget forecast (BRK's pace, from
minerwatch.metrics.retarget) and the next halving."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.consensus import BLOCK_INTERVAL_S, RETARGET_INTERVAL_BLOCKS, SAT_PER_BTC
from minerwatch.metrics.chain_tip import stored_block, subsidy_sat_at, tip
from minerwatch.metrics.history import History
from minerwatch.metrics.network import daily_column
from minerwatch.metrics.registry import Query, metric
from minerwatch.metrics.retarget import brk_pace_pct
from minerwatch.metrics.signals import RIBBON_DAYS


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


# ---- the next halving and the daily retarget forecast ---------------------------------------------

@dataclass(frozen=True, slots=True)
class Halving:
    height: int
    blocks_remaining: int
    subsidy_btc_now: float            # the tip's subsidy by the network's consensus rule
    subsidy_btc_after: float
    estimated_time_s: int             # tip time + remaining × the last 2,016 blocks' mean interval


def next_halving(con: duckdb.DuckDBPyConnection) -> Halving:
    """The next subsidy halving of the database's network: its height, blocks to go, the subsidy
    before and after it, and an estimated time."""
    t = tip(con)
    height, tip_time = t.height, t.block.time_s
    back = stored_block(con, max(height - RETARGET_INTERVAL_BLOCKS, t.first_height))
    n = height - back.height if back is not None else 0
    interval = (tip_time - back.time_s) / n if back is not None and n > 0 and tip_time > back.time_s \
        else BLOCK_INTERVAL_S
    every = t.network.halving_interval_blocks
    target = (height // every + 1) * every
    return Halving(target, target - height, t.subsidy_sat / SAT_PER_BTC,
                   subsidy_sat_at(target, t.network) / SAT_PER_BTC, int(tip_time + (target - height) * interval))


@metric("retarget_forecast_pct", "%",
        "BRK pace at the day's last block: (blocks since the epoch's first × 600 / seconds since − 1) × 100, "
        "clamped to [−75, 300]", "difficulty",
        history=History("the first block of each day's difficulty epoch", epoch=True))
def retarget_forecast_pct(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    rows = con.execute(
        "SELECT d.day, d.last_height % 2016, t.time_s - e.time_s "
        "FROM daily_network d JOIN chain_facts t ON t.height = d.last_height "
        "LEFT JOIN chain_facts e ON e.height = d.last_height - d.last_height % 2016 "
        "WHERE d.day >= coalesce(?, DATE '0001-01-01') AND d.day <= coalesce(?, DATE '9999-12-31') ORDER BY d.day",
        [q.start, q.end]).fetchall()
    # A day whose epoch began before the first stored block has no pace to measure: a gap.
    return [(d, None if seconds is None else brk_pace_pct(int(n), int(seconds))) for d, n, seconds in rows]
