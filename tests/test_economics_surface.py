"""Cost surface and the network's cost of production under a fleet mix, worked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minerwatch.cli import main
from minerwatch.economics.breakeven import Market
from minerwatch.economics.surface import DEFAULT_MIX, cost_surface, load_mix, network_cost, surface_chart
from minerwatch.errors import UsageError


def test_surface_cells_and_chart_shape() -> None:
    # hashprice 50 USD/PH/day at 100,000 USD → 0.0005 BTC/PH/day.
    # 20 J/TH: 480 kWh/day → at 0.05: cost 24, margin 26, per BTC 48,000; at 0.10: 48, 2, 96,000.
    # 30 J/TH: 720 kWh/day → at 0.05: 36, 14, 72,000; at 0.10: 72, −22, 144,000.
    effs, prices = (20.0, 30.0), (0.05, 0.10)
    cells = cost_surface(effs, prices, Market(50.0, 100_000.0))
    assert [(c.efficiency_j_per_th, c.power_usd_per_kwh) for c in cells] == [(20, 0.05), (20, 0.1), (30, 0.05), (30, 0.1)]
    assert [c.margin_usd_per_ph_day for c in cells] == pytest.approx([26.0, 2.0, 14.0, -22.0])
    assert [c.cost_per_btc_usd for c in cells] == pytest.approx([48_000, 96_000, 72_000, 144_000])
    chart = surface_chart(cells, effs, prices)
    assert [x for row in chart["z_margin_usd_per_ph_day"] for x in row] == pytest.approx([26.0, 2.0, 14.0, -22.0])
    assert chart["x_power_usd_per_kwh"] == [0.05, 0.1] and chart["y_efficiency_j_per_th"] == [20.0, 30.0]


def test_default_mix_sums_to_100() -> None:
    assert sum(m.share_pct for m in DEFAULT_MIX) == pytest.approx(100.0)


def test_network_cost_default_mix_at_20() -> None:
    # Energy cost per PH/day of each default class (E × 24 × p):
    #   13.5@0.045 = 14.58 (10 %), 15@0.045 = 16.20 (15 %), 17.5@0.045 = 18.90 (30 %),
    #   21.5@0.045 = 23.22 (15 %), 23@0.04 = 22.08 (10 %), 26@0.04 = 24.96 (10 %),
    #   29.5@0.035 = 24.78 (7 %), 34@0.035 = 28.56 (3 %).
    # Weighted mean = (145.8 + 243 + 567 + 348.3 + 220.8 + 249.6 + 173.46 + 85.68) / 100 = 20.3364.
    # At hashprice 20 the last five classes lose money: 15 + 10 + 10 + 7 + 3 = 45 %.
    # Median: cheapest first 14.58 (10), 16.20 (25), 18.90 (55 ≥ 50) → 18.90.
    net = network_cost(DEFAULT_MIX, Market(20.0, 50_000.0))
    assert net.energy_cost_usd_per_ph_day == pytest.approx(20.3364)
    assert net.share_at_loss_pct == pytest.approx(45.0)
    assert net.median_class_breakeven_usd_per_ph_day == pytest.approx(18.9)
    # hashvalue 20 / 50,000 = 0.0004 BTC/PH/day → cost per BTC 20.3364 / 0.0004 = 50,841 USD.
    assert net.cost_per_btc_usd == pytest.approx(50_841.0)
    # Mean efficiency: (135 + 225 + 525 + 322.5 + 230 + 260 + 206.5 + 102) / 100 = 20.06 J/TH.
    assert net.mean_efficiency_j_per_th == pytest.approx(20.06)


def test_user_mix(tmp_path: Path) -> None:
    f = tmp_path / "mix.csv"
    f.write_text("efficiency_j_per_th,share_pct,power_usd_per_kwh,label\n20,50,0.05,new\n40,50,0.05,old\n")
    # 20 J/TH → 24 USD/PH/day, 40 J/TH → 48; at hashprice 30 the old half loses; mean 36.
    net = network_cost(load_mix(f), Market(30.0))
    assert net.share_at_loss_pct == pytest.approx(50.0)
    assert net.classes_at_loss == ("old",)
    assert net.energy_cost_usd_per_ph_day == pytest.approx(36.0)
    assert net.cost_per_btc_usd is None          # no BTC price given
    f.write_text("efficiency_j_per_th,share_pct,power_usd_per_kwh\n20,60,0.05\n")
    with pytest.raises(UsageError, match="sum to 60 %"):
        load_mix(f)


def test_cli_surface_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "surface", "--efficiencies", "20,30", "--power-prices", "0.05,0.1",
                 "--hashprice-usd-per-ph-day", "50", "--price", "100000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [x for row in out["chart"]["z_margin_usd_per_ph_day"] for x in row] == pytest.approx([26.0, 2.0, 14.0, -22.0])
    # The mix's figures come under its name, apart from the median machine's breakeven.
    assert out["fleet_mix"]["name"] == "assumed late-2025 fleet mix"
    assert out["fleet_mix"]["share_at_loss_pct"] == 0.0    # every default class costs < 29 USD/PH/day


def test_cli_surface_names_the_mix_apart_from_the_median_machine(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("MINERWATCH_DB", str(tmp_path / "none.duckdb"))   # no database: the market as given
    assert main(["calc", "surface", "--efficiencies", "20", "--power-prices", "0.05",
                 "--hashprice-usd-per-ph-day", "20", "--price", "50000"]) == 0
    out = capsys.readouterr().out
    # The default mix at hashprice 20 and 50,000 USD (worked in test_network_cost_default_mix_at_20):
    # mean 20.3364 USD/PH/day, 20.3364 / 0.0004 BTC = 50,841 USD per BTC, 45 % at a loss, and its
    # median class 17.5 J/TH × 24 × 0.045 = 18.90 — under the mix's name, not as the median machine.
    assert "assumed late-2025 fleet mix:\n" in out
    assert "  mean energy cost          20.34 USD/PH/day\n" in out
    assert "  mean energy cost per BTC  $50,841\n" in out
    assert "  hashrate at a loss        45.0 %\n" in out
    assert "  median class's breakeven  18.90 USD/PH/day\n" in out
    assert "median machine's breakeven on " in out
