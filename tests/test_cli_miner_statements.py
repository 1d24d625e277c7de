"""`miners reserve` and `miners outflow` in plain words say what their --json says.

The database is web_support's hand-checkable chain: 120 days from 2024-04-20 (heights 840,000 …
857,279), 144 blocks a day, each coinbase 3.145 BTC (3.125 subsidy + 0.02 fees) to the miner
cohort, every even-height coinbase spent out of it 1,008 blocks later less a 1,000 sat fee, BTC at
60,000 USD every day.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minerwatch.cli import main
from web_support import build_db


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_db(tmp_path_factory.mktemp("statements") / "m.duckdb", days=120))


def _out(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_reserve_prints_its_records_lowest_since_and_change(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Reserve on the last day, 2024-08-17: all 17,280 coinbases (54,345.60 BTC) less the 8,136
    # spent (even heights 840,000 … 856,270, each 1,008 blocks before the tip or more: 25,587.72 BTC)
    # = 28,757.88 BTC. It only grows (days 0–6: +452.88 BTC a day; then +144 − 72 coinbases =
    # +226.44 BTC a day), so today is the record high, the record low is the first day's 144 × 3.145
    # = 452.88 BTC on 2024-04-20, the lowest since is yesterday, and 30 days add 30 × 226.44 =
    # 6,793.20 BTC, +30.9 % on 21,964.68 BTC.
    doc = json.loads(_out(capsys, "miners", "reserve", "--db", db, "--json"))
    assert (doc["reserve_btc"], doc["record_low_btc"], doc["record_low_day"]) == \
        (pytest.approx(28_757.88), pytest.approx(452.88), "2024-04-20")
    assert (doc["record_high_day"], doc["lowest_since"]) == ("2024-08-17", "2024-08-16")
    assert doc["change_30d_btc"] == pytest.approx(6_793.20)
    assert doc["change_30d_pct"] == pytest.approx(6_793.20 / 21_964.68 * 100)
    plain = _out(capsys, "miners", "reserve", "--db", db)
    assert plain.splitlines() == [
        "0hop miner reserve on 2024-08-17: 28,757.88 BTC — a record high",
        "  record low  452.88 BTC on 2024-04-20",
        "  record high 28,757.88 BTC on 2024-08-17",
        "  lowest since 2024-08-16 (the last day it held as little or less)",
        "  change over 30 days: +6,793.20 BTC (+30.9 %)",
    ]


def test_reserve_on_its_first_day_says_the_change_is_unknown(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    plain = _out(capsys, "miners", "reserve", "--db", db, "--as-of", "2024-04-20", "--days", "7")
    assert plain.splitlines()[0] == "0hop miner reserve on 2024-04-20: 452.88 BTC — a record low"
    assert plain.splitlines()[-1] == "  change over 7 days: unknown (no value 7 days before)"


def test_outflow_from_before_the_first_block_quotes_the_first_day_with_data(db: str,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # 8,136 spends of 3.145 BTC less 1,000 sat = 8,136 × 3.14499 = 25,587.64 BTC; × 60,000 USD =
    # $1,535,258,318. The chain starts on 2024-04-20, so --from 2024-01-01 sums from there.
    doc = json.loads(_out(capsys, "miners", "outflow", "--from", "2024-01-01", "--db", db, "--json"))
    assert doc["outflow_btc"] == pytest.approx(25_587.63864) and doc["outflow_usd"] == pytest.approx(1_535_258_318.4)
    assert doc["first_day_with_data"] == "2024-04-20"
    plain = _out(capsys, "miners", "outflow", "--from", "2024-01-01", "--db", db)
    assert plain == ("0hop miners sent 25,587.64 BTC out between 2024-04-20 (the first day with data; asked from "
                     "2024-01-01) and 2024-08-17 ($1,535,258,318)\n")
    # From a day with data, the statement quotes that day only.
    plain = _out(capsys, "miners", "outflow", "--from", "2024-04-20", "--db", db)
    assert plain.startswith("0hop miners sent 25,587.64 BTC out between 2024-04-20 and 2024-08-17")
