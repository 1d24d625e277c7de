"""The demo's capitulation backtest finds its one crash and nothing before it (on the session's demo
database, tests/conftest.py: demo_db)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from minerwatch.cli import main
from minerwatch.simulate import story as S

GENESIS_DAY = date(2025, 1, 1)            # the simnet genesis (docs/simnet.md)


def test_demo_backtest_finds_the_one_crash(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = demo_db
    assert main(["capitulation", "--db", str(db), "--backtest", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # The story's crash: hashrate falls from day 372 (2026-01-08) and is back by day 465 (2026-04-11).
    # Before it the 30-day average dips under the 60-day on noise a dozen times, each time with the
    # difficulty ribbon compressed; both read block arrivals, one family, so no capitulation. In the
    # crash the miners' sell-off brings the reserve to its yearly low: a second family.
    crash, recovered = GENESIS_DAY + timedelta(days=S.CAPITULATION_START), GENESIS_DAY + timedelta(days=S.RECOVERY)
    assert (crash, recovered) == (date(2026, 1, 8), date(2026, 4, 11))
    (episode,) = out["episodes"]
    assert crash <= date.fromisoformat(episode["start"]) and date.fromisoformat(episode["end"]) <= recovered
    # The hashprice never falls below the median machine's line: its record low is above it.
    hp = {s["name"]: s for s in out["signals"]}["hashprice_below_breakeven"]
    assert hp["on"] is False and hp["since"] == "2025-01-01"
    # The noise the issue named: on 2025-03-24 the 30-day average (826.21 EH/s) dips under the
    # 60-day (826.60): a capitulation by Edwards' definition, so the ribbons are on, but nothing
    # outside block arrivals is: watch, not capitulation.
    assert main(["capitulation", "--db", str(db), "--as-of", "2025-03-24", "--json"]) == 0
    day = json.loads(capsys.readouterr().out)
    r = day["hash_ribbons"]
    assert (round(r["sma30_ehs"], 2), round(r["sma60_ehs"], 2), r["capitulation"]) == (826.21, 826.60, "2025-03-24")
    assert day["state"] == "watch" and day["signals"][0]["on"] is True
