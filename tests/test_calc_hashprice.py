"""`minerwatch calc hashprice` needs no chain or database."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from minerwatch.cli import main
from minerwatch.errors import UsageError
from minerwatch.metrics.hashprice import parse_difficulty


def test_calc_hashprice_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "hashprice", "--difficulty", "149.3T", "--price", "86075",
                 "--fees-btc-per-block", "0.025", "--subsidy-btc", "3.125", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # Worked by hand: 2^32 = 4,294,967,296; difficulty × 2^32 = 149.3e12 × 4,294,967,296
    # = 6.41238617293e23 hashes per block. One PH/s for a day = 86,400 × 1e15 = 8.64e19 hashes
    # → 8.64e19 / 6.41238617293e23 = 1.347392e-4 blocks expected per PH/s per day; at
    # 3.125 + 0.025 = 3.15 BTC a block: hashvalue = 3.15 × 1.347392e-4 = 4.2442859e-4 BTC/PH/day.
    assert out["hashvalue_btc_per_ph_day"] == pytest.approx(4.2442859e-4, rel=1e-7)
    # × 86,075 USD = 36.532691 USD/PH/day = 0.036532691 USD/TH/day.
    assert out["hashprice_usd_per_ph_day"] == pytest.approx(36.532691, rel=1e-7)
    assert out["hashprice_usd_per_th_day"] == pytest.approx(0.036532691, rel=1e-7)
    # Implied hashrate: 6.41238617293e23 hashes per 600 s = 1.068731e21 H/s = 1,068.731 EH/s.
    assert out["implied_hashrate_ehs"] == pytest.approx(1068.731029, rel=1e-8)


def test_calc_hashprice_without_fees_defaults_to_zero_fees(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "hashprice", "--difficulty", "100000000000000", "--price", "50000", "--height", "900000",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # Height 900,000 is in era 4 (840,000 … 1,049,999): 50 BTC / 2^4 = 3.125 BTC.
    assert (out["subsidy_btc"], out["subsidy_height"]) == (3.125, 900_000)
    # 3.125 × 8.64e19 / (1e14 × 4,294,967,296) = 3.125 × 2.01165676e-4 = 6.28642738e-4 BTC/PH/day.
    assert out["hashvalue_btc_per_ph_day"] == pytest.approx(6.28642738e-4, rel=1e-8)
    assert out["hashprice_usd_per_ph_day"] == pytest.approx(31.4321369, rel=1e-8)


@pytest.mark.parametrize(("text", "value"), [("149.3T", 149.3e12), ("149.3t", 149.3e12), ("2.5P", 2.5e15),
                                             ("7G", 7e9), ("3M", 3e6), ("1k", 1e3), ("1234.5", 1234.5),
                                             ("1e14", 1e14)])
def test_difficulty_suffixes(text: str, value: float) -> None:
    assert parse_difficulty(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "T", "-5T", "12X", "0"])
def test_bad_difficulty_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_difficulty(text)


def test_calc_hashprice_runs_as_a_command_without_a_database(tmp_path) -> None:  # noqa: ANN001
    env = {"MINERWATCH_DB": str(tmp_path / "absent.duckdb"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "minerwatch", "calc", "hashprice", "--difficulty", "149.3T",
                        "--price", "86075", "--json"], capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # No database: the subsidy is the consensus subsidy at the height today's date implies, block
    # 840,000 (header time 1,713,571,767 s) plus one block per 600 s since.
    assert abs(out["subsidy_height"] - (840_000 + (time.time() - 1_713_571_767) // 600)) <= 1
    assert out["subsidy_btc"] == (50 * 10**8 >> out["subsidy_height"] // 210_000) / 1e8
    assert "today's date" in out["subsidy_source"] and "no database at" in out["subsidy_source"]
    # 8.64e19 / (149.3e12 × 2^32) = 1.347392e-4 blocks per PH/s per day (above), × the subsidy.
    assert out["hashvalue_btc_per_ph_day"] == pytest.approx(out["subsidy_btc"] * 1.347392e-4, rel=1e-6)
    assert not (tmp_path / "absent.duckdb").exists()
