"""The live price fetcher, offline: recorded exchange answers served by a real local HTTP server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from minerwatch.errors import MinerwatchError, UsageError
from minerwatch.feeds import spot

ANSWERS = Path(__file__).parent / "data" / "feeds"


def test_each_recorded_answer_parses() -> None:
    assert spot.parse_answer("coinbase", (ANSWERS / "coinbase.json").read_bytes()) == 86075.12
    assert spot.parse_answer("kraken", (ANSWERS / "kraken.json").read_bytes()) == 86080.10   # last trade "c"[0]
    assert spot.parse_answer("bitstamp", (ANSWERS / "bitstamp.json").read_bytes()) == 86070.0
    assert spot.parse_answer("gemini", (ANSWERS / "gemini.json").read_bytes()) == 86062.0
    with pytest.raises(ValueError, match="Unknown asset pair"):
        spot.parse_answer("kraken", (ANSWERS / "kraken-error.json").read_bytes())
    with pytest.raises(ValueError):
        spot.parse_answer("coinbase", b"<html>rate limited</html>")


def test_three_exchanges_averaged_over_http(feeds_server: str) -> None:
    urls = {n: f"{feeds_server}/{n}.json" for n in ("coinbase", "kraken", "bitstamp")}
    q = spot.fetch_spot_usd(["coinbase", "kraken", "bitstamp"], urls, today=date(2024, 11, 25))
    # (86,075.12 + 86,080.10 + 86,070.00) / 3 = 258,225.22 / 3 = 86,075.0733…
    assert q.price_usd == pytest.approx(258_225.22 / 3)
    assert q.source == "live:bitstamp+coinbase+kraken" and q.failed == {}
    assert q.as_dict()["date"] == "2024-11-25"


def test_a_failing_exchange_is_left_out_and_named(feeds_server: str) -> None:
    urls = {"coinbase": f"{feeds_server}/coinbase.json", "kraken": f"{feeds_server}/kraken-error.json",
            "gemini": f"{feeds_server}/missing.json"}
    q = spot.fetch_spot_usd(["coinbase", "kraken", "gemini"], urls, today=date(2024, 11, 25))
    assert q.price_usd == 86075.12 and set(q.failed) == {"kraken", "gemini"}


def test_nothing_answers(feeds_server: str) -> None:
    with pytest.raises(MinerwatchError, match="no exchange answered"):
        spot.fetch_spot_usd(["gemini"], {"gemini": f"{feeds_server}/missing.json"}, timeout_s=2)
    with pytest.raises(UsageError):
        spot.fetch_spot_usd(["binance"])


def test_an_outlier_is_dropped() -> None:
    # Median of (100, 101, 150) is 101; 150 is 48.5 % away → dropped; mean of 100 and 101 = 100.5.
    q = spot.average_quotes({"a": 100.0, "b": 101.0, "c": 150.0}, {}, date(2024, 1, 1))
    assert q.price_usd == 100.5 and "c" in q.failed
