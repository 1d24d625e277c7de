"""The capitulation watch on mainnet's history, one observation per difficulty period.

Expected values come from the real boundary headers in tests/data (heights 0 to 832,608, from
ckb-bitcoin-spv-testdata) and the shipped prices, computed here another way than the code does:
difficulty from the compact bits by hand, the 30- and 60-day hashrate averages from chainwork read
off a straight line between period starts (the code sums time-weighted period hashrates).
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest

from minerwatch.cli import main
from minerwatch.economics.network_efficiency import breakeven_model
from minerwatch.errors import UsageError
from minerwatch.metrics import capitulation_history as H

DATA = Path(__file__).parent / "data" / "headers" / "mainnet-retarget-headers-0-832608.csv"


def _ckb_starts() -> dict[int, tuple[int, int, int]]:
    """height → (time s, bits, chainwork) of every period start in the test data's boundary headers."""
    out = {}
    with DATA.open() as f:
        for r in csv.DictReader(f):
            h = int(r["height"])
            if h % 2016 == 0:
                out[h] = (int(r["time"]), int(r["bits"], 16), int(r["chainwork_hex"], 16))
    return out


def _difficulty(bits: int) -> float:
    # target = mantissa × 256^(exponent − 3); difficulty = target(0x1d00ffff) / target.
    def target(b: int) -> int:
        return (b & 0xFFFFFF) * 256 ** ((b >> 24) - 3)
    return target(0x1D00FFFF) / target(bits)


@pytest.fixture(scope="module")
def periods() -> list[H.Period]:
    return H.load_periods()


def test_shipped_headers_are_the_test_datas(periods: list[H.Period]) -> None:
    """The shipped period starts equal the boundary headers of tests/data up to 832,608."""
    ckb = _ckb_starts()
    text = resources.files("minerwatch").joinpath("data", H.SHIPPED_HEADERS).read_text()
    shipped = {h: (t, b, c) for h, t, b, c in H.read_period_starts(text, "shipped")}
    assert all(shipped[h] == v for h, v in ckb.items())
    assert len(shipped) == 437 and max(shipped) == 878_976
    assert len(periods) == 436


@pytest.mark.parametrize("event", H.REPORTED, ids=lambda e: e.name)
def test_reported_drops_are_the_chains(event: H.ReportedCapitulation) -> None:
    """Each reported capitulation's difficulty drop, from the bits of two consecutive period starts."""
    text = resources.files("minerwatch").joinpath("data", H.SHIPPED_HEADERS).read_text()
    rows = H.read_period_starts(text, "shipped")
    hit = [(datetime.fromtimestamp(t, timezone.utc).date(), (_difficulty(b) / _difficulty(pb) - 1) * 100)
           for (_, _, pb, _), (_, t, b, _) in zip(rows, rows[1:])
           if datetime.fromtimestamp(t, timezone.utc).date() == event.retarget_day]
    assert len(hit) == 1 and hit[0][1] == pytest.approx(event.retarget_pct, abs=0.005)


def _chainwork_at(starts: list[tuple[int, int, int]], t: float) -> float:
    for (t0, _, c0), (t1, _, c1) in zip(starts, starts[1:]):
        if t0 <= t <= t1:
            return c0 + (c1 - c0) * (t - t0) / (t1 - t0)
    raise AssertionError(t)


def test_ribbons_match_chainwork_averages(periods: list[H.Period]) -> None:
    """At every period end 2016–2024 (to 832,608), the code's ribbon is on exactly when the 30-day
    average hashrate, (W(t) − W(t − 30 d)) / 30 d with W the chainwork on a line between period
    starts, is below the 60-day one."""
    ckb = _ckb_starts()
    starts = [ckb[h] for h in sorted(ckb)]
    spread = dict(H.history_series(periods)["hash_ribbon_spread_pct"])
    checked = 0
    for t, _, _ in starts[1:]:
        day = datetime.fromtimestamp(t, timezone.utc).date()
        if day < date(2016, 1, 1):
            continue
        w = _chainwork_at(starts, t)
        s30 = (w - _chainwork_at(starts, t - 30 * 86_400)) / (30 * 86_400)
        s60 = (w - _chainwork_at(starts, t - 60 * 86_400)) / (60 * 86_400)
        assert (spread[day] < 0) == (s30 < s60), day
        assert spread[day] == pytest.approx((s30 / s60 - 1) * 100, abs=1e-6)
        checked += 1
    assert checked == 219           # the period ends from 2016-01-01 to height 832,608


def test_hashprice_line_moves_with_the_median_machine(periods: list[H.Period]) -> None:
    # The period that began with the −15.13 % retarget of 2018-12-03 (552,384 to 554,400): subsidy
    # 12.5 BTC, difficulty 5,646,403,851,534.7 from bits 0x1731d97c; hashvalue = 12.5 × 86,400 × 1e15 /
    # (D × 2^32) = 0.0445 BTC/PH/day, times the mean of its days' prices (2018-12-03 … 2018-12-18,
    # 3,487.80 USD): 155.3 USD/PH/day. The median machine
    # in December 2018 (18 months back: June 2017) is the Antminer S9 of 2016-06, 1,323 W / 13.5
    # TH/s = 98 J/TH: 98 × 24 × 0.045 = 105.84 USD/PH/day, below the hashprice: no revenue signal.
    ckb = _ckb_starts()
    p = next(x for x in periods if x.start_height == 552_384)
    d = _difficulty(ckb[552_384][1])
    prices = {}
    with resources.files("minerwatch").joinpath("data", "btc-usd-daily-2012-2026.csv").open() as f:
        for r in csv.reader(f):
            if r[0] != "date":
                prices[date.fromisoformat(r[0])] = float(r[1])
    days = [date(2018, 12, 3) + timedelta(days=k) for k in range(16)]
    expected = 12.5 * 86_400 * 1e15 / (d * 2**32) * sum(prices[x] for x in days) / len(days)
    assert p.hashprice_usd_per_ph_day == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(155.3, abs=0.1)
    m = breakeven_model().at(p.end_day)
    assert m is not None and m.model == "Antminer S9"
    assert m.breakeven_hashprice_usd_per_ph_day == pytest.approx(105.84)


def test_backtest_table(periods: list[H.Period]) -> None:
    """The table docs/capitulation.md shows. The ribbons' first period end inside each event's
    window (±45 days around its drop) is where test_ribbons_match_chainwork_averages found the
    30-day average below the 60-day; the capitulation state needs the hashprice below the median
    machine's breakeven too, which at 0.045 USD/kWh happened only in 2020 (the S9 era's end)."""
    b = H.history_backtest(periods)
    assert [(r.event.name, r.ribbons_first, r.watch_first) for r in b.events] == [
        ("late 2018", date(2018, 11, 1), None),
        ("March 2020", date(2020, 3, 26), date(2020, 3, 26)),
        ("2021 China ban", date(2021, 6, 13), None),
        ("late 2022", date(2022, 12, 6), None),
        ("after the 2024 halving", date(2024, 5, 23), None),
    ]
    # Ribbon alarms since 2016 beside the five: Jul–Aug 2016, Nov–Dec 2019, Jun 2020, Oct–Nov 2020,
    # Apr–May 2021 (the Xinjiang blackout), Jun–Aug 2022 (Edwards' own 71-day capitulation).
    since = [(a.start, a.end, a.days) for a in b.ribbon_alarms if a.end >= date(2016, 1, 1)]
    assert (len(since), b.ribbon_alarms_between, b.watch_alarms_between) == (11, 6, 1)
    assert (date(2022, 6, 9), date(2022, 8, 18), 71) in since
    assert [(a.start, a.end) for a in b.watch_alarms] == [(date(2020, 3, 10), date(2020, 3, 26)),
                                                          (date(2020, 5, 21), date(2020, 6, 16))]


def test_cli_reproduces_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capitulation", "--backtest-history"]) == 0
    out = capsys.readouterr().out
    assert "late 2018               −15.13 % on 2018-12-03  2018-11-01       no" in out
    assert "flagged: hash ribbons 5 of 5, capitulation state 1 of 5" in out
    assert "  2022-06-09 … 2022-08-18: 71 days on within a span of 71 days" in out
    assert main(["capitulation", "--backtest-history", "--json", "--power-usd-per-kwh", "0.07"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # At 0.07 USD/kWh the S9's line is 98 × 24 × 0.07 = 164.64 USD/PH/day, above the 155.3 of
    # December 2018: the late-2018 capitulation is flagged by the state too.
    assert doc["events"][0]["watch_first"] is not None and doc["model"]["power_usd_per_kwh"] == 0.07


def test_bad_headers_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "starts.csv"
    bad.write_text("height,time,bits,chainwork_hex\n0,1231006505,1d00ffff,100010001\n2015,1,1d00ffff,1\n")
    with pytest.raises(UsageError, match="starts.csv line 3: height 2,015 is not the start of period 1"):
        H.load_periods(bad)


def test_ribbon_recovery_and_buy_of_2022(periods: list[H.Period]) -> None:
    """Edwards' 71-day capitulation of 2022: the ribbons recover at the period end 2022-08-31, when
    the 10-day price average is still below the 20-day, and the buy comes at the next period end,
    2022-09-13, the first with the 10-day above (both checked on the shipped prices here)."""
    prices = H.shipped_prices()

    def sma(day: date, n: int) -> float:
        return sum(prices[day - timedelta(days=k)] for k in range(n)) / n

    got = [(s.kind, s.day) for s in H.history_backtest(periods).ribbon_signals
           if date(2022, 6, 1) <= s.day <= date(2022, 10, 1)]
    assert got == [("capitulation", date(2022, 6, 22)), ("recovery", date(2022, 8, 31)), ("buy", date(2022, 9, 13))]
    assert sma(date(2022, 8, 31), 10) < sma(date(2022, 8, 31), 20)
    assert sma(date(2022, 9, 13), 10) > sma(date(2022, 9, 13), 20)


def test_users_models_move_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A 10 J/TH machine (5,000 W / 500 TH/s) released 2017-01 is the median machine from 2018-07 on:
    # its line, 10 × 24 × 0.045 = 10.80 USD/PH/day, is below every hashprice since, so the
    # capitulation state flags none (March 2020's 95.53 is far above it).
    asic = tmp_path / "mine.csv"
    asic.write_text("model,manufacturer,hashrate_ths,power_w,released\nFuture Miner,Acme,500,5000,2017-01\n")
    assert main(["capitulation", "--backtest-history", "--asic-file", str(asic)]) == 0
    assert "flagged: hash ribbons 5 of 5, capitulation state 0 of 5" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["capitulation", "--headers", "x.csv"], "error: --headers goes with --backtest-history"),
    (["capitulation", "--backtest-history", "--adoption-lag-months", "200"],
     "error: adoption lag 200 months is out of range"),
    (["capitulation", "--backtest-history", "--power-usd-per-kwh", "0"], "error: power price 0.0 USD/kWh must be positive"),
    (["calc", "underwater", "--hashprice-usd-per-ph-day", "30", "--power-prices", "0,0.05"],
     "error: power prices 0,0.05 must all be positive"),
])
def test_bad_options_are_named(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 1
    assert capsys.readouterr().err.startswith(message)
