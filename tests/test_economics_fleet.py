"""ASIC catalog and fleet economics against hand-worked values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minerwatch.cli import main
from minerwatch.economics.breakeven import Market
from minerwatch.economics.catalog import find_model, load_catalog
from minerwatch.economics.fleet import fleet_economics, load_fleet
from minerwatch.errors import UsageError

# Site: 0.05 USD/kWh, PUE 1, no pool fee; fixed costs 3,043.75 USD/month = 100 USD/day
# (a month is 365.25 / 12 = 30.4375 days).
# Line 1: 10 × Antminer S21 (catalog: 200 TH/s, 3,500 W → 17.5 J/TH) = 2,000 TH/s, bought at
#   3,043.75 USD each, depreciated over 10 months → 10 × 3,043.75 / 304.375 days = 100 USD/day.
# Line 2: a model of the user's own, 100 TH/s at 3,000 W (30 J/TH), given as 1,000 TH/s in total.
FLEET = """
[site]
power_usd_per_kwh = 0.05
other_opex_usd_per_month = 3043.75

[[machines]]
model = "antminer s21"
count = 10
unit_cost_usd = 3043.75
depreciation_months = 10

[[machines]]
model = "Home-built"
hashrate_ths_per_unit = 100
power_w = 3000
hashrate_ths = 1000
"""


def test_catalog_ships_nominal_specs() -> None:
    cat = load_catalog()
    assert len(cat) == 17                     # rows of nominal-specs-2016-2025.csv
    s21 = cat["Antminer S21"]
    assert (s21.hashrate_ths, s21.power_w) == (200.0, 3500.0)
    assert s21.efficiency_j_per_th == pytest.approx(17.5)    # 3,500 W / 200 TH/s
    assert cat["Antminer S9"].efficiency_j_per_th == pytest.approx(1323 / 13.5)   # 98.0 J/TH


def test_catalog_f2pool_list_and_user_override(tmp_path: Path) -> None:
    cat = load_catalog(include_f2pool=True)
    # 86 F2Pool rows naming 84 models (Antminer S9 and Hummer Miner H7 Pro (48T) appear twice; the
    # first row is kept) + 17 nominal; 4 names are in both (S19 Pro, S19, S17 Pro, S9): nominal wins.
    assert cat["Antminer S19"].source == "nominal"
    assert cat["Bitfury Tardis B8"].efficiency_j_per_th == pytest.approx(6300 / 80)
    assert cat["Bitfury Tardis B8"].released == "2018-10"
    assert len(cat) == 84 + 17 - 4
    assert cat["Hummer Miner H7 Pro (48T)"].hashrate_ths == 53.0
    mine = tmp_path / "mine.csv"
    mine.write_text("model,manufacturer,hashrate_ths,power_w\nAntminer S21,Bitmain,190,3400\n")
    over = load_catalog(mine)
    assert over["Antminer S21"].hashrate_ths == 190.0 and over["Antminer S21"].source == "mine.csv"


def test_unknown_model_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown machine model"):
        find_model(load_catalog(), "Antminer S99")


def test_fleet_economics_by_hand(tmp_path: Path) -> None:
    f = tmp_path / "fleet.toml"
    f.write_text(FLEET)
    fleet = load_fleet(f, load_catalog())
    # Market: hashprice 50 USD/PH/day at 100,000 USD → hashvalue 0.0005 BTC/PH/day.
    lines, whole = fleet_economics(fleet, Market(50.0, 100_000.0))
    s21, home = lines
    # S21 line, 2 PH/s: revenue 2 × 50 = 100 USD (0.001 BTC); energy 17.5 × 24 × 0.05 = 21 USD/PH → 42;
    # fixed 100 × 2,000 / 3,000 = 66.667; depreciation 100; cost 208.667; profit −108.667.
    assert s21.model == "Antminer S21"
    assert s21.revenue_usd_per_day == pytest.approx(100.0)
    assert s21.revenue_btc_per_day == pytest.approx(0.001)
    assert s21.energy_cost_usd_per_day == pytest.approx(42.0)
    assert s21.fixed_cost_usd_per_day == pytest.approx(200 / 3)
    assert s21.depreciation_usd_per_day == pytest.approx(100.0)
    assert s21.profit_usd_per_day == pytest.approx(100 - 42 - 200 / 3 - 100)
    assert s21.profit_energy_only_usd_per_day == pytest.approx(58.0)
    assert s21.breakeven_hashprice_energy_usd_per_ph_day == pytest.approx(21.0)
    assert s21.breakeven_hashprice_usd_per_ph_day == pytest.approx((42 + 200 / 3 + 100) / 2)
    # Energy per BTC 42 / 0.001 = 42,000 USD (also the shut-off price); all-in 208.667 / 0.001.
    assert s21.cost_per_btc_energy_usd == pytest.approx(42_000.0)
    assert s21.shutoff_price_usd == pytest.approx(42_000.0)
    assert s21.cost_per_btc_usd == pytest.approx(208_666.667, rel=1e-6)
    # Breakeven power: (100 − 66.667 − 100) / 840 kWh < 0: it loses money even on free power.
    assert s21.breakeven_power_usd_per_kwh == pytest.approx((100 - 200 / 3 - 100) / 840)
    # Own model, 1 PH/s at 30 J/TH: energy 30 × 24 × 0.05 = 36; fixed 33.333; no depreciation given;
    # breakeven power (50 − 33.333) / 720 kWh = 0.0231481.
    assert home.efficiency_j_per_th == pytest.approx(30.0)
    assert home.energy_cost_usd_per_day == pytest.approx(36.0)
    assert home.depreciation_usd_per_day == 0.0
    assert home.breakeven_power_usd_per_kwh == pytest.approx(0.0231481, rel=1e-5)
    assert home.shutoff_price_usd == pytest.approx(72_000.0)         # 36 / 0.0005
    # Fleet, 3 PH/s: revenue 150, energy 78, fixed 100, depreciation 100 → cost 278, profit −128;
    # mean efficiency (17.5 × 2,000 + 30 × 1,000) / 3,000 = 21.667 J/TH; cost per BTC 278 / 0.0015.
    assert whole.hashrate_ths == 3000.0
    assert whole.efficiency_j_per_th == pytest.approx(65 / 3)
    assert whole.cost_usd_per_day == pytest.approx(278.0)
    assert whole.profit_usd_per_day == pytest.approx(-128.0)
    assert whole.cost_per_btc_usd == pytest.approx(185_333.333, rel=1e-6)
    assert whole.cost_per_btc_energy_usd == pytest.approx(52_000.0)
    assert whole.breakeven_power_usd_per_kwh == pytest.approx((150 - 200) / 1560)


@pytest.mark.parametrize("bad, message", [
    ("[site]\npue = 1.0\n[[machines]]\nmodel='Antminer S21'\ncount=1\n", "power_usd_per_kwh is required"),
    ("[site]\npower_usd_per_kwh = 0.05\n", "no [[machines]]"),
    ("[site]\npower_usd_per_kwh = 0.05\n[[machines]]\nmodel='Antminer S21'\n", "exactly one of count"),
    ("[site]\npower_usd_per_kwh = 'cheap'\n", "must be a number"),
    ("[site\n", "not valid TOML"),
])
def test_bad_fleet_files(tmp_path: Path, bad: str, message: str) -> None:
    f = tmp_path / "fleet.toml"
    f.write_text(bad)
    with pytest.raises(UsageError, match=message.replace("[", r"\[")):
        load_fleet(f, load_catalog())


def test_cli_fleet_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "fleet.toml"
    f.write_text(FLEET)
    assert main(["calc", "fleet", str(f), "--hashprice-usd-per-ph-day", "50", "--price", "100000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in out["models"]] == ["Antminer S21", "Home-built"]
    assert out["fleet"]["profit_usd_per_day"] == pytest.approx(-128.0)


def test_cli_list_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "fleet", "--list-models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # Sorted by efficiency: the hydro S21 XP (5,676 W / 473 TH/s = 12.0 J/TH) first, the S9 last.
    assert rows[0]["model"] == "Antminer S21 XP Hyd" and rows[-1]["model"] == "Antminer S9"
