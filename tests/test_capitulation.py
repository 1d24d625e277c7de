"""The capitulation watch on hand-filled series whose on/off days are known by construction."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from handfilled_series import days, install
from minerwatch.cli import main
from minerwatch.metrics.capitulation import capitulation_state, daily_states, episodes
from minerwatch.metrics import registry
from minerwatch.metrics.registry import Query, get

D0 = date(2022, 1, 1)
N = 400     # day i is D0 + i: i = 100 → 2022-04-11, 109 → 04-20, 365 → 2023-01-01, 374 → 01-10,
            # 380 → 01-16, 390 → 01-26, 395 → 01-31, 399 → 2023-02-04 (2022 has 365 days).


def _series() -> dict[str, list[tuple[date, float | None]]]:
    ribbon = [-0.5 if 100 <= i <= 109 or i >= 380 else 1.0 for i in range(N)]
    mpi = [2.5 if 100 <= i <= 104 or 108 <= i <= 109 or i >= 390 else 1.0 for i in range(N)]
    # Reserve falls 1,000 BTC a day (a new low every day) to 1,606,000 on day 394, then sits at
    # 1,630,000: 1,630,000 / 1,606,000 − 1 = 1.4944 % above the trailing year's low, beyond the 1 % band.
    reserve = [2_000_000.0 - 1000 * i if i <= 394 else 1_630_000.0 for i in range(N)]
    # Hashprice 50, then 18 from day 390: below the median machine's breakeven of 31.86 USD/PH/day
    # (2023-02 less the 18-month adoption lag is 2021-08: the most efficient catalog model released by
    # then is the S19j Pro of 2021-06, 2,950 W / 100 TH/s = 29.5 J/TH — the S19 Pro's 3,250 W /
    # 110 TH/s is 29.55 — and 29.5 × 24 h × 0.045 USD/kWh = 31.86).
    hashprice = [50.0 if i < 390 else 18.0 for i in range(N)]
    # Retarget forecast −2 % from day 396 (2023-02-01); ribbon compression 1.5 % (≤ 2 %) from day 397 (02-02).
    retarget = [-2.0 if i >= 396 else 1.0 for i in range(N)]
    ribbon_compression = [0.015 if i >= 397 else 0.05 for i in range(N)]
    return {"hash_ribbon_spread_pct": days(D0, ribbon), "mpi": days(D0, mpi),
            "retarget_forecast_pct": days(D0, retarget), "difficulty_ribbon_compression": days(D0, ribbon_compression),
            "miner_reserve_btc": days(D0, reserve), "hashprice_usd_per_ph_day": days(D0, hashprice)}


@pytest.fixture()
def con(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(tmp_path / "t.duckdb"))
    install(c, monkeypatch, _series())
    return c


def test_state_at_the_last_day(con: duckdb.DuckDBPyConnection) -> None:
    st = capitulation_state(con)
    by = {s.name: s for s in st.signals}
    assert st.as_of == date(2023, 2, 4)
    assert (by["hash_ribbons"].on, by["hash_ribbons"].value, by["hash_ribbons"].since) == (True, -0.5, date(2023, 1, 16))
    assert (by["miner_position_index"].on, by["miner_position_index"].since) == (True, date(2023, 1, 26))
    assert by["miner_position_index"].threshold == 2.0
    r = by["reserve_near_record_low"]
    assert r.on is False and r.since == date(2023, 1, 31)
    assert r.value == pytest.approx((1_630_000 / 1_606_000 - 1) * 100)      # 1.4944 %
    h = by["hashprice_below_breakeven"]
    assert (h.on, h.value, h.since) == (True, 18.0, date(2023, 1, 26))
    assert h.threshold == pytest.approx(31.86)
    assert h.basis == "Antminer S19j Pro (29.5 J/TH, released 2021-06) at 0.045 USD/kWh"
    assert (by["negative_retarget_forecast"].on, by["negative_retarget_forecast"].since) == (True, date(2023, 2, 1))
    c = by["difficulty_ribbon_compressed"]
    # Shown in percent: stddev / mean 0.015 is 1.5 %, the line 2 %.
    assert (c.on, c.value, c.threshold, c.since) == (True, 1.5, 2.0, date(2023, 2, 2))
    # Five signals on, but the ribbons, the retarget forecast and the difficulty ribbon are one family
    # (block arrivals) and MPI is of the miner-coins family with the reserve: block arrivals, miner
    # coins and revenue are on, 3 of the 3 families with data.
    assert (st.signals_on, st.signals_with_data, st.state) == (3, 3, "capitulation")


def test_missing_series_are_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only two series filled: the other four read tables this database does not have.
    c = duckdb.connect(str(tmp_path / "two.duckdb"))
    install(c, monkeypatch, {k: v for k, v in _series().items() if k in ("hash_ribbon_spread_pct", "mpi")})
    st = capitulation_state(c)
    missing = {s.name: s.missing for s in st.signals if s.on is None}
    assert set(missing) == {"reserve_near_record_low", "hashprice_below_breakeven", "negative_retarget_forecast",
                            "difficulty_ribbon_compressed"}
    assert all(m and m.startswith("no data for ") for m in missing.values())
    assert (st.state, st.signals_on, st.signals_with_data) == ("capitulation", 2, 2)


@pytest.mark.parametrize("as_of, state, on", [
    (date(2023, 1, 20), "capitulation", 2),   # ribbons (since 01-16) + reserve at its low (since 01-01)
    (date(2023, 1, 10), "watch", 1),          # reserve at its low, ribbons still positive
    (date(2022, 6, 1), "calm", 0),            # the reserve needs a year of history: missing, not on
])
def test_state_as_of(con: duckdb.DuckDBPyConnection, as_of: date, state: str, on: int) -> None:
    st = capitulation_state(con, as_of)
    assert (st.state, st.signals_on, st.as_of) == (state, on, as_of)


def test_series_missing_from_this_version(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(registry.METRICS, "retarget_forecast_pct")
    r = {s.name: s for s in capitulation_state(con).signals}["negative_retarget_forecast"]
    assert r.on is None and r.missing == "the series retarget_forecast_pct is not available in this version of minerwatch"


def test_reserve_low_is_of_the_trailing_year(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 100 on day 0, then 200 for 364 days, then 201, 201.5: on day 365 the window (days 1–365) no
    # longer holds day 0's 100, so the low is 200 and 201 is 0.5 % above it: on. Day 366: 201.5 is
    # 0.75 % above 200: still on. Against the all-time low of 100 it would be 101 % and 101.5 %.
    c = duckdb.connect(str(tmp_path / "r.duckdb"))
    install(c, monkeypatch, {"miner_reserve_btc": days(D0, [100.0] + [200.0] * 364 + [201.0, 201.5])})
    r = {s.name: s for s in capitulation_state(c).signals}["reserve_near_record_low"]
    assert r.on is True and r.value == pytest.approx(0.75) and r.since == date(2023, 1, 1)


def test_reserve_needs_a_year(con: duckdb.DuckDBPyConnection) -> None:
    # The reserve starts on 2022-01-01; its trailing-year low exists 365 days later, 2023-01-01.
    r = {s.name: s for s in capitulation_state(con, date(2022, 6, 1)).signals}["reserve_near_record_low"]
    assert (r.on, r.missing, r.warming_up_until) == (None, None, date(2023, 1, 1))


def test_backtest_episodes(con: duckdb.DuckDBPyConnection) -> None:
    # Days 100–104 and 108–109 (ribbons + MPI) are 4 days apart → one episode: 7 days on within a
    # span of 10 days, 2 families. Days 380–399: ribbons with the reserve, then MPI and hashprice
    # (block arrivals, miner coins, revenue: 3 families during 390–394); from 396 the retarget
    # forecast and from 397 the ribbon compression join the ribbons' family: still 3.
    eps = episodes(daily_states(con))
    assert [(e.start, e.end, e.days, e.span_days, e.max_signals_on) for e in eps] == [
        (date(2022, 4, 11), date(2022, 4, 20), 7, 10, 2),
        (date(2023, 1, 16), date(2023, 2, 4), 20, 20, 3),
    ]


def test_registered_series(con: duckdb.DuckDBPyConnection) -> None:
    rows = dict(get("capitulation_signals_on").fn(con, Query(date(2023, 1, 16), date(2023, 2, 2))))
    # 01-16: ribbons and reserve (2 families); 01-26: ribbons, MPI, reserve, hashprice (3 families:
    # MPI and the reserve are one); 02-02: ribbons, retarget forecast and ribbon compression are one
    # family, with MPI and hashprice: 3.
    assert [rows[date(2023, 1, d)] for d in (16, 26)] + [rows[date(2023, 2, 2)]] == [2.0, 3.0, 3.0]


def test_empty_database_is_unknown(tmp_path: Path) -> None:
    st = capitulation_state(duckdb.connect(str(tmp_path / "empty.duckdb")))
    assert st.state == "unknown" and st.signals_with_data == 0
    assert all(s.missing for s in st.signals)


def test_cli_capitulation_json(con: duckdb.DuckDBPyConnection, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    con.close()
    assert main(["capitulation", "--db", str(tmp_path / "t.duckdb"), "--backtest", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"] == "capitulation" and out["as_of"] == "2023-02-04"
    assert [e["start"] for e in out["episodes"]] == ["2022-04-11", "2023-01-16"]


def test_one_family_counts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ribbons, the retarget forecast and the difficulty ribbon all on: three signals, but all
    # read block arrivals, so one family on and no capitulation without evidence from elsewhere.
    c = duckdb.connect(str(tmp_path / "f.duckdb"))
    install(c, monkeypatch, {"hash_ribbon_spread_pct": days(D0, [-0.05] * 3),
                             "retarget_forecast_pct": days(D0, [-1.0] * 3),
                             "difficulty_ribbon_compression": days(D0, [0.01] * 3)})
    st = capitulation_state(c)
    assert [s.on for s in st.signals if s.family == "block arrivals"] == [True, True, True]
    assert (st.state, st.signals_on, st.signals_with_data) == ("watch", 1, 1)


def test_ribbons_warm_up_for_60_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Hashrate from 2022-01-01, no 60-day average yet: its first value comes 59 days later, on
    # 2022-03-01 (2022-01-01 + 59 days: January has 31, February 28).
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    install(c, monkeypatch, {"hashrate_ehs": days(D0, [100.0] * 20), "hash_ribbon_spread_pct": []})
    r = {s.name: s for s in capitulation_state(c).signals}["hash_ribbons"]
    assert (r.on, r.missing, r.warming_up_until) == (None, None, date(2022, 3, 1))


def test_cli_capitulation_plain_has_units_and_spans(con: duckdb.DuckDBPyConnection, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    con.close()
    assert main(["capitulation", "--db", str(tmp_path / "t.duckdb"), "--backtest"]) == 0
    out = capsys.readouterr().out
    assert "hash_ribbons (block arrivals): −0.50 % on 2023-02-04 (threshold 0.00 %;" in out
    assert ("hashprice_below_breakeven (revenue): 18.00 USD/PH/day on 2023-02-04 (threshold 31.86 USD/PH/day, "
            "Antminer S19j Pro (29.5 J/TH, released 2021-06) at 0.045 USD/kWh;") in out
    assert "miner_position_index (miner coins): 2.50 × its 365-day average" in out
    # Episodes as in test_backtest_episodes: 7 days on within 2022-04-11 … 04-20 (10 days).
    assert "  2022-04-11 … 2022-04-20: 7 days on within a span of 10 days, up to 2 signal families on" in out
