"""`calc` as a new user meets it: the README's breakeven line needs no market, and with a database
the calculators take today's difficulty, price and 144-block fees from it unless given.

The database is web_support's hand-checkable chain (120 days from height 840,000: difficulty
8.6e13 × (1 + 0.01 × epochs since 840,000's), 0.02 BTC fees a block, BTC at 60,000 USD every day).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minerwatch.cli import main
from web_support import build_db

# The README's line, exactly.
README_BREAKEVEN = ["calc", "breakeven", "--efficiency-j-per-th", "20", "--power-usd-per-kwh", "0.072", "--json"]

# Tip of the 120-day chain: height 840,000 + 120 × 144 − 1 = 857,279, on 2024-08-17 (day 119 from
# 2024-04-20). Its epoch is 857,279 // 2016 = 425, nine after 840,000's (416): difficulty
# 8.6e13 × 1.09 = 9.374e13. Hashvalue (Hashrate Index) = (3.125 + 0.02) × 86,400 × 1e15 /
# (9.374e13 × 2^32) = 0.000674916 BTC/PH/day; × 60,000 USD = 40.4949 USD/PH/day.
TIP_HEIGHT = 857_279
TIP_DIFFICULTY = 9.374e13
TIP_HASHVALUE = 3.145 * 86_400 * 1e15 / (9.374e13 * 2**32)
TIP_HASHPRICE = TIP_HASHVALUE * 60_000          # 40.4949…
# 20 J/TH draws 20 kW per PH/s: 480 kWh a day; at 0.072 USD/kWh that is 34.56 USD/PH/day, the
# breakeven hashprice (DOMAIN.md: ≈ 34.6).
ENERGY_KWH = 480.0
BREAKEVEN_HASHPRICE = 34.56


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("MINERWATCH_DB", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def chain_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_db(tmp_path_factory.mktemp("calc") / "minerwatch.duckdb", days=120)


def test_readme_breakeven_without_a_market_or_database(no_database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, *README_BREAKEVEN)
    assert code == 0
    doc = json.loads(out)
    assert doc["energy_kwh_per_ph_day"] == pytest.approx(ENERGY_KWH)
    assert doc["energy_cost_usd_per_ph_day"] == pytest.approx(BREAKEVEN_HASHPRICE)
    assert doc["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(BREAKEVEN_HASHPRICE)
    # The power price at which a machine breaks even depends on what the hashrate earns: no market, no value.
    assert doc["breakeven_power_usd_per_kwh"] is None
    assert "--hashprice-usd-per-ph-day" in doc["note"] and "no database at" in doc["note"]
    # A 2 % pool fee: the gross hashprice must cover the cost after the fee, 34.56 / 0.98 = 35.2653.
    code, out, _ = _run(capsys, *README_BREAKEVEN, "--pool-fee-pct", "2")
    assert json.loads(out)["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(35.265306, rel=1e-6)


def test_breakeven_takes_the_market_from_the_database(chain_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, *README_BREAKEVEN, "--db", str(chain_db))
    assert code == 0
    doc = json.loads(out)
    assert doc["hashprice_usd_per_ph_day"] == pytest.approx(TIP_HASHPRICE, rel=1e-9)
    assert doc["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(BREAKEVEN_HASHPRICE)
    # Breakeven power price = hashprice / 480 kWh = 40.4949 / 480 = 0.084364 USD/kWh.
    assert doc["breakeven_power_usd_per_kwh"] == pytest.approx(TIP_HASHPRICE / ENERGY_KWH, rel=1e-9)
    # Cost per BTC = 34.56 USD / 0.000674916 BTC = 51,206.39 USD.
    assert doc["cost_per_btc_usd"] == pytest.approx(51_206.389, rel=1e-6)
    assert f"block {TIP_HEIGHT:,} (2024-08-17)" in doc["difficulty_source"]
    assert "the price of 2024-08-17" in doc["price_usd_source"]
    assert f"{TIP_HEIGHT - 143:,}–{TIP_HEIGHT:,}" in doc["fees_btc_per_block_source"]
    # Plain output names the same sources.
    code, out, _ = _run(capsys, *README_BREAKEVEN[:-1], "--db", str(chain_db))
    assert "difficulty from block 857,279 (2024-08-17)" in out and "subsidy 3.125 BTC at height 857,279" in out


def test_calc_hashprice_takes_what_is_not_given_from_the_database(chain_db: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "calc", "hashprice", "--db", str(chain_db), "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["difficulty"], doc["price_usd"]) == (pytest.approx(TIP_DIFFICULTY), 60_000.0)
    assert doc["fees_btc_per_block"] == pytest.approx(0.02)
    assert doc["hashprice_usd_per_ph_day"] == pytest.approx(TIP_HASHPRICE, rel=1e-9)
    # Given figures win, each on its own: the README's difficulty and price, the stored fees.
    # (3.125 + 0.02) × 86,400 × 1e15 / (149.3e12 × 2^32) × 86,075 = 36.5346 USD/PH/day.
    code, out, _ = _run(capsys, "calc", "hashprice", "--difficulty", "149.3T", "--price", "86075",
                        "--db", str(chain_db), "--json")
    doc = json.loads(out)
    assert doc["hashprice_usd_per_ph_day"] == pytest.approx(3.145 * 86_400e15 / (149.3e12 * 2**32) * 86_075)
    assert doc["difficulty_source"] == "given (--difficulty)" and doc["price_usd_source"] == "given (--price)"
    assert "the mean of blocks" in doc["fees_btc_per_block_source"]


def test_calc_hashprice_without_a_database_says_what_to_give(no_database: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "calc", "hashprice", "--price", "86075")
    assert code == 1
    assert "no --difficulty given, and no database at" in err and "--difficulty 149.3T" in err
    # The README's line still needs nothing else: 3.125 × 86,400 × 1e15 / (149.3e12 × 2^32) × 86,075
    # = 36.2427 USD/PH/day (fees 0, none given and no database to take them from).
    code, out, _ = _run(capsys, "calc", "hashprice", "--difficulty", "149.3T", "--price", "86075", "--json",
                        "--height", "900000")
    assert code == 0 and json.loads(out)["hashprice_usd_per_ph_day"] == pytest.approx(36.242749, rel=1e-7)


def test_surface_and_fleet_use_the_stored_market(chain_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "calc", "surface", "--db", str(chain_db), "--efficiencies", "20",
                        "--power-prices", "0.072", "--json")
    assert code == 0
    cell = json.loads(out)["cells"][0]
    # Margin = hashprice − cost = 40.4949 − 34.56 = 5.9349 USD/PH/day.
    assert cell["margin_usd_per_ph_day"] == pytest.approx(TIP_HASHPRICE - BREAKEVEN_HASHPRICE, rel=1e-9)
