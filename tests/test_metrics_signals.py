"""Puell Multiple, thermocap, difficulty ribbon and hash-ribbon signal dates on hand-built days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from metrics_helpers import DAY_S, T0, Fact, insert_facts, open_db

from minerwatch.metrics import network, prices, signals
from minerwatch.metrics.registry import Query, get

DAY0 = date(2024, 1, 1)


def _one_block_a_day(con, difficulties: list[float]) -> None:  # noqa: ANN001
    """One block per UTC day (at 01:00) from height 840,000 (subsidy 3.125 BTC, no fees)."""
    insert_facts(con, [Fact(840_000 + k, T0 + k * DAY_S + 3600, d) for k, d in enumerate(difficulties)])


def test_puell_thermocap_and_ribbon_compression(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    _one_block_a_day(con, [1e14] * 400)
    # 10,000 USD every day except the last (day 399) at 20,000.
    prices.upsert_prices(con, [(DAY0 + timedelta(days=k), 20_000.0 if k == 399 else 10_000.0) for k in range(400)], "t")
    network.refresh_network(con, 0)
    puell = dict(get("puell_multiple").fn(con, Query()))
    # Daily issuance 3.125 BTC × 10,000 = 31,250 USD. The 365-day window first fits on day 364.
    assert puell[DAY0 + timedelta(days=363)] is None
    assert puell[DAY0 + timedelta(days=364)] == pytest.approx(1.0)
    # Day 399: 62,500 / ((364 × 31,250 + 62,500) / 365) = 22,812,500 / 11,437,500 = 1.99453552
    assert puell[DAY0 + timedelta(days=399)] == pytest.approx(22_812_500 / 11_437_500)
    thermo = dict(get("thermocap_usd").fn(con, Query()))
    # 399 days × 31,250 + 62,500 = 12,531,250 USD.
    assert thermo[DAY0 + timedelta(days=399)] == pytest.approx(399 * 31_250 + 62_500)
    comp = dict(get("difficulty_ribbon_compression").fn(con, Query()))
    # All seven averages equal 1e14 once the 200-day one exists (day 199): spread 0.
    assert comp[DAY0 + timedelta(days=198)] is None
    assert comp[DAY0 + timedelta(days=199)] == pytest.approx(0.0, abs=1e-12)
    sma14 = dict(get("difficulty_sma14").fn(con, Query()))
    assert sma14[DAY0 + timedelta(days=12)] is None and sma14[DAY0 + timedelta(days=13)] == pytest.approx(1e14)


def test_hash_ribbon_capitulation_recovery_and_buy_dates(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    # Difficulty 100 for days 0–99, 50 for days 100–129, 200 from day 130 (one block a day, so the
    # daily hashrate is proportional to difficulty).
    _one_block_a_day(con, [100.0] * 100 + [50.0] * 30 + [200.0] * 40)
    # Flat price 10,000 to day 139, then +1,000 a day.
    prices.upsert_prices(con, [(DAY0 + timedelta(days=k), 10_000.0 + 1_000.0 * max(0, k - 139)) for k in range(170)], "t")
    network.refresh_network(con, 0)
    got = [(s.day, s.kind) for s in signals.hash_ribbon_signals(signals.hash_ribbon_days(con))]
    # Capitulation on day 100: SMA30 = (29 × 100 + 50) / 30 = 98.3 < SMA60 = (59 × 100 + 50) / 60 = 99.2.
    # Day 130 + k (k ≤ 29): SMA30 = (1650 + 150k) / 30, SMA60 = (4600 + 100k) / 60; SMA30 ≥ SMA60
    # ⇔ 200k ≥ 1,300 ⇔ k ≥ 7: recovery on day 137. Buy: price SMA10 > SMA20 first on day 140
    # (10,100 > 10,050); on days 137–139 both are 10,000.
    assert got == [(DAY0 + timedelta(days=100), "capitulation"), (DAY0 + timedelta(days=137), "recovery"),
                   (DAY0 + timedelta(days=140), "buy")]
    spread = dict(get("hash_ribbon_spread_pct").fn(con, Query()))
    # Day 136 (k = 6): (5100/60 ÷ 5200/60 − 1) × 100 = −1.923 %.
    assert spread[DAY0 + timedelta(days=136)] == pytest.approx((5100 / 5200 - 1) * 100)
    assert signals.hash_ribbon_state(signals.hash_ribbon_days(con)) == "normal"
