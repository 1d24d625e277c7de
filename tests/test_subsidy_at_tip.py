"""The subsidy every calculator assumes comes from the consensus rule at a height — given, the
database's tip, or the height today's date implies — so nothing goes stale at height 1,050,000."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from metrics_helpers import Fact, insert_facts, open_db

from minerwatch.cli import main
from minerwatch.cli.subsidy_args import resolve_subsidy
from minerwatch.consensus import subsidy_sat

# 8.64e19 hashes (1 PH/s for a day) / (1e14 × 2^32 hashes a block at difficulty 1e14)
# = 2.0116567611694336e-4 blocks per PH/s per day.
BLOCKS_PER_PH_DAY_AT_1E14 = 8.64e19 / (1e14 * 2**32)


@pytest.mark.parametrize(("height", "sat"), [
    # 50 BTC = 5,000,000,000 sat, shifted right once per 210,000 blocks.
    (1_049_999, 312_500_000),      # era 4: 5e9 >> 4
    (1_050_000, 156_250_000),      # era 5: 5e9 >> 5 — the fifth halving
    (1_259_999, 156_250_000),
    (1_260_000, 78_125_000),       # era 6
])
def test_consensus_subsidy_around_the_fifth_halving(height: int, sat: int) -> None:
    assert subsidy_sat(height) == sat


@pytest.mark.parametrize(("height", "subsidy_btc"), [(1_049_999, 3.125), (1_050_000, 1.5625)])
def test_calc_hashprice_at_a_height(capsys: pytest.CaptureFixture[str], tmp_path: Path, height: int,
                                    subsidy_btc: float) -> None:
    assert main(["calc", "hashprice", "--difficulty", "1e14", "--price", "50000", "--height", str(height),
                 "--db", str(tmp_path / "none.duckdb"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["subsidy_btc"], out["subsidy_height"]) == (subsidy_btc, height)
    # No fees: hashvalue = subsidy × 2.0116567611694336e-4 — 6.2864e-4 BTC/PH/day before the halving,
    # 3.1432e-4 after it; × 50,000 USD.
    assert out["hashvalue_btc_per_ph_day"] == pytest.approx(subsidy_btc * BLOCKS_PER_PH_DAY_AT_1E14, rel=1e-12)
    assert out["hashprice_usd_per_ph_day"] == pytest.approx(subsidy_btc * BLOCKS_PER_PH_DAY_AT_1E14 * 50_000,
                                                            rel=1e-12)


def _db_at(tmp_path: Path, tip: int, tip_time_s: int) -> Path:
    con = open_db(tmp_path)
    insert_facts(con, [Fact(tip - 2 + i, tip_time_s - 1200 + 600 * i, 1e14) for i in range(3)])
    con.close()
    return tmp_path / "metrics.duckdb"


def test_calculators_default_to_the_subsidy_at_the_databases_tip(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = _db_at(tmp_path, 1_050_000, 1_900_000_000)
    assert main(["calc", "hashprice", "--difficulty", "1e14", "--price", "50000", "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # The tip is block 1,050,000, the first of era 5: 1.5625 BTC.
    assert (out["subsidy_btc"], out["subsidy_height"]) == (1.5625, 1_050_000)
    assert out["subsidy_source"] == f"the tip of the mainnet database at {db}"
    # breakeven from difficulty and price: hashprice = 1.5625 × 2.0116567611694336e-4 × 100,000
    # = 31.43213689 USD/PH/day; 20 J/TH at 0.05 USD/kWh costs 24 → margin 7.43213689.
    assert main(["calc", "breakeven", "--efficiency-j-per-th", "20", "--power-usd-per-kwh", "0.05",
                 "--difficulty", "100T", "--price", "100000", "--db", str(db), "--json"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert b["hashprice_usd_per_ph_day"] == pytest.approx(1.5625 * BLOCKS_PER_PH_DAY_AT_1E14 * 100_000, rel=1e-12)
    assert b["margin_usd_per_ph_day"] == pytest.approx(31.432136893 - 24, rel=1e-9)
    assert b["subsidy_btc"] == 1.5625


def test_scenario_halves_the_subsidy_in_the_month_of_the_halving(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # Tip 1,049,000 at 2028-03-01 00:00 UTC: 1,000 blocks × 600 s = 600,000 s (6.9 days) to the
    # fifth halving → 2028-03-07, month 2 of a projection starting 2028-01.
    tip_time = int(datetime(2028, 3, 1, tzinfo=timezone.utc).timestamp())
    db = _db_at(tmp_path, 1_049_000, tip_time)
    f = tmp_path / "fleet.toml"
    f.write_text("[site]\npower_usd_per_kwh = 0.05\n[[machines]]\nmodel = 'x'\nhashrate_ths_per_unit = 100\n"
                 "power_w = 2000\ncount = 10\n")
    assert main(["calc", "scenario", str(f), "--months", "4", "--start", "2028-01", "--difficulty", "1e14",
                 "--price", "100000", "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["halving_month"] == 2
    assert out["subsidy"]["next_halving_time_s"] == tip_time + 600_000
    hp = [m["hashprice_usd_per_ph_day"] for m in out["months"]]
    # 3.125 BTC: 62.864 USD/PH/day in January and February; 1.5625 BTC from March: half of it.
    assert hp[0] == hp[1] == pytest.approx(3.125 * BLOCKS_PER_PH_DAY_AT_1E14 * 100_000, rel=1e-12)
    assert hp[2] == hp[3] == pytest.approx(hp[0] / 2, rel=1e-12)


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**({"subsidy_btc": None, "height": None, "db": Path("/nonexistent/x.duckdb")} | kw))


def test_without_a_database_the_date_implies_the_height() -> None:
    # Block 840,000 has header time 1,713,571,767 s; 210,000 blocks × 600 s later the date implies
    # height 1,050,000 (era 5), one block earlier 1,049,999 (era 4) — both near a halving, which the
    # source says.
    at_halving = 1_713_571_767 + 210_000 * 600
    s = resolve_subsidy(_args(), now_s=at_halving)
    assert (s.height, s.btc) == (1_050_000, 1.5625)
    assert "today's date" in s.source and "may give the wrong era" in s.source
    s = resolve_subsidy(_args(), now_s=at_halving - 600)
    assert (s.height, s.btc) == (1_049_999, 3.125)
    # A year before the halving (52,560 blocks) the estimate is not near one.
    s = resolve_subsidy(_args(), now_s=at_halving - 52_560 * 600)
    assert (s.height, s.btc) == (997_440, 3.125) and "wrong era" not in s.source


def test_subsidy_and_height_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "hashprice", "--difficulty", "1e14", "--price", "50000", "--height", "1050000",
                 "--subsidy-btc", "3.125"]) == 1
    err = capsys.readouterr().err
    assert "give either --subsidy-btc or --height, not both" in err and "hint:" in err
