"""Live BTC/USD spot price from several public exchange APIs, averaged (as the Hashrate Index
prices hashprice at the average of three US exchanges). Only `minerwatch prices fetch` calls it.

Each exchange is a URL and a parser of its documented JSON answer; parsers are pure functions so
they are tested offline on recorded answers (tests/data/feeds/).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from minerwatch.errors import MinerwatchError, UsageError

TIMEOUT_S = 10.0
# A quote this far from the median of the others is a broken answer, not a price (a flash move
# between exchanges is well under 1 %).
MAX_DEVIATION_PCT = 5.0


def _coinbase(doc: Any) -> float:
    return float(doc["data"]["amount"])            # {"data": {"amount": "…", "base": "BTC", "currency": "USD"}}


def _kraken(doc: Any) -> float:
    if doc.get("error"):
        raise ValueError("; ".join(doc["error"]))
    (ticker,) = doc["result"].values()             # {"result": {"XXBTZUSD": {"c": [last price, lot volume], …}}}
    return float(ticker["c"][0])


def _bitstamp(doc: Any) -> float:
    return float(doc["last"])                      # {"last": "…", "bid": "…", "ask": "…", "timestamp": "…"}


def _gemini(doc: Any) -> float:
    return float(doc["last"])                      # {"bid": "…", "ask": "…", "last": "…", "volume": {…}}


@dataclass(frozen=True, slots=True)
class Exchange:
    name: str
    url: str
    parse: Callable[[Any], float]


EXCHANGES: dict[str, Exchange] = {e.name: e for e in (
    Exchange("coinbase", "https://api.coinbase.com/v2/prices/BTC-USD/spot", _coinbase),
    Exchange("kraken", "https://api.kraken.com/0/public/Ticker?pair=XBTUSD", _kraken),
    Exchange("bitstamp", "https://www.bitstamp.net/api/v2/ticker/btcusd/", _bitstamp),
    Exchange("gemini", "https://api.gemini.com/v1/pubticker/btcusd", _gemini),
)}


@dataclass(frozen=True, slots=True)
class SpotQuote:
    day: date                     # UTC day of the fetch
    price_usd: float              # mean of the accepted quotes
    quotes: dict[str, float]      # exchange → its price
    failed: dict[str, str]        # exchange → why it was left out
    source: str                   # 'live:coinbase+kraken+bitstamp'

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "price_usd": self.price_usd, "quotes": self.quotes,
                "failed": self.failed, "source": self.source}


def parse_answer(exchange: str, body: bytes) -> float:
    """The USD price in one exchange's JSON answer; ValueError if it holds none."""
    try:
        price = EXCHANGES[exchange].parse(json.loads(body))
    except (KeyError, TypeError, IndexError, json.JSONDecodeError) as e:
        raise ValueError(f"unexpected answer ({type(e).__name__}: {e})") from e
    if not price > 0:
        raise ValueError(f"non-positive price {price}")
    return price


def average_quotes(quotes: dict[str, float], failed: dict[str, str], day: date) -> SpotQuote:
    """Mean of the quotes after dropping any more than 5 % from the median of all of them."""
    if not quotes:
        raise MinerwatchError("no exchange answered with a price: " + "; ".join(f"{k}: {v}" for k, v in failed.items()),
                              "check the network connection, or import prices from a file: minerwatch prices import FILE.csv")
    ordered = sorted(quotes.values())
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    kept, failed = {}, dict(failed)
    for name, p in quotes.items():
        if abs(p / median - 1) * 100 > MAX_DEVIATION_PCT:
            failed[name] = f"{p} is more than {MAX_DEVIATION_PCT:g} % from the median {median}"
        else:
            kept[name] = p
    price = sum(kept.values()) / len(kept)
    return SpotQuote(day, price, kept, failed, "live:" + "+".join(sorted(kept)))


def fetch_spot_usd(exchanges: list[str], urls: dict[str, str] | None = None,
                   timeout_s: float = TIMEOUT_S, today: date | None = None) -> SpotQuote:
    """Ask each exchange for its BTC/USD price over HTTPS and average the answers.
    `urls` overrides an exchange's address (tests point it at a local server)."""
    unknown = [e for e in exchanges if e not in EXCHANGES]
    if unknown or not exchanges:
        raise UsageError(f"unknown exchange(s): {', '.join(unknown) or '(none given)'}",
                         "choose from: " + ", ".join(EXCHANGES))
    quotes: dict[str, float] = {}
    failed: dict[str, str] = {}
    for name in exchanges:
        url = (urls or {}).get(name, EXCHANGES[name].url)
        req = urllib.request.Request(url, headers={"User-Agent": "minerwatch", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (fixed https URLs)
                quotes[name] = parse_answer(name, resp.read())
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as e:
            failed[name] = str(getattr(e, "reason", e))
    return average_quotes(quotes, failed, today or datetime.now(timezone.utc).date())
