"""Miner revenue per UTC day: subsidy, fees, unclaimed reward, revenue in BTC and USD, fee share.

Revenue is what the coinbases actually paid (subsidy + claimed fees − unclaimed reward), counted on
the UTC day of each block's header time. USD uses the day's price; a day without a price is None.
"""

from __future__ import annotations

from datetime import date

import duckdb

from minerwatch.metrics.network import first_row
from minerwatch.metrics.registry import Query, metric

_SQL = """
SELECT day, {expr} FROM daily_network
WHERE day >= coalesce(?, DATE '0001-01-01') AND day <= coalesce(?, DATE '9999-12-31') ORDER BY day
"""


def _series(con: duckdb.DuckDBPyConnection, expr: str, q: Query) -> list[tuple[date, float | None]]:
    return [(d, None if v is None else float(v))
            for d, v in con.execute(_SQL.format(expr=expr), [q.start, q.end]).fetchall()]


# (name, unit, definition, SQL expression over daily_network): each registered as a daily series.
_SERIES = (
    ("revenue_btc", "BTC", "coinbase value of the UTC day's blocks (subsidy + fees − unclaimed)", "revenue_sat / 1e8"),
    ("subsidy_btc", "BTC", "new coins the protocol allowed in the UTC day's blocks", "subsidy_sat / 1e8"),
    ("fees_btc", "BTC", "fees claimed by the UTC day's coinbases: Σ max(coinbase value − subsidy, 0)",
     "fees_sat / 1e8"),
    ("fees_paid_btc", "BTC", "fees the UTC day's transactions paid: Σ (inputs − outputs), from the node's undo "
     "data; None on a day with a block read without it", "fees_paid_sat / 1e8"),
    ("unclaimed_btc", "BTC", "reward the UTC day's coinbases left unclaimed: Σ max(subsidy − coinbase value, 0)",
     "unclaimed_sat / 1e8"),
    ("revenue_usd", "USD", "revenue_btc × the day's price; None on a day without a price",
     "revenue_sat / 1e8 * price_usd"),
    ("fees_usd", "USD", "fees_btc × the day's price; None on a day without a price", "fees_sat / 1e8 * price_usd"),
    ("fee_share_pct", "%", "fees / (subsidy + fees) of the UTC day's blocks, in percent",
     "CASE WHEN subsidy_sat + fees_sat > 0 THEN 100.0 * fees_sat / (subsidy_sat + fees_sat) END"),
)


def _register(name: str, unit: str, definition: str, expr: str) -> None:
    def series(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
        return _series(con, expr, q)

    series.__name__ = series.__qualname__ = name
    metric(name, unit, definition, "revenue")(series)


for _spec in _SERIES:
    _register(*_spec)


def revenue_between_btc(con: duckdb.DuckDBPyConnection, start: date, end: date) -> tuple[float, float | None]:
    """Miners' revenue over the UTC days start … end inclusive: (BTC, USD or None if a day lacks a price)."""
    row = first_row(con.execute(
        "SELECT coalesce(sum(revenue_sat), 0) / 1e8, "
        "CASE WHEN count(*) = count(price_usd) THEN sum(revenue_sat / 1e8 * price_usd) END "
        "FROM daily_network WHERE day BETWEEN ? AND ?", [start, end]).fetchall())
    return float(row[0]), None if row[1] is None else float(row[1])
