"""The brief on a database filled by hand: every sentence and figure asserted exactly."""

from __future__ import annotations

import json
import shlex
import shutil
import struct
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from handfilled_series import install
from minerwatch.chain.block import parse_block
from minerwatch.cli import main
from minerwatch.report.brief import build_brief

AS_OF = date(2023, 1, 31)


def _span(start: date, end: date, value: float | Callable[[date], float]) -> list[tuple[date, float | None]]:
    out: list[tuple[date, float | None]] = []
    d = start
    while d <= end:
        out.append((d, value(d) if callable(value) else value))
        d += timedelta(days=1)
    return out


def _series() -> dict[str, list[tuple[date, float | None]]]:
    # Price: 20,000 USD on 2023-01-01 … 01-15 (15 days), 25,000 on 01-16 … 01-31 (16 days).
    price = _span(date(2023, 1, 1), AS_OF, lambda d: 20_000.0 if d.day <= 15 else 25_000.0)
    # Outflow 100 BTC every day of January: 31 × 100 = 3,100 BTC; in USD at each day's price:
    # 15 × 100 × 20,000 + 16 × 100 × 25,000 = 30,000,000 + 40,000,000 = 70,000,000 ("$70.00 million").
    outflow = _span(date(2023, 1, 1), AS_OF, 100.0)
    outflow_usd: list[tuple[date, float | None]] = [(d, 100.0 * (p or 0.0)) for d, p in price]
    # Reserve: 1,850,000 through 2022-06-30 except 1,790,000 on 2021-07-15 (the record low);
    # 1,900,000 from 2022-07-01; 1,800,000 on 2023-01-31 → lowest since 2021-07-15.
    def reserve(d: date) -> float:
        if d == AS_OF:
            return 1_800_000.0
        if d == date(2021, 7, 15):
            return 1_790_000.0
        return 1_850_000.0 if d < date(2022, 7, 1) else 1_900_000.0

    # Hashprice: 2021: 35 in July (31 days), else 100; 2022: 35 in Nov–Dec (30 + 31 = 61 days),
    # else 80; 2023: 50 on Jan 1–3, then 38. Four weeks before Jan 31 is Jan 3 (50):
    # 38 / 50 − 1 = −24.0 %. Record low 35, first on 2021-07-01.
    def hashprice(d: date) -> float:
        if d.year == 2021:
            return 35.0 if d.month == 7 else 100.0
        if d.year == 2022:
            return 35.0 if d.month >= 11 else 80.0
        return 50.0 if d.day <= 3 else 38.0

    return {"price_usd": price, "miner_outflow_btc": outflow, "miner_outflow_usd": outflow_usd,
            "miner_reserve_btc": _span(date(2021, 1, 1), AS_OF, reserve),
            "hashprice_usd_per_ph_day": _span(date(2021, 1, 1), AS_OF, hashprice)}


@pytest.fixture()
def con(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(tmp_path / "t.duckdb"))
    install(c, monkeypatch, _series())
    return c


def test_every_sentence(con: duckdb.DuckDBPyConnection) -> None:
    b = build_brief(con, AS_OF, date(2023, 1, 1))
    s = {f.key: f.sentence for f in b.figures}
    assert s["miner_outflow"] == ("Miners moved 3,100.00 BTC out of their wallets from 2023-01-01 to 2023-01-31, "
                                  "worth $70.00 million at each day's price.")
    assert s["miner_reserve"] == ("The miner reserve stands at 1,800,000.00 BTC on 2023-01-31, "
                                  "its lowest since 2021-07-15 (1,790,000.00 BTC).")
    # The median machine on 2023-01-31: 2023-01 less the 18-month lag is 2021-07, and the most
    # efficient catalog model released by then is the S19j Pro (2021-06, 2,950 W / 100 TH/s =
    # 29.5 J/TH; the S19 Pro of 2020-05 is 3,250 / 110 = 29.55): 29.5 × 24 h × 0.045 USD/kWh = 31.86.
    assert s["hashprice"] == ("Hashprice is $38.00/PH/day on 2023-01-31, down 24.0 % over the last 4 weeks "
                              "(from 2023-01-03); the record low is $35.00/PH/day on 2021-07-01. "
                              "The median machine's breakeven that day is $31.86/PH/day: the Antminer S19j Pro "
                              "(29.5 J/TH, released 2021-06) at 0.045 USD/kWh, energy only.")
    assert s["hashprice_days_below"] == ("Hashprice was below $38.00/PH/day (today's level) on "
                                         "31 of 365 days in 2021 and 61 of 365 days in 2022.")
    # 30 days before Jan 31 is Jan 1 (20,000): 25,000 / 20,000 − 1 = +25.0 %.
    assert s["price"] == "BTC is 25,000.0 USD on 2023-01-31, up 25.0 % over 30 days (from 2023-01-01)."
    # No hashrate table in this database: said, not guessed.
    assert s["hashrate"] == "missing: no data for hashrate_ehs_7d in this database (run `minerwatch sync`)"
    # Breakeven efficiency = 38 / (24 × p): 52.8 J/TH at 0.03 (only the S9, 98 J/TH, is above),
    # 31.7 at 0.05 (S19 34.2, S17 Pro 39.5, S9), 22.6 at 0.07 (+ S19k Pro 23.0, M50S 26.0, S19j Pro 29.5,
    # S19 Pro 29.5, M30S++ 31.0 = 8), 15.8 at 0.10 (all but S21 Pro 15.0, S21 XP 13.5, S21 XP Hyd 12.0 = 14);
    # "e.g." names the most efficient model that is underwater.
    assert s["underwater"] == (
        "At $38.00/PH/day (2023-01-31), power alone costs more than the hashprice for machines "
        "above 52.8 J/TH at 0.03 USD/kWh (1 of 17 catalog models, e.g. Antminer S9); "
        "above 31.7 J/TH at 0.05 USD/kWh (3 of 17 catalog models, e.g. Antminer S19); "
        "above 22.6 J/TH at 0.07 USD/kWh (8 of 17 catalog models, e.g. Antminer S19k Pro); "
        "above 15.8 J/TH at 0.1 USD/kWh (14 of 17 catalog models, e.g. Antminer S21).")
    # Reserve: 1,800,000 is the lowest of the trailing 365 days (0 % above it): on since today; before,
    # 1,850,000 was 3.35 % above the 1,790,000 of 2021-07-15, then 1,900,000 was 2.70 % above 1,850,000.
    # Hashprice 38 > 31.86, the breakeven of the median machine of 2023-01 (the S19j Pro, 29.5 J/TH,
    # at 0.045 USD/kWh): off. The other four series are not in this database. Reserve (miner coins)
    # and hashprice (revenue) are two families: 1 of 2 on. The MPI needs 365 days of outflow, which
    # starts 2023-01-01: warming up until 2023-12-31 (364 days on).
    assert s["capitulation"] == (
        "Capitulation watch: watch — 1 of 2 signal families with data are on: reserve near record low (since 2023-01-31). "
        "Warming up: miner position index (until 2023-12-31). "
        "Missing: hash ribbons, negative retarget forecast, difficulty ribbon compressed.")


def test_every_figure_names_definition_and_command(con: duckdb.DuckDBPyConnection) -> None:
    b = build_brief(con, AS_OF, date(2023, 1, 1))
    for f in b.figures:
        assert f.definition and f.commands and all(c.startswith("minerwatch ") for c in f.commands)
    by = {f.key: f for f in b.figures}
    assert by["miner_outflow"].commands == ("minerwatch metrics miner_outflow_btc --from 2023-01-01 --to 2023-01-31",
                                            "minerwatch metrics miner_outflow_usd --from 2023-01-01 --to 2023-01-31")
    assert by["hashprice_days_below"].commands[0] == \
        "minerwatch metrics hashprice_usd_per_ph_day --from 2021-01-01 --to 2021-12-31"
    assert by["hashrate"].missing is not None and by["hashprice"].missing is None


def test_record_low_and_threshold(con: duckdb.DuckDBPyConnection) -> None:
    # As of 2021-07-15 the reserve (1,790,000) is below every earlier day (1,850,000 since 2021-01-01):
    # 196 days of history (Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 31 + Jun 30 + 15).
    b = build_brief(con, date(2021, 7, 15), hashprice_threshold=90.0)
    s = {f.key: f.sentence for f in b.figures}
    assert s["miner_reserve"] == ("The miner reserve stands at 1,790,000.00 BTC on 2021-07-15, a record low "
                                  "(the previous low was 1,850,000.00 BTC on 2021-01-01, in 196 days of history).")
    # Threshold 90: July's 15 days so far at 35 are below; no 2022 data yet on 2021-07-15.
    assert s["hashprice_days_below"] == ("Hashprice was below $90.00/PH/day (the threshold) on "
                                         "15 of 196 days in 2021 (no data for 2022).")
    # Four weeks before 2021-07-15 is 06-17 (100): 35 / 100 − 1 = −65.0 %; 35 was first seen on 07-01.
    # Median machine: 2021-07 − 18 months = 2020-01, the S17 Pro of 2019-04 (2,094 W / 53 TH/s =
    # 39.51 J/TH): 2,094 / 53 × 24 × 0.045 = 42.67 USD/PH/day.
    assert s["hashprice"] == ("Hashprice is $35.00/PH/day on 2021-07-15, down 65.0 % over the last 4 weeks "
                              "(from 2021-06-17); level with its record low, first reached on 2021-07-01. "
                              "The median machine's breakeven that day is $42.67/PH/day: the Antminer S17 Pro "
                              "(39.5 J/TH, released 2019-04) at 0.045 USD/kWh, energy only.")
    b = build_brief(con, date(2021, 7, 1))
    assert "; an all-time low in the stored history. " in {f.key: f.sentence for f in b.figures}["hashprice"]
    assert s["miner_outflow"].startswith("missing: no data for miner_outflow_btc")


def test_reserve_neither_low_nor_lowest_since(con: duckdb.DuckDBPyConnection) -> None:
    # 2022-07-20: 1,900,000, as on the days before (so no "lowest since"); 30 days earlier, 2022-06-20,
    # it was 1,850,000: 1,900,000 / 1,850,000 − 1 = +2.7 %.
    s = {f.key: f.sentence for f in build_brief(con, date(2022, 7, 20)).figures}
    assert s["miner_reserve"] == ("The miner reserve stands at 1,900,000.00 BTC on 2022-07-20, up 2.7 % over 30 days "
                                  "(from 2022-06-20); its record low is 1,790,000.00 BTC on 2021-07-15.")


def test_unpriced_days_make_usd_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = duckdb.connect(str(tmp_path / "u.duckdb"))
    series = _series()
    series["miner_outflow_usd"] = [(d, None if d.day == 10 else v) for d, v in series["miner_outflow_usd"]]
    install(c, monkeypatch, series)
    s = {f.key: f.sentence for f in build_brief(c, AS_OF, date(2023, 1, 1)).figures}
    assert s["miner_outflow"] == ("Miners moved 3,100.00 BTC out of their wallets from 2023-01-01 to 2023-01-31; "
                                  "its USD value is missing (no price on 1 of the 31 days).")


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_cli_brief(con: duckdb.DuckDBPyConnection, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    con.close()
    assert main(["brief", "--db", str(tmp_path / "t.duckdb"), "--as-of", "2023-01-31", "--since", "2023-01-01",
                 "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        doc = json.loads(out)
        assert doc["as_of"] == "2023-01-31" and doc["simulated"] is False
        assert [f["key"] for f in doc["figures"]] == ["miner_outflow", "miner_reserve", "hashprice",
                                                      "hashprice_days_below", "price", "hashrate", "underwater",
                                                      "capitulation"]
        assert doc["figures"][0]["values"] == {"outflow_btc": 3100.0, "days": 31, "outflow_usd": 70_000_000.0,
                                               "first_day_with_data": "2023-01-01"}
    elif fmt == "markdown":
        assert out.startswith("# Miner brief, 2023-01-31\n")
        assert "- Reproduce: `minerwatch metrics price_usd --from 2023-01-01 --to 2023-01-31`" in out
    else:
        assert out.startswith("Miner brief — mainnet, as of 2023-01-31, since 2023-01-01\n")
        assert "Hashrate: missing: no data for hashrate_ehs_7d" in out


def test_brief_and_capitulation_on_real_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the real pipeline: sync mainnet heights 0–438 (January 2009), then brief and capitulation."""
    src = Path(__file__).parent / "data" / "blkfiles" / "mainnet-heights-0-438.dat"
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(src, blocks / "blk00000.dat")
    db = str(tmp_path / "m.duckdb")
    assert main(["sync", "--blocks-dir", str(blocks), "--db", db, "--workers", "1"]) == 0
    # Header times straight from the file (records: magic, LE size, block), independent of the metrics.
    raw = src.read_bytes()
    times, pos = [], 0
    while pos < len(raw):
        size = struct.unpack_from("<I", raw, pos + 4)[0]
        times.append(parse_block(raw[pos + 8:pos + 8 + size]).header.time)
        pos += 8 + size
    assert len(times) == 439
    tip_day = datetime.fromtimestamp(times[-1], timezone.utc).date()
    capsys.readouterr()

    assert main(["brief", "--db", db, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == tip_day.isoformat() and doc["network"] == "mainnet"
    by = {f["key"]: f for f in doc["figures"]}
    # The shipped prices start on 2012-01-01: every USD figure says so instead of guessing.
    assert by["price"]["sentence"] == f"missing: no data for price_usd up to {tip_day}"
    assert by["hashprice"]["missing"] == f"no data for hashprice_usd_per_ph_day up to {tip_day}"
    assert by["miner_reserve"]["missing"] is None and by["miner_reserve"]["values"]["day"] == tip_day.isoformat()

    # BRK pace at block 438, the first epoch: (438 × 600 / (t438 − t0) − 1) × 100, far below 0
    # (the genesis block is six days older than block 1).
    pace = (438 * 600 / (times[438] - times[0]) - 1) * 100
    assert main(["capitulation", "--db", db, "--json"]) == 0
    cap = {s["name"]: s for s in json.loads(capsys.readouterr().out)["signals"]}
    assert cap["negative_retarget_forecast"]["on"] is True
    assert cap["negative_retarget_forecast"]["value"] == pytest.approx(pace)
    assert cap["hash_ribbons"]["on"] is None         # 12 days of hashrate: no 60-day average yet


def test_underwater_figure_names_the_command_that_prints_it(con: duckdb.DuckDBPyConnection,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    fig = next(f for f in build_brief(con, AS_OF, date(2023, 1, 1)).figures if f.key == "underwater")
    (command,) = fig.commands
    assert command == "minerwatch calc underwater --hashprice-usd-per-ph-day 38.0000 --power-prices 0.03,0.05,0.07,0.1"
    assert main(shlex.split(command)[1:]) == 0
    printed = capsys.readouterr().out
    # Every part of the brief's sentence (breakeven efficiency, count, example) is a line of the output.
    parts = fig.sentence.split("for machines ", 1)[1].rstrip(".").split("; ")
    assert len(parts) == 4 and all(f"  {part}: " in printed for part in parts)
