"""Past daily BTC/USD from the exchanges' public daily candles, averaged per day: what
`minerwatch prices fetch --since DATE` back-fills and `sync --follow --prices live` catches up with.

A day's price is the open of its daily candle (the first trade at or after 00:00 UTC), the same
moment as the shipped history (the first one-minute close of the UTC day). Each exchange is a URL
builder and a pure parser of its documented answer, tested offline on recorded answers
(tests/data/feeds/); the days' quotes are averaged with the spot fetcher's rule (spot.average_quotes:
a quote more than 5 % from the day's median is left out).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from minerwatch.errors import UsageError
from minerwatch.feeds.spot import TIMEOUT_S, SpotQuote, average_quotes

DAY_S = 86_400


def _day(ts: float) -> date:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).date()


def _bitstamp(doc: Any) -> dict[date, float]:
    # {"data": {"pair": "BTC/USD", "ohlc": [{"timestamp": "…", "open": "…", "high": …, "close": …}, …]}}
    return {_day(float(c["timestamp"])): float(c["open"]) for c in doc["data"]["ohlc"]}


def _kraken(doc: Any) -> dict[date, float]:
    # {"error": [], "result": {"XXBTZUSD": [[time, open, high, low, close, vwap, volume, count], …], "last": …}}
    if doc.get("error"):
        raise ValueError("; ".join(doc["error"]))
    rows = next(v for k, v in doc["result"].items() if k != "last")
    return {_day(r[0]): float(r[1]) for r in rows}


def _coinbase(doc: Any) -> dict[date, float]:
    # [[time, low, high, open, close, volume], …], newest first
    if not isinstance(doc, list):
        raise ValueError(f"not a list of candles: {str(doc)[:80]}")
    return {_day(r[0]): float(r[3]) for r in doc}


def _bitstamp_url(base: str, start: date, end: date) -> str:
    return base + "?" + urlencode({"step": DAY_S, "limit": 1000, "start": _ts(start), "end": _ts(end)})


def _kraken_url(base: str, start: date, end: date) -> str:
    return base + "?" + urlencode({"pair": "XBTUSD", "interval": 1440, "since": _ts(start) - 1})


def _coinbase_url(base: str, start: date, end: date) -> str:
    return base + "?" + urlencode({"granularity": DAY_S, "start": start.isoformat(), "end": end.isoformat()})


def _ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


@dataclass(frozen=True, slots=True)
class Candles:
    name: str
    url: str
    make_url: Callable[[str, date, date], str]
    parse: Callable[[Any], dict[date, float]]
    days_per_request: int       # the most daily candles one answer holds


EXCHANGES: dict[str, Candles] = {c.name: c for c in (
    Candles("coinbase", "https://api.exchange.coinbase.com/products/BTC-USD/candles", _coinbase_url, _coinbase, 300),
    Candles("kraken", "https://api.kraken.com/0/public/OHLC", _kraken_url, _kraken, 720),
    Candles("bitstamp", "https://www.bitstamp.net/api/v2/ohlc/btcusd/", _bitstamp_url, _bitstamp, 1000),
)}


def parse_candles(exchange: str, body: bytes) -> dict[date, float]:
    """Day → open price in one exchange's JSON answer; ValueError if it holds none."""
    try:
        days = EXCHANGES[exchange].parse(json.loads(body))
    except (KeyError, TypeError, IndexError, StopIteration, json.JSONDecodeError) as e:
        raise ValueError(f"unexpected answer ({type(e).__name__}: {e})") from e
    bad = [d for d, p in days.items() if not p > 0]
    if bad:
        raise ValueError(f"non-positive price on {bad[0]}")
    return days


def fetch_daily_usd(exchanges: list[str], start: date, end: date, urls: dict[str, str] | None = None,
                    timeout_s: float = TIMEOUT_S) -> list[SpotQuote]:
    """Each UTC day start … end (inclusive) that any exchange has a candle for: its averaged open.
    `urls` overrides an exchange's address (tests point it at a local server)."""
    unknown = [e for e in exchanges if e not in EXCHANGES]
    if unknown or not exchanges:
        raise UsageError(f"unknown exchange(s) for past prices: {', '.join(unknown) or '(none given)'}",
                         "choose from: " + ", ".join(EXCHANGES))
    if end < start:
        raise UsageError(f"--since {start} is after {end}", "give a day in the past, YYYY-MM-DD")
    by_day: dict[date, dict[str, float]] = {}
    failed: dict[str, str] = {}
    for name in exchanges:
        ex = EXCHANGES[name]
        base = (urls or {}).get(name, ex.url)
        lo = start
        while lo <= end:
            hi = min(end, lo + timedelta(days=ex.days_per_request - 1))
            req = urllib.request.Request(ex.make_url(base, lo, hi),
                                         headers={"User-Agent": "minerwatch", "Accept": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (fixed https URLs)
                    days = parse_candles(name, resp.read())
            except (urllib.error.URLError, TimeoutError, OSError, ValueError) as e:
                failed[name] = str(getattr(e, "reason", e))
                break
            for d, p in days.items():
                if start <= d <= end:
                    by_day.setdefault(d, {})[name] = p
            lo = hi + timedelta(days=1)
    if not by_day:
        # average_quotes raises the error that names every exchange and why it failed.
        average_quotes({}, failed or {n: "no candle in the range" for n in exchanges}, start)
    return [average_quotes(q, {n: why for n, why in failed.items() if n not in q}, d)
            for d, q in sorted(by_day.items())]
