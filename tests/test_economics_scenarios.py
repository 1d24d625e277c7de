"""Monthly projections and treasury runway, worked by hand."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from minerwatch.cli import main
from minerwatch.economics.breakeven import Site
from minerwatch.economics.fleet import Fleet, FleetLine
from minerwatch.economics.scenarios import MonthProjection, Scenario, price_path, project, runway

# 1 PH/s at 20 J/TH, 0.05 USD/kWh: 20 × 24 × 0.05 = 24 USD of power a day; nothing else.
FLEET = Fleet(Site(0.05), (FleetLine("test", 1000.0, 20.0, 10.0, 0.0, 36.0),))
# Difficulty 1e14, 3.125 BTC, no fees: 6.28642737865448e-4 BTC/PH/day (see test_economics_breakeven).
HV = 6.28642737865448e-4


def test_two_months_price_halves() -> None:
    s = Scenario(date(2025, 1, 1), 2, 1e14, 0.0, 3.125, (100_000.0, 50_000.0))
    jan, feb = project(FLEET, s)
    # January, 31 days: hashprice 62.864…; revenue 62.8642737865448 × 31 = 1,948.7924874; power 24 × 31 = 744.
    assert (jan.month, jan.days) == ("2025-01", 31)
    assert jan.hashprice_usd_per_ph_day == pytest.approx(HV * 100_000)
    assert jan.revenue_usd == pytest.approx(1948.7924874)
    assert jan.cost_usd == pytest.approx(744.0)
    assert jan.profit_usd == pytest.approx(1204.7924874)
    assert jan.revenue_btc == pytest.approx(HV * 31)
    # February 2025, 28 days at half the price: 31.4321368932724 × 28 = 880.0998330; power 672.
    assert (feb.month, feb.days) == ("2025-02", 28)
    assert feb.revenue_usd == pytest.approx(880.0998330)
    assert feb.profit_usd == pytest.approx(208.0998330)


def test_difficulty_growth_and_halving() -> None:
    # +10 %/month: month 2 difficulty 1e14 × 1.21 → hashprice 62.8643 / 1.21 = 51.9539.
    s = Scenario(date(2025, 11, 1), 3, 1e14, 0.0, 3.125, (100_000.0,), 10.0)
    months = project(FLEET, s)
    assert [m.month for m in months] == ["2025-11", "2025-12", "2026-01"]     # across the year end
    assert months[2].hashprice_usd_per_ph_day == pytest.approx(HV * 100_000 / 1.21)
    assert months[2].price_usd == 100_000.0                                  # the last price repeats
    # Halving from month 1: the subsidy is 1.5625 and the hashprice halves.
    h = project(FLEET, Scenario(date(2025, 1, 1), 2, 1e14, 0.0, 3.125, (100_000.0,), 0.0, 1))
    assert h[1].hashprice_usd_per_ph_day == pytest.approx(h[0].hashprice_usd_per_ph_day / 2)


def test_price_path() -> None:
    # −10 %/month from 100,000: 100,000, 90,000, 81,000.
    assert price_path(100_000.0, -10.0, 3) == pytest.approx((100_000.0, 90_000.0, 81_000.0))


def _month(name: str, revenue: float, cost: float, price: float) -> MonthProjection:
    return MonthProjection(name, 30, price, 1e14, 0.0, revenue, cost, cost, revenue - cost, revenue / price)


def test_runway_runs_out() -> None:
    # Treasury 0.01 BTC + 100 USD; each month revenue 50, costs 200, price 10,000.
    # Month 1: cash 100 + 50 − 200 = −50 → sell 0.005 BTC → 0.005 BTC, 0 USD.
    # Month 2: cash −150 needs 0.015 BTC > 0.005 → cannot pay in month 2; one month covered.
    months = [_month("2025-01", 50, 200, 10_000), _month("2025-02", 50, 200, 10_000)]
    r = runway(months, 0.01, 100.0)
    assert r.months_covered == 1 and r.runs_out == "2025-02"
    assert r.treasury_btc == pytest.approx((0.005,)) and r.treasury_cash_usd == (0.0,)


def test_runway_beyond_horizon_and_hodl() -> None:
    months = [_month("2025-01", 300, 200, 10_000)]
    # Profitable: cash 0 + 300 − 200 = 100; nothing sold.
    assert runway(months, 1.0, 0.0).months_covered is None
    # Holding production: +0.03 BTC mined, costs 200 paid by selling 0.02 BTC → 1.01 BTC.
    r = runway(months, 1.0, 0.0, hodl_production=True)
    assert r.treasury_btc == pytest.approx((1.01,)) and r.treasury_cash_usd == (0.0,)


def test_cli_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "fleet.toml"
    f.write_text("[site]\npower_usd_per_kwh = 0.05\n[[machines]]\nmodel = 'x'\nhashrate_ths_per_unit = 100\n"
                 "power_w = 2000\ncount = 10\n")
    assert main(["calc", "scenario", str(f), "--months", "2", "--start", "2025-01", "--difficulty", "1e14",
                 "--price-path", "100000,50000", "--subsidy-btc", "3.125", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m["month"] for m in out["months"]] == ["2025-01", "2025-02"]
    assert out["months"][1]["profit_usd"] == pytest.approx(208.0998330)
    assert out["runway"]["months_covered"] is None
    # −50 %/month from 100,000 gives the same two prices.
    assert main(["calc", "scenario", str(f), "--months", "2", "--start", "2025-01", "--difficulty", "1e14",
                 "--price", "100000", "--price-change-pct-per-month", "-50", "--subsidy-btc", "3.125", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [m["price_usd"] for m in again["months"]] == [100_000.0, 50_000.0]
    assert main(["calc", "scenario", str(f), "--difficulty", "1e14"]) == 1
    assert "a scenario starts from a difficulty and a price (no database at" in capsys.readouterr().err
