"""Signals built on the daily network table: Puell Multiple, thermocap, hash ribbons, and the
difficulty ribbon's averages (read through minerwatch.metrics.difficulty)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.metrics.registry import Query, metric

RIBBON_DAYS = (14, 25, 40, 60, 90, 128, 200)

_SIGNALS_SQL = """
INSERT INTO daily_signals
WITH base AS (
    SELECT day, difficulty_mean, price_usd,
           subsidy_sat / 1e8 * price_usd AS issuance_usd,
           (subsidy_sat + fees_sat) / 1e8 * price_usd AS revenue_claimed_usd
    FROM daily_network WHERE day >= $start - INTERVAL 400 DAY
),
first_day AS (SELECT min(day) AS d FROM daily_network),
w AS (
    SELECT base.*,
        avg(difficulty_mean) OVER (ORDER BY day RANGE BETWEEN INTERVAL 13 DAY PRECEDING AND CURRENT ROW) AS s14,
        avg(difficulty_mean) OVER (ORDER BY day RANGE BETWEEN INTERVAL 24 DAY PRECEDING AND CURRENT ROW) AS s25,
        avg(difficulty_mean) OVER (ORDER BY day RANGE BETWEEN INTERVAL 39 DAY PRECEDING AND CURRENT ROW) AS s40,
        avg(difficulty_mean) OVER (ORDER BY day RANGE BETWEEN INTERVAL 59 DAY PRECEDING AND CURRENT ROW) AS s60,
        avg(difficulty_mean) OVER (ORDER BY day RANGE BETWEEN INTERVAL 89 DAY PRECEDING AND CURRENT ROW) AS s90,
        avg(difficulty_mean) OVER (ORDER BY day RANGE BETWEEN INTERVAL 127 DAY PRECEDING AND CURRENT ROW) AS s128,
        avg(difficulty_mean) OVER (ORDER BY day RANGE BETWEEN INTERVAL 199 DAY PRECEDING AND CURRENT ROW) AS s200,
        avg(price_usd) OVER p10 AS p10, count(price_usd) OVER p10 AS n10,
        avg(price_usd) OVER p20 AS p20, count(price_usd) OVER p20 AS n20,
        avg(issuance_usd) OVER y AS issuance_365_usd,
        avg(revenue_claimed_usd) OVER y AS revenue_365_usd,
        min(CASE WHEN price_usd IS NOT NULL THEN day END) OVER y AS first_priced_day
    FROM base
    WINDOW p10 AS (ORDER BY day RANGE BETWEEN INTERVAL 9 DAY PRECEDING AND CURRENT ROW),
           p20 AS (ORDER BY day RANGE BETWEEN INTERVAL 19 DAY PRECEDING AND CURRENT ROW),
           y AS (ORDER BY day RANGE BETWEEN INTERVAL 364 DAY PRECEDING AND CURRENT ROW)
),
cum AS (
    SELECT day,
        CASE WHEN issuance_usd IS NOT NULL THEN coalesce($seed_thermo, 0)
             + sum(issuance_usd) OVER (ORDER BY day ROWS UNBOUNDED PRECEDING) END AS thermo,
        CASE WHEN revenue_claimed_usd IS NOT NULL THEN coalesce($seed_thermo_fees, 0)
             + sum(revenue_claimed_usd) OVER (ORDER BY day ROWS UNBOUNDED PRECEDING) END AS thermo_fees
    FROM base WHERE day >= $start
),
r AS (
    SELECT w.*, fd.d AS first_day,
        CASE WHEN day - INTERVAL 13 DAY >= fd.d THEN s14 END AS r14,
        CASE WHEN day - INTERVAL 24 DAY >= fd.d THEN s25 END AS r25,
        CASE WHEN day - INTERVAL 39 DAY >= fd.d THEN s40 END AS r40,
        CASE WHEN day - INTERVAL 59 DAY >= fd.d THEN s60 END AS r60,
        CASE WHEN day - INTERVAL 89 DAY >= fd.d THEN s90 END AS r90,
        CASE WHEN day - INTERVAL 127 DAY >= fd.d THEN s128 END AS r128,
        CASE WHEN day - INTERVAL 199 DAY >= fd.d THEN s200 END AS r200
    FROM w CROSS JOIN first_day fd WHERE day >= $start
)
SELECT r.day, r14, r25, r40, r60, r90, r128, r200,
       CASE WHEN r200 IS NOT NULL
            THEN list_aggregate([r14, r25, r40, r60, r90, r128, r200], 'stddev_pop')
                 / list_aggregate([r14, r25, r40, r60, r90, r128, r200], 'avg') END,
       CASE WHEN n10 = 10 THEN p10 END,
       CASE WHEN n20 = 20 THEN p20 END,
       CASE WHEN first_priced_day <= r.day - INTERVAL 364 DAY THEN issuance_usd / issuance_365_usd END,
       CASE WHEN first_priced_day <= r.day - INTERVAL 364 DAY THEN revenue_claimed_usd / revenue_365_usd END,
       cum.thermo, cum.thermo_fees
FROM r JOIN cum ON cum.day = r.day
ORDER BY r.day
"""


def refresh_signals(con: duckdb.DuckDBPyConnection, start_day: date) -> None:
    """Recompute daily_signals from `start_day` on; cumulative sums resume from the stored day before."""
    con.execute("DELETE FROM daily_signals WHERE day >= ?", [start_day])
    seed = con.execute(
        "SELECT arg_max(thermocap_usd, day) FILTER (thermocap_usd IS NOT NULL), "
        "arg_max(thermocap_with_fees_usd, day) FILTER (thermocap_with_fees_usd IS NOT NULL) "
        "FROM daily_signals").fetchall()[0]
    con.execute(_SIGNALS_SQL, {"start": start_day, "seed_thermo": seed[0], "seed_thermo_fees": seed[1]})


def _column(con: duckdb.DuckDBPyConnection, column: str, q: Query) -> list[tuple[date, float | None]]:
    return [(d, None if v is None else float(v)) for d, v in con.execute(
        f"SELECT day, {column} FROM daily_signals WHERE day >= coalesce(?, DATE '0001-01-01') "
        "AND day <= coalesce(?, DATE '9999-12-31') ORDER BY day", [q.start, q.end]).fetchall()]


@metric("puell_multiple", "ratio",
        "USD value of the day's subsidy / its 365-day average (subsidy only: Glassnode, BRK)", "signals")
def puell_multiple(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _column(con, "puell_multiple", q)


@metric("puell_multiple_with_fees", "ratio",
        "USD value of the day's subsidy + fees / its 365-day average", "signals")
def puell_multiple_with_fees(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _column(con, "puell_multiple_with_fees", q)


@metric("thermocap_usd", "USD",
        "cumulative subsidy, each day valued at its own price (BRK); days without a price add nothing", "signals")
def thermocap_usd(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _column(con, "thermocap_usd", q)


@metric("thermocap_with_fees_usd", "USD",
        "cumulative subsidy + fees, each day valued at its own price (Coin Metrics)", "signals")
def thermocap_with_fees_usd(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _column(con, "thermocap_with_fees_usd", q)


@metric("price_sma10_usd", "USD", "10-day simple average of the daily price (hash-ribbon buy filter)", "signals")
def price_sma10_usd(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _column(con, "price_sma10_usd", q)


@metric("price_sma20_usd", "USD", "20-day simple average of the daily price (hash-ribbon buy filter)", "signals")
def price_sma20_usd(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return _column(con, "price_sma20_usd", q)


# ---- hash ribbons --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RibbonDay:
    day: date
    sma30_ehs: float
    sma60_ehs: float
    price_sma10_usd: float | None
    price_sma20_usd: float | None


@dataclass(frozen=True, slots=True)
class RibbonSignal:
    day: date
    kind: str                    # 'capitulation' | 'recovery' | 'buy'
    sma30_ehs: float
    sma60_ehs: float


def hash_ribbon_days(con: duckdb.DuckDBPyConnection, q: Query = Query()) -> list[RibbonDay]:
    """Both hashrate averages (and the price averages) for every day on which both exist."""
    rows = con.execute(
        "SELECT n.day, n.hashrate_30d_ehs, n.hashrate_60d_ehs, s.price_sma10_usd, s.price_sma20_usd "
        "FROM daily_network n LEFT JOIN daily_signals s USING (day) "
        "WHERE n.hashrate_60d_ehs IS NOT NULL AND n.day >= coalesce(?, DATE '0001-01-01') "
        "AND n.day <= coalesce(?, DATE '9999-12-31') ORDER BY n.day", [q.start, q.end]).fetchall()
    return [RibbonDay(*r) for r in rows]


# The two averages are sums of the same daily values divided differently: on a flat stretch they
# differ only in the last bits, which must not flip the signal. 1e-9 is far below any real move.
_REL_EPS = 1e-9


def _below(d: RibbonDay) -> bool:
    return d.sma30_ehs < d.sma60_ehs * (1 - _REL_EPS)


def hash_ribbon_signals(days: list[RibbonDay]) -> list[RibbonSignal]:
    """Dates of every capitulation (30-day average falls below the 60-day), recovery (crosses back
    above) and buy (first day from a recovery on, before the next capitulation, with the 10-day price
    average above the 20-day), in date order.

    As Charles Edwards defines the hash ribbons (Hash Ribbons & Bitcoin Bottoms, Capriole
    Investments, 2019): the buy waits for price momentum after the miners' recovery, so it is the
    recovery day when the 10-day price average is already above the 20-day, else the day it crosses
    above. He sets no minimum gap between the averages; _REL_EPS only keeps float rounding on a
    flat stretch from counting as a cross."""
    out: list[RibbonSignal] = []
    below = False
    awaiting_buy = False
    for i, d in enumerate(days):
        now_below = _below(d)
        if i > 0 and now_below and not below:
            out.append(RibbonSignal(d.day, "capitulation", d.sma30_ehs, d.sma60_ehs))
            awaiting_buy = False
        elif i > 0 and below and not now_below:
            out.append(RibbonSignal(d.day, "recovery", d.sma30_ehs, d.sma60_ehs))
            awaiting_buy = True
        if awaiting_buy and d.price_sma10_usd is not None and d.price_sma20_usd is not None \
                and d.price_sma10_usd > d.price_sma20_usd * (1 + _REL_EPS):
            out.append(RibbonSignal(d.day, "buy", d.sma30_ehs, d.sma60_ehs))
            awaiting_buy = False
        below = now_below
    return out


def hash_ribbon_state(days: list[RibbonDay]) -> str | None:
    """'capitulation' while the 30-day average is below the 60-day, else 'normal'; None without data."""
    if not days:
        return None
    return "capitulation" if _below(days[-1]) else "normal"


@metric("hash_ribbon_spread_pct", "%",
        "30-day / 60-day average block-count hashrate − 1, in percent; negative = capitulation (hash ribbons)",
        "signals")
def hash_ribbon_spread_pct(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    out: list[tuple[date, float | None]] = []
    for d in hash_ribbon_days(con, q):
        ratio = d.sma30_ehs / d.sma60_ehs - 1
        out.append((d.day, 0.0 if abs(ratio) < _REL_EPS else ratio * 100))
    return out
