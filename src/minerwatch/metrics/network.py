"""Network hashrate estimates and the derived tables every network metric reads.

block_network holds what is defined per block (BRK's trailing-24 h estimate, Core's
getnetworkhashps(120), the Hashrate Index hashprice); daily_network aggregates per UTC day of the
header time. One refresher keeps both (and daily_signals) in step with `chain_facts` — the stored
blocks, and the stored headers where no block is — from a height on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from math import sqrt
from typing import Any

import duckdb

from minerwatch.errors import UsageError
from minerwatch.metrics import signals
from minerwatch.metrics.history import History
from minerwatch.metrics.registry import Query, metric, refresher

HASHES_PER_DIFFICULTY = 2**32
EPOCH = date(1970, 1, 1)
# Daily windows look back at most 365 days (Puell); keep a margin for days without blocks.
LOOKBACK_DAYS = 400
Z95 = 1.959963984540054

_BLOCK_SQL = """
INSERT INTO block_network
WITH b AS (
    SELECT height, time_s, difficulty, chainwork, coinbase_value_sat, subsidy_sat, fees_sat,
           DATE '1970-01-01' + CAST(time_s // 86400 AS INTEGER) AS day,
           greatest(coalesce($seed_clock, 0),
                    max(time_s) OVER (ORDER BY height ROWS UNBOUNDED PRECEDING)) AS clock_s,
           sum(coinbase_value_sat) OVER (ORDER BY height ROWS UNBOUNDED PRECEDING) AS cum_rev_sat,
           -- heights known from their header alone: a window holding one has no revenue figure
           sum(CASE WHEN coinbase_value_sat IS NULL THEN 1 ELSE 0 END)
               OVER (ORDER BY height ROWS UNBOUNDED PRECEDING) AS cum_bodiless,
           CASE WHEN count(fees_sat) OVER w144 = count(*) OVER w144 THEN avg(fees_sat) OVER w144 END
               AS fees_sma144_sat,
           first_value(chainwork) OVER w120 AS chainwork_start,
           min(time_s) OVER w120 AS min_time_s,
           max(time_s) OVER w120 AS max_time_s
    FROM chain_facts WHERE height >= $ctx
    WINDOW w120 AS (ORDER BY height ROWS 120 PRECEDING), w144 AS (ORDER BY height ROWS 143 PRECEDING)
),
steps AS (
    SELECT clock_s, max(height) AS last_height, max(cum_rev_sat) AS cum_rev_sat,
           max(cum_bodiless) AS cum_bodiless FROM b GROUP BY clock_s
),
j AS (
    SELECT b.*, coalesce(s.last_height, $ctx - 1) AS start_height, coalesce(s.cum_rev_sat, 0) AS start_cum_sat,
           coalesce(s.cum_bodiless, 0) AS start_bodiless
    FROM b ASOF LEFT JOIN steps s ON b.clock_s - 86400 >= s.clock_s
),
k AS (
    SELECT j.*, height - start_height AS blocks_24h,
           CASE WHEN cum_bodiless = start_bodiless THEN CAST(cum_rev_sat - start_cum_sat AS BIGINT) END
               AS revenue_24h_sat,
           (height - start_height) / 144.0 * difficulty * 4294967296.0 / 600.0 / 1e18 AS hashrate_24h_ehs,
           (subsidy_sat + fees_sma144_sat) / 1e8 * 86400.0 * 1e15 / (difficulty * 4294967296.0)
               AS hashvalue_btc_per_ph_day,
           subsidy_sat / 1e8 * 86400.0 * 1e15 / (difficulty * 4294967296.0) AS hashvalue_subsidy_btc_per_ph_day,
           p.price_usd
    FROM j LEFT JOIN prices p ON p.date = j.day
    WHERE height >= $from
)
SELECT height, day, clock_s, blocks_24h, revenue_24h_sat, hashrate_24h_ehs,
       CASE WHEN max_time_s > min_time_s
            THEN CAST(chainwork - chainwork_start AS DOUBLE) / (max_time_s - min_time_s) / 1e18 END,
       fees_sma144_sat,
       hashvalue_btc_per_ph_day,
       hashvalue_btc_per_ph_day * price_usd,
       revenue_24h_sat / 1e8 / (hashrate_24h_ehs * 1000.0),
       revenue_24h_sat / 1e8 / (hashrate_24h_ehs * 1000.0) * price_usd,
       hashvalue_subsidy_btc_per_ph_day,
       hashvalue_subsidy_btc_per_ph_day * price_usd
FROM k ORDER BY height
"""

_DAILY_SQL = """
INSERT INTO daily_network
WITH fresh AS (
    SELECT day, count(*) AS blocks, min(height) AS first_height, max(height) AS last_height,
           avg(difficulty) AS difficulty_mean, arg_max(difficulty, height) AS difficulty_close,
           sum(subsidy_sat) AS subsidy_sat,
           -- a day with a height known from its header alone has no fee or revenue total
           CASE WHEN count(fees_sat) = count(*) THEN sum(fees_sat) END AS fees_sat,
           CASE WHEN count(unclaimed_sat) = count(*) THEN sum(unclaimed_sat) END AS unclaimed_sat,
           CASE WHEN count(coinbase_value_sat) = count(*) THEN sum(coinbase_value_sat) END AS revenue_sat,
           -- true fees only where every block of the day was read with its undo data
           CASE WHEN count(fees_paid_sat) = count(*) THEN sum(fees_paid_sat) END AS fees_paid_sat,
           sum(difficulty) * 4294967296.0 / 86400.0 / 1e18 AS hashrate_ehs
    FROM (SELECT *, DATE '1970-01-01' + CAST(time_s // 86400 AS INTEGER) AS day
          FROM chain_facts WHERE time_s >= $start_s)
    GROUP BY day
),
base AS (
    SELECT day, blocks, hashrate_ehs, false AS is_new FROM daily_network
    WHERE day >= $start - INTERVAL 400 DAY AND day < $start
    UNION ALL
    SELECT day, blocks, hashrate_ehs, true FROM fresh
),
first_day AS (SELECT coalesce($first_day, (SELECT min(day) FROM fresh)) AS d),
win AS (
    SELECT day, is_new,
           sum(blocks) OVER w7 AS blocks_7d, sum(hashrate_ehs) OVER w7 / 7.0 AS hashrate_7d_ehs,
           sum(blocks) OVER w30 AS blocks_30d, sum(hashrate_ehs) OVER w30 / 30.0 AS hashrate_30d_ehs,
           sum(blocks) OVER w60 AS blocks_60d, sum(hashrate_ehs) OVER w60 / 60.0 AS hashrate_60d_ehs
    FROM base
    WINDOW w7 AS (ORDER BY day RANGE BETWEEN INTERVAL 6 DAY PRECEDING AND CURRENT ROW),
           w30 AS (ORDER BY day RANGE BETWEEN INTERVAL 29 DAY PRECEDING AND CURRENT ROW),
           w60 AS (ORDER BY day RANGE BETWEEN INTERVAL 59 DAY PRECEDING AND CURRENT ROW)
)
SELECT f.day, f.blocks, f.first_height, f.last_height, f.difficulty_mean, f.difficulty_close,
       f.subsidy_sat, f.fees_sat, f.unclaimed_sat, f.revenue_sat, p.price_usd, f.hashrate_ehs,
       CASE WHEN f.day - INTERVAL 6 DAY >= fd.d THEN w.blocks_7d END,
       CASE WHEN f.day - INTERVAL 6 DAY >= fd.d THEN w.hashrate_7d_ehs END,
       CASE WHEN f.day - INTERVAL 29 DAY >= fd.d THEN w.blocks_30d END,
       CASE WHEN f.day - INTERVAL 29 DAY >= fd.d THEN w.hashrate_30d_ehs END,
       CASE WHEN f.day - INTERVAL 59 DAY >= fd.d THEN w.blocks_60d END,
       CASE WHEN f.day - INTERVAL 59 DAY >= fd.d THEN w.hashrate_60d_ehs END,
       bn.hashrate_24h_ehs, bn.hashrate_cw120_ehs,
       bn.hashvalue_btc_per_ph_day, bn.hashprice_usd_per_ph_day,
       bn.hashvalue_brk_btc_per_ph_day, bn.hashprice_brk_usd_per_ph_day,
       f.revenue_sat / 1e8 / (f.hashrate_ehs * 1000.0),
       f.revenue_sat / 1e8 / (f.hashrate_ehs * 1000.0) * p.price_usd,
       bn.hashvalue_subsidy_btc_per_ph_day, bn.hashprice_subsidy_usd_per_ph_day, f.fees_paid_sat
FROM fresh f
JOIN win w ON w.day = f.day AND w.is_new
JOIN block_network bn ON bn.height = f.last_height
CROSS JOIN first_day fd
LEFT JOIN prices p ON p.date = f.day
ORDER BY f.day
"""


def first_row(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The first row or None. (fetchone() would leave a streamed result open, and DuckDB 2 then
    refuses the connection's next statement.)"""
    return rows[0] if rows else None


def day_of(time_s: int) -> date:
    """UTC day of a unix time."""
    return EPOCH + timedelta(days=time_s // 86400)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    row = first_row(con.execute(sql, params or []).fetchall())
    return None if row is None else row[0]


def refresh_blocks(con: duckdb.DuckDBPyConnection, from_height: int) -> date | None:
    """Recompute block_network from `from_height` on; returns the earliest UTC day touched."""
    stored_end = _scalar(con, "SELECT max(height) + 1 FROM block_network")
    first_height = _scalar(con, "SELECT min(height) FROM chain_facts")
    if stored_end is not None:
        start = min(from_height, int(stored_end))  # never leave a hole if the table lags behind
    else:
        start = int(first_height) if first_height is not None else from_height
    old_day = _scalar(con, "SELECT min(day) FROM block_network WHERE height >= ?", [start])
    con.execute("DELETE FROM block_network WHERE height >= ?", [start])
    if first_height is None:
        return old_day  # type: ignore[return-value]
    prev_clock = _scalar(con, "SELECT clock_s FROM block_network WHERE height = ?", [start - 1])
    ctx = start - 143  # the 144-block fee average reaches furthest back (Core's n = 120 less so)
    if prev_clock is not None:
        # The 24 h window of every block from `start` on begins after the last block whose clock is
        # ≤ prev_clock − 86,400 s; the running sums need that block inside the context.
        lo = _scalar(con, "SELECT min(height) FROM block_network WHERE clock_s > ? AND height < ?",
                     [int(prev_clock) - 86400, start])
        ctx = min(ctx, int(lo if lo is not None else start) - 1)
    ctx = max(ctx, int(first_height))
    seed = _scalar(con, "SELECT clock_s FROM block_network WHERE height = ?", [ctx - 1])
    con.execute(_BLOCK_SQL, {"seed_clock": seed, "ctx": ctx, "from": start})
    new_day = _scalar(con, "SELECT min(day) FROM block_network WHERE height >= ?", [start])
    days = [d for d in (old_day, new_day) if d is not None]
    return min(days) if days else None  # type: ignore[type-var]


def refresh_days(con: duckdb.DuckDBPyConnection, start_day: date) -> None:
    """Recompute daily_network from `start_day` on (windows reach back into stored days)."""
    con.execute("DELETE FROM daily_network WHERE day >= ?", [start_day])
    first_day = _scalar(con, "SELECT min(day) FROM daily_network")
    start_s = (start_day - EPOCH).days * 86400
    con.execute(_DAILY_SQL, {"start": start_day, "start_s": start_s, "first_day": first_day})


@refresher(20)
def refresh_network(con: duckdb.DuckDBPyConnection, from_height: int) -> None:
    """block_network, daily_network and daily_signals from the day of `from_height` on."""
    start_day = refresh_blocks(con, from_height)
    if start_day is None:
        return
    refresh_days(con, start_day)
    signals.refresh_signals(con, start_day)


# ---- Poisson intervals -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HashrateEstimate:
    day: date
    blocks: int
    hashrate_ehs: float
    low95_ehs: float            # 95 % Poisson interval on the block count (Byar's approximation)
    high95_ehs: float


def poisson_bounds95(n: int) -> tuple[float, float]:
    """95 % interval for the mean of a Poisson count n (Byar): (low, high) in counts."""
    if n <= 0:
        return 0.0, 3.6889  # the exact upper bound for n = 0 is −ln(0.025)
    lo = n * (1 - 1 / (9 * n) - Z95 / (3 * sqrt(n))) ** 3
    m = n + 1
    hi = m * (1 - 1 / (9 * m) + Z95 / (3 * sqrt(m))) ** 3
    return lo, hi


def hashrate_interval_ehs(hashrate_ehs: float, blocks: int) -> tuple[float, float]:
    """95 % interval of a block-count estimate made from `blocks` blocks: (low_ehs, high_ehs)."""
    lo, hi = poisson_bounds95(blocks)
    return hashrate_ehs * lo / blocks, hashrate_ehs * hi / blocks


_WINDOWS = {1: ("blocks", "hashrate_ehs"), 7: ("blocks_7d", "hashrate_7d_ehs"),
            30: ("blocks_30d", "hashrate_30d_ehs"), 60: ("blocks_60d", "hashrate_60d_ehs")}


def hashrate_estimates(con: duckdb.DuckDBPyConnection, window_days: int, q: Query = Query()) -> list[HashrateEstimate]:
    """Block-count hashrate over a 1, 7, 30 or 60-day window ending each day, with its 95 % interval."""
    if window_days not in _WINDOWS:
        raise UsageError(f"no {window_days}-day hashrate window", f"use one of {sorted(_WINDOWS)} days")
    n_col, h_col = _WINDOWS[window_days]
    rows = con.execute(
        f"SELECT day, {n_col}, {h_col} FROM daily_network WHERE {h_col} IS NOT NULL "
        "AND day >= coalesce(?, DATE '0001-01-01') AND day <= coalesce(?, DATE '9999-12-31') ORDER BY day",
        [q.start, q.end]).fetchall()
    out = []
    for d, n, h in rows:
        lo, hi = hashrate_interval_ehs(h, n)
        out.append(HashrateEstimate(d, int(n), float(h), lo, hi))
    return out


# ---- series --------------------------------------------------------------------------------------

def daily_column(con: duckdb.DuckDBPyConnection, table: str, column: str, q: Query) -> list[tuple[date, float | None]]:
    """Rows (day, value) of one column of a daily table; `table`/`column` are code constants."""
    return [(d, None if v is None else float(v)) for d, v in con.execute(
        f"SELECT day, {column} FROM {table} WHERE day >= coalesce(?, DATE '0001-01-01') "
        "AND day <= coalesce(?, DATE '9999-12-31') ORDER BY day", [q.start, q.end]).fetchall()]


def _register_column(name: str, unit: str, definition: str, family: str, table: str, column: str,
                     history: History | None = None) -> None:
    def series(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
        return daily_column(con, table, column, q)
    series.__name__ = name
    metric(name, unit, definition, family, history=history)(series)


def day_history(days: int) -> History:
    """Whole UTC days of blocks: the first stored day may lack its earlier blocks."""
    return History("the blocks of the whole UTC day" if days == 1 else f"the blocks of {days} whole UTC days",
                   days=days)


# Core's getnetworkhashps(120): the work of the 120 blocks before the day's last block.
CHAINWORK_HISTORY = History("the 120 blocks before each day's last block (Core's getnetworkhashps)", blocks=120)
# BRK: the blocks of the 24 h of header time before the day's last block.
TRAILING_24H_HISTORY = History("the blocks of the 24 h before each day's last block", seconds=86_400)


def _register_band(name: str, window_days: int, which: str) -> None:
    def series(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
        return [(e.day, e.low95_ehs if which == "low" else e.high95_ehs)
                for e in hashrate_estimates(con, window_days, q)]
    series.__name__ = name
    label = "one-day" if window_days == 1 else f"{window_days}-day"
    metric(name, "EH/s", f"{which} end of the 95 % Poisson interval of the {label} block-count hashrate",
           "network", history=day_history(window_days))(series)


_register_column("hashrate_ehs", "EH/s",
                 "block-count estimate per UTC day: blocks / 144 × mean difficulty × 2^32 / 600 (Coin Metrics HashRate)",
                 "network", "daily_network", "hashrate_ehs", day_history(1))
for _n in (7, 30, 60):
    _register_column(f"hashrate_ehs_{_n}d", "EH/s",
                     f"{_n}-day average of the daily block-count hashrate (= expected hashes in {_n} days / {_n} days)",
                     "network", "daily_network", f"hashrate_{_n}d_ehs", day_history(_n))
for _n, _prefix in ((1, "hashrate_ehs"), (7, "hashrate_ehs_7d"), (30, "hashrate_ehs_30d"), (60, "hashrate_ehs_60d")):
    _register_band(f"{_prefix}_low95", _n, "low")
    _register_band(f"{_prefix}_high95", _n, "high")
_register_column("hashrate_brk_ehs", "EH/s",
                 "BRK: blocks in the trailing 24 h / 144 × difficulty × 2^32 / 600, at the day's last block",
                 "network", "daily_network", "hashrate_24h_close_ehs", TRAILING_24H_HISTORY)
_register_column("hashrate_chainwork_ehs", "EH/s",
                 "Bitcoin Core getnetworkhashps(120): chainwork over the last 120 blocks / their time span, at the day's last block",
                 "network", "daily_network", "hashrate_cw120_close_ehs", CHAINWORK_HISTORY)
_register_column("blocks", "blocks", "blocks whose header time falls in the UTC day", "network",
                 "daily_network", "blocks")


def first_height_on_or_after(con: duckdb.DuckDBPyConnection, day: date) -> int | None:
    """The lowest height of a block whose UTC day is `day` or later (header times are not monotone)."""
    v = _scalar(con, "SELECT min(height) FROM chain_facts WHERE time_s >= ?", [(day - EPOCH).days * 86400])
    return None if v is None else int(v)
