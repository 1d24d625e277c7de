"""Daily BTC/USD: the shipped history, user imports, and the `price_usd` series.

The shipped file (data/btc-usd-daily-2012-2026.csv) holds, for every UTC day 2012-01-01 …
2026-08-22, the close of the first one-minute Bitstamp bar of the day (≈ 00:00 UTC), not a daily
close. A day without a row is a gap: every USD figure of that day is None, never zero.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from minerwatch.economics.catalog import read_user_text
from minerwatch.errors import UsageError
from minerwatch.metrics.registry import Query, metric, refresher

SHIPPED_SOURCE = "bitstamp-first-minute"
SHIPPED_FILE = "btc-usd-daily-2012-2026.csv"
_LOADED_KEY = "prices.default_loaded"


def _first(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The first row or None. (fetchone() would leave a streamed result open, and DuckDB 2 then
    refuses the connection's next statement.)"""
    return rows[0] if rows else None


@dataclass(frozen=True, slots=True)
class PriceImport:
    rows: int                    # days written (new or replaced)
    first_date: date | None      # earliest day written: USD figures from here on are recomputed
    last_date: date | None


def read_price_csv(path: Path | str, text: str | None = None) -> list[tuple[date, float]]:
    """Rows (date, price_usd) of a CSV whose first column is YYYY-MM-DD and second a USD price."""
    name = str(path)
    if text is None:
        text = read_user_text(Path(path), "price file")
    rows: list[tuple[date, float]] = []
    reader = csv.reader(text.splitlines())
    for line_no, rec in enumerate(reader, start=1):
        if not rec or not rec[0].strip():
            continue
        if line_no == 1 and not rec[0].strip()[:1].isdigit():
            continue  # header line
        try:
            day = date.fromisoformat(rec[0].strip())
            price = float(rec[1])
        except (ValueError, IndexError) as e:
            raise UsageError(f"{name}: line {line_no}: expected DATE,PRICE_USD, got {','.join(rec)!r}",
                             "columns: date (YYYY-MM-DD), price in USD; one line per UTC day") from e
        if not math.isfinite(price):  # float() reads "nan", "inf" and "1e999" without complaint
            raise UsageError(f"{name}: line {line_no}: price {rec[1].strip()!r} is not a finite positive number",
                             "write the day's BTC price in USD, e.g. 43250.5; leave out a day without one")
        if not price > 0:
            raise UsageError(f"{name}: line {line_no}: price {price} is not positive",
                             "leave a day out instead of writing 0: a missing day is a gap")
        rows.append((day, price))
    return rows


def upsert_prices(con: duckdb.DuckDBPyConnection, rows: list[tuple[date, float]], source: str) -> PriceImport:
    """Insert or replace the given days' prices."""
    if not rows:
        return PriceImport(0, None, None)
    # One bulk insert through Arrow: row-by-row executemany costs ~10 ms a row in DuckDB.
    table = pa.table({"date": pa.array([d for d, _ in rows], pa.date32()),
                      "price_usd": pa.array([p for _, p in rows], pa.float64()),
                      "source": pa.array([source] * len(rows), pa.string())})
    con.register("_price_rows", table)
    try:
        con.execute("INSERT OR REPLACE INTO prices SELECT date, price_usd, source FROM _price_rows")
    finally:
        con.unregister("_price_rows")
    days = [d for d, _ in rows]
    return PriceImport(len(rows), min(days), max(days))


def load_shipped_prices(con: duckdb.DuckDBPyConnection) -> PriceImport:
    """Load the shipped daily history (replacing those days)."""
    text = resources.files("minerwatch").joinpath("data", SHIPPED_FILE).read_text()
    result = upsert_prices(con, read_price_csv(SHIPPED_FILE, text), SHIPPED_SOURCE)
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [_LOADED_KEY, SHIPPED_FILE])
    return result


def import_prices(con: duckdb.DuckDBPyConnection, path: Path | str) -> PriceImport:
    """`minerwatch prices import FILE.csv`: replace or extend the stored days with the file's."""
    rows = read_price_csv(path)
    if not rows:
        raise UsageError(f"{path} holds no prices", "one line per UTC day: YYYY-MM-DD,PRICE_USD")
    ensure_default_prices(con, 0)  # so that the shipped history never overwrites an import later
    return upsert_prices(con, rows, f"import:{Path(path).name}")


@refresher(10)
def ensure_default_prices(con: duckdb.DuckDBPyConnection, from_height: int) -> None:
    """Load the shipped history once per database; later refreshes leave prices alone."""
    if not con.execute("SELECT 1 FROM meta WHERE key = ?", [_LOADED_KEY]).fetchall():
        load_shipped_prices(con)


def price_on(con: duckdb.DuckDBPyConnection, day: date) -> float | None:
    """BTC/USD of `day`, None when that day has no price."""
    row = _first(con.execute("SELECT price_usd FROM prices WHERE date = ?", [day]).fetchall())
    return None if row is None else float(row[0])


@metric("price_usd", "USD", "BTC/USD of the UTC day (shipped: first one-minute Bitstamp close of the day)",
        "prices")
def price_usd(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
    return [(d, float(p)) for d, p in con.execute(
        "SELECT date, price_usd FROM prices WHERE date >= coalesce(?, DATE '0001-01-01') "
        "AND date <= coalesce(?, DATE '9999-12-31') ORDER BY date", [q.start, q.end]).fetchall()]


# ---- prices that stay current: back-fill and the live day -----------------------------------------

DEFAULT_EXCHANGES = ("coinbase", "kraken", "bitstamp")   # the Hashrate Index's three US exchanges


@dataclass(frozen=True, slots=True)
class LivePrices:
    """Where `fetch_missing_prices` asks: exchange names and, for tests, local URLs for the daily
    candles (`history_urls`) and the spot answers (`spot_urls`)."""

    exchanges: tuple[str, ...] = DEFAULT_EXCHANGES
    history_urls: dict[str, str] | None = None
    spot_urls: dict[str, str] | None = None


def fetch_missing_prices(since: date, today: date, live: LivePrices = LivePrices()) -> list[Any]:
    """Quotes (feeds.spot.SpotQuote) for every day since … today: past days from the exchanges'
    daily candles (the day's open, as the shipped history), today from their spot prices."""
    from datetime import timedelta

    from minerwatch.feeds.history import EXCHANGES as CANDLES
    from minerwatch.feeds.history import fetch_daily_usd
    from minerwatch.feeds.spot import fetch_spot_usd

    quotes: list[Any] = []
    if since < today:
        quotes += fetch_daily_usd([e for e in live.exchanges if e in CANDLES], since, today - timedelta(days=1),
                                  live.history_urls)
    if since <= today:
        quotes.append(fetch_spot_usd(list(live.exchanges), live.spot_urls, today=today))
    return quotes


def store_quotes(con: duckdb.DuckDBPyConnection, quotes: list[Any]) -> PriceImport:
    """Write each quote as its day's price (source 'live:<exchanges>'); the days written."""
    ensure_default_prices(con, 0)   # so that the shipped history never overwrites these later
    by_source: dict[str, list[tuple[date, float]]] = {}
    for q in quotes:
        by_source.setdefault(q.source, []).append((q.day, q.price_usd))
    days: list[date] = []
    for source, rows in by_source.items():
        upsert_prices(con, rows, source)
        days += [d for d, _ in rows]
    return PriceImport(len(days), min(days) if days else None, max(days) if days else None)


def last_price_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day with a stored price."""
    row = _first(con.execute("SELECT max(date) FROM prices").fetchall())
    return None if row is None or row[0] is None else row[0]
