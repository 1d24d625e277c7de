"""Breakeven arithmetic against values worked out by hand from DOMAIN.md's formulas."""

from __future__ import annotations

import json

import pytest

from minerwatch.cli import main
from minerwatch.economics.breakeven import Market, Site, breakeven, hashvalue_btc_per_ph_day, market_from_chain
from minerwatch.errors import UsageError


def test_domain_example_20_j_per_th_at_0_072() -> None:
    # 20 J/TH × 1,000 TH/PH = 20 kW per PH/s; × 24 h = 480 kWh/day; × 0.072 USD/kWh = 34.56 USD/PH/day.
    b = breakeven(20.0, Site(0.072), Market(34.5))
    assert b.energy_kwh_per_ph_day == pytest.approx(480.0)
    assert b.breakeven_hashprice_usd_per_ph_day == pytest.approx(34.56)
    # At 34.5 USD/PH/day: breakeven power = 34.5 / 480 = 0.071875 USD/kWh; margin = 34.5 − 34.56 = −0.06.
    assert b.breakeven_power_usd_per_kwh == pytest.approx(0.071875)
    assert b.margin_usd_per_ph_day == pytest.approx(-0.06)
    # No BTC price given: hashvalue and cost per BTC are unknown, not guessed.
    assert b.cost_per_btc_usd is None and b.hashvalue_btc_per_ph_day is None


def test_pool_fee_and_pue() -> None:
    # PUE 1.1: 20 × 24 × 1.1 = 528 kWh/day; × 0.05 = 26.4 USD/PH/day of energy.
    # Pool fee 2 %: the miner keeps 98 % → breakeven gross hashprice = 26.4 / 0.98 = 26.938775…;
    # net revenue at 40 = 39.2; breakeven power = 39.2 / 528 = 0.0742424…; margin = 39.2 − 26.4 = 12.8.
    b = breakeven(20.0, Site(0.05, pue=1.1, pool_fee_pct=2.0), Market(40.0))
    assert b.energy_cost_usd_per_ph_day == pytest.approx(26.4)
    assert b.breakeven_hashprice_usd_per_ph_day == pytest.approx(26.4 / 0.98)
    assert b.breakeven_power_usd_per_kwh == pytest.approx(0.074242424)
    assert b.margin_usd_per_ph_day == pytest.approx(12.8)


def test_hashvalue_and_cost_per_btc_from_difficulty() -> None:
    # Difficulty 1e14, subsidy 3.125 BTC, no fees: expected hashes per block = 1e14 × 2^32
    # = 4.294967296e23; 1 PH/s does 1e15 × 86,400 = 8.64e19 hashes a day → 8.64e19 / 4.294967296e23
    # = 2.0116567611694336e-4 blocks/day × 3.125 BTC = 6.286427378654480e-4 BTC/PH/day.
    hv = hashvalue_btc_per_ph_day(1e14, 3.125, 0.0)
    assert hv == pytest.approx(6.28642737865448e-4, rel=1e-12)
    m = market_from_chain(1e14, 100_000.0, 0.0, 3.125)
    assert m.hashprice_usd_per_ph_day == pytest.approx(62.8642737865448, rel=1e-12)
    # 20 J/TH at 0.05 USD/kWh costs 20 × 24 × 0.05 = 24 USD/PH/day; per BTC 24 / 6.28642737865448e-4
    # = 24 × 1590.7286281481… = 38,177.4870755… USD; energy 480 kWh / 6.2864e-4 = 763,549.74 kWh.
    b = breakeven(20.0, Site(0.05), m)
    assert b.cost_per_btc_usd == pytest.approx(38177.4870755, rel=1e-9)
    assert b.breakeven_price_usd == b.cost_per_btc_usd
    assert b.energy_per_btc_kwh == pytest.approx(480 * 1590.7286281481481, rel=1e-9)


def test_fees_add_to_hashvalue() -> None:
    # 0.125 BTC of fees per block on 3.125 subsidy raises revenue by 4 %: 3.25 / 3.125 = 1.04.
    assert hashvalue_btc_per_ph_day(1e14, 3.125, 0.125) == pytest.approx(6.28642737865448e-4 * 1.04)


@pytest.mark.parametrize("kwargs", [{"power_usd_per_kwh": -0.01}, {"power_usd_per_kwh": 0.05, "pue": 0.9},
                                    {"power_usd_per_kwh": 0.05, "pool_fee_pct": 100.0}])
def test_bad_site_is_a_usage_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        Site(**kwargs)


def test_cli_breakeven_json(capsys: pytest.CaptureFixture[str]) -> None:
    # The example: 20 J/TH, 0.072 USD/kWh, hashprice 34.5, no pool fee unless given.
    rc = main(["calc", "breakeven", "--efficiency-j-per-th", "20", "--power-usd-per-kwh", "0.072",
               "--hashprice-usd-per-ph-day", "34.5", "--price", "100000", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(34.56)
    assert out["breakeven_power_usd_per_kwh"] == pytest.approx(0.071875)
    assert out["margin_usd_per_ph_day"] == pytest.approx(-0.06)
    assert out["pool_fee_pct"] == 0.0
    # hashvalue = 34.5 / 100,000 = 0.000345 BTC/PH/day → cost per BTC = 34.56 / 0.000345 = 100,173.91 USD.
    assert out["cost_per_btc_usd"] == pytest.approx(100173.913, rel=1e-6)


def test_cli_breakeven_from_difficulty(capsys: pytest.CaptureFixture[str]) -> None:
    # "100T" = 1e14: the hand-worked case above, with a 2 % pool fee: cost per BTC = 38,177.487 / 0.98.
    rc = main(["calc", "breakeven", "--efficiency-j-per-th", "20", "--power-usd-per-kwh", "0.05",
               "--difficulty", "100T", "--price", "100000", "--pool-fee-pct", "2", "--height", "900000", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hashprice_usd_per_ph_day"] == pytest.approx(62.8642737865448)
    assert out["cost_per_btc_usd"] == pytest.approx(38177.4870755 / 0.98, rel=1e-9)


def test_cli_breakeven_without_market_gives_what_needs_none(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["calc", "breakeven", "--efficiency-j-per-th", "20", "--power-usd-per-kwh", "0.05", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    # 20 J/TH × 24 h × 0.05 USD/kWh = 24.00 USD per PH/s per day: the cost, and the hashprice that pays it.
    assert out["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(24.0)
    assert out["breakeven_power_usd_per_kwh"] is None and "need a hashprice" in out["note"]


def test_cli_fleet_without_market_fails(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["calc", "fleet", "docs/examples/fleet.toml"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "no market: no difficulty and BTC price given, and no database at" in err and "hint:" in err
