"""One "median machine's breakeven": the network's median machine of a date (ASIC catalog, 18-month
adoption lag, 0.045 USD/kWh), the same figure on the dashboard, in the API, in `calc surface`, in the
brief and in the capitulation watch; the fixed fleet mix's figures carry the mix's name. And the
brief's outflow, summed as `miners outflow` sums it, from the first day with data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from minerwatch.cli import main
from minerwatch.economics.network_efficiency import breakeven_model, median_machine_on
from minerwatch.queries.breakeven import median_machine_line
from minerwatch.queries.db import connect_readonly
from minerwatch.report.brief import build_brief
from minerwatch.web.app import create_app

# Breakeven hashprice of a machine of E J/TH: 1 PH/s is 1,000 TH/s, which draws E × 1,000 W = E kW;
# a day is 24 h, so E × 24 kWh per PH/s per day, times the power price p USD/kWh:
#   breakeven USD/PH/day = E J/TH × 1e3 TH/PH × 24 h / 1e3 (W → kW) × p = E × 24 × p.


@pytest.mark.parametrize("day, model, j_per_th, usd_per_ph_day", [
    # 2025-10 less 18 months is 2024-04: the most efficient model released by then is the Antminer S21
    # (2024-01, 3,500 W / 200 TH/s = 17.5 J/TH; the S21 Pro is of 2024-07): 17.5 × 24 × 0.045 = 18.90.
    (date(2025, 10, 1), "Antminer S21", 17.5, 18.90),
    # 2026-04 less 18 months is 2024-10: the S21 XP Hyd (2024-10, 5,676 W / 473 TH/s = 12.0 J/TH),
    # the catalog's most efficient: 12 × 24 × 0.045 = 12.96.
    (date(2026, 4, 29), "Antminer S21 XP Hyd", 12.0, 12.96),
])
def test_median_machine_at_two_dates(day: date, model: str, j_per_th: float, usd_per_ph_day: float) -> None:
    m = median_machine_on(day)
    assert m is not None and (m.day, m.model) == (day, model)
    assert m.efficiency_j_per_th == pytest.approx(j_per_th)
    assert m.breakeven_hashprice_usd_per_ph_day == pytest.approx(usd_per_ph_day)


def test_breakeven_at_another_power_price() -> None:
    # 2024-06 less 18 months is 2022-12: the S19 XP (2022-07, 3,010 W / 140 TH/s = 21.5 J/TH) beats
    # the M50S of 2022-10 (26 J/TH); at 0.06 USD/kWh: 21.5 × 24 × 0.06 = 30.96 USD/PH/day.
    m = breakeven_model(power_usd_per_kwh=0.06).at(date(2024, 6, 15))
    assert m is not None and m.model == "Antminer S19 XP"
    assert m.breakeven_hashprice_usd_per_ph_day == pytest.approx(30.96)


def test_the_line_steps_when_a_newer_model_becomes_the_median() -> None:
    # The S21 Pro (2024-07, 3,510 W / 234 TH/s = 15.0 J/TH) is the median machine from 2024-07 + 18
    # months = 2026-01: the line falls from the S21's 18.90 to 15 × 24 × 0.045 = 16.20 on 2026-01-01.
    # Before 2017-12 (the S9 of 2016-06 plus 18 months) there is no median machine.
    line = median_machine_line([date(2017, 11, 30), date(2025, 12, 31), date(2026, 1, 1)])
    assert [d for d, _ in line] == [date(2017, 11, 30), date(2025, 12, 31), date(2026, 1, 1)]
    assert line[0][1] is None
    assert [v for _, v in line[1:]] == pytest.approx([18.90, 16.20])


def test_dashboard_api_cli_brief_and_watch_agree_on_the_demo(demo_db: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # The demo's daily series start on its genesis day, 2025-01-01, and end in late April 2026
    # (69,710 blocks at about 144 a day: 484 days); from 2026-04-01 its median machine is the
    # S21 XP Hyd (released 2024-10, plus 18 months): 12.96 USD/PH/day, worked out above.
    client = TestClient(create_app(demo_db))
    api = client.get("/api/v1/breakeven").json()
    day = date.fromisoformat(api["market_date"])
    assert date(2026, 4, 1) <= day <= date(2026, 5, 31)
    assert api["median_machine"]["model"] == "Antminer S21 XP Hyd"
    assert api["median_machine"]["day"] == day.isoformat()
    assert api["median_machine"]["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(12.96)
    # The fixed mix's figures are named after it, never "the network's".
    assert api["fleet_mix"] == "assumed late-2025 fleet mix"
    assert "median_breakeven_hashprice_usd_per_ph_day" not in api and "network_mean_cost_usd_per_ph_day" not in api

    page = client.get("/breakeven.json").json()
    fig = next(f for f in page["figures"] if f["label"] == "median machine's breakeven")
    assert (fig["value"], fig["date"]) == (pytest.approx(12.96), day.isoformat())
    assert "Antminer S21 XP Hyd (12.0 J/TH, released 2024-10) at 0.045 USD/kWh" in fig["note"]
    assert any(f["label"] == "mean energy cost, assumed late-2025 fleet mix" for f in page["figures"])
    # The chart's breakeven line is the median machine of each day: one value a day, the last 12.96.
    chart = next(c for c in page["charts"] if c["id"] == "hashprice-vs-cost")
    line = next(s for s in chart["series"] if s["metric"] == "median_machine_breakeven_usd_per_ph_day")
    assert len(line["values"]) == len(chart["x"]) and line["values"][-1] == pytest.approx(12.96)

    # The hashprice page draws the same line, day by day, and counts the days below it: none, since
    # the demo's hashprice never falls below it: its record low, 28.01 USD/PH/day on 2026-02-06
    # (docs/capitulation.md), is above that day's line (2026-02 − 18 months = 2024-08: the S21 Pro,
    # 16.20), and the highest line of its history is the S19 XP's 23.22 (2025-01 … 2025-06), as the
    # watch's hashprice signal, off since the first day, says.
    hashprice = client.get("/hashprice.json").json()
    chart = next(c for c in hashprice["charts"] if c["id"] == "hashprice")
    line = next(s for s in chart["series"] if s["metric"] == "median_machine_breakeven_usd_per_ph_day")
    assert line["values"][-1] == pytest.approx(12.96) and chart["thresholds"] == []
    below = next(f for f in hashprice["figures"] if f["label"] == "days below the median machine's breakeven in 1y")
    assert below["value"] == 0
    # In a 24h window (one or two days) the line is the last day's level, named with its date.
    short = client.get("/hashprice.json?interval=24h").json()
    (threshold,) = next(c for c in short["charts"] if c["id"] == "hashprice")["thresholds"]
    assert threshold["y"] == pytest.approx(12.96)
    assert threshold["label"].startswith(f"breakeven of the median machine on {day}: Antminer S21 XP Hyd")

    assert main(["calc", "surface", "--db", str(demo_db), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["median_machine"]["day"] == day.isoformat()
    assert cli["median_machine"]["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(12.96)
    assert cli["fleet_mix"]["name"] == "assumed late-2025 fleet mix"
    assert main(["calc", "surface", "--db", str(demo_db)]) == 0
    assert (f"median machine's breakeven on {day}: 12.96 USD/PH/day, Antminer S21 XP Hyd (12.0 J/TH, released "
            "2024-10) at 0.045 USD/kWh, PUE 1") in capsys.readouterr().out

    assert main(["capitulation", "--db", str(demo_db), "--json"]) == 0
    signal = {s["name"]: s for s in json.loads(capsys.readouterr().out)["signals"]}["hashprice_below_breakeven"]
    assert (signal["day"], signal["threshold"]) == (day.isoformat(), pytest.approx(12.96))

    with connect_readonly(demo_db) as con:
        brief = {f.key: f for f in build_brief(con, day).figures}
    assert brief["hashprice"].values["median_machine_breakeven_usd_per_ph_day"] == pytest.approx(12.96)
    assert "The median machine's breakeven that day is $12.96/PH/day: the Antminer S21 XP Hyd" in \
        brief["hashprice"].sentence


def test_brief_outflow_starts_at_the_first_day_with_data(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The README's brief line asks from 2024-04-01; the demo's chain starts on 2025-01-01 (its
    # genesis, docs/simnet.md), so the brief quotes that day, as `miners outflow` does, and both
    # sum the same days to the same BTC.
    asked = date(2024, 4, 1)
    with connect_readonly(demo_db) as con:
        b = build_brief(con, date(2026, 4, 1), asked)
    fig = next(f for f in b.figures if f.key == "miner_outflow")
    assert fig.sentence.startswith("Miners moved ")
    assert " out of their wallets from 2025-01-01 (the first day with data; asked from 2024-04-01) to 2026-04-01" \
        in fig.sentence
    assert "2024-04-01 to" not in fig.sentence
    assert fig.values["first_day_with_data"] == "2025-01-01"
    # 2025-01-01 … 2026-04-01 is 365 + 31 + 28 + 31 + 1 = 456 days, each with blocks.
    assert fig.values["days"] == 456

    assert main(["miners", "outflow", "--db", str(demo_db), "--from", "2024-04-01", "--to", "2026-04-01",
                 "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["first_day_with_data"] == "2025-01-01"
    assert cli["outflow_btc"] == pytest.approx(fig.values["outflow_btc"], rel=1e-12)
    assert cli["outflow_usd"] == pytest.approx(fig.values["outflow_usd"], rel=1e-12)
