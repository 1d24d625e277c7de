"""Truth on real headers: the real mainnet headers 0–8,999 and 822,528–830,592 loaded with
`sync --headers-file` (no block at all) give, for every UTC day they cover completely, the block
count, the mean difficulty and the three hashrate estimators that this file works out from the raw
bytes with hashlib and struct alone; and the retarget forecast at several points of an epoch."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from minerwatch.cli import main
from minerwatch.metrics import retarget
from minerwatch.metrics.registry import Query, read

DATA = Path(__file__).parent / "data" / "headers"
EARLY = DATA / "mainnet-headers-0-8999.bin"
RECENT = DATA / "mainnet-headers-822528-830592.bin"
DAY_S = 86_400
DIFF1_TARGET = 0xFFFF * 256 ** (0x1D - 3)


@dataclass(frozen=True)
class Raw:
    height: int
    hash: bytes
    prev: bytes
    time: int
    bits: int


def _raw(path: Path, first: int) -> list[Raw]:
    data = path.read_bytes()
    out = []
    for i in range(len(data) // 80):
        h = data[i * 80:(i + 1) * 80]
        _, prev, _, t, bits, _ = struct.unpack("<i32s32sIII", h)
        out.append(Raw(first + i, hashlib.sha256(hashlib.sha256(h).digest()).digest(), prev, t, bits))
    return out


def _target(bits: int) -> int:
    return (bits & 0x7FFFFF) * 256 ** ((bits >> 24) - 3)


def _difficulty(bits: int) -> float:
    return DIFF1_TARGET / _target(bits)


def _day(t: int) -> date:
    return date(1970, 1, 1) + timedelta(days=t // DAY_S)


def _complete_days(hs: list[Raw]) -> list[date]:
    """UTC days no block outside the file can fall on. After the file: every later block's time
    exceeds the median of the 11 before it (BIP113), so days ending by the median of the file's
    last 11 are closed. Before it: a block is at most 2 h ahead of the clock, and the file's first
    dozen headers were mined after every earlier block, so days starting 2 h after their latest
    time are clear. The 24 h and 120-block windows are also required to lie inside the file."""
    mtp_end = sorted(h.time for h in hs[-11:])[5]
    clear_from = max(h.time for h in hs[:12]) + 7200
    days = sorted({_day(h.time) for h in hs})
    out = []
    for d in days:
        start = (d - date(1970, 1, 1)).days * DAY_S
        if start >= clear_from + DAY_S and start + DAY_S <= mtp_end:
            out.append(d)
    return out


def _expected(hs: list[Raw]) -> dict[date, dict[str, float]]:
    """Per complete day, the figures worked out here from the raw headers."""
    first = hs[0].height
    # chainwork differences only: each header adds 2^256 // (target + 1) (Core's GetBlockProof).
    work = [(1 << 256) // (_target(h.bits) + 1) for h in hs]
    cum = [0]
    for w in work:
        cum.append(cum[-1] + w)
    clock, running = [], 0
    for h in hs:
        running = max(running, h.time)
        clock.append(running)
    by_day: dict[date, list[Raw]] = {}
    for h in hs:
        by_day.setdefault(_day(h.time), []).append(h)
    out = {}
    for d in _complete_days(hs):
        blocks = by_day[d]
        last = max(b.height for b in blocks)
        i = last - first
        assert i >= 120, "the 120-block window must lie inside the file"
        # BRK: blocks whose running-max time lies in (clock − 86,400, clock] of the day's last block.
        n24 = sum(1 for j in range(i + 1) if clock[j] > clock[i] - DAY_S)
        # Core getnetworkhashps(120): work of the 120 blocks after last − 120 over the time span of
        # the 121 headers last − 120 … last.
        span = [hs[j].time for j in range(i - 120, i + 1)]
        cw120 = (cum[i + 1] - cum[i - 120 + 1]) / (max(span) - min(span))
        diffs = [_difficulty(b.bits) for b in blocks]
        out[d] = {
            "blocks": len(blocks),
            "difficulty": sum(diffs) / len(diffs),
            # Coin Metrics: blocks / 144 × mean difficulty × 2^32 / 600 (= Σ difficulty × 2^32 / 86,400)
            "hashrate_ehs": len(blocks) / 144 * (sum(diffs) / len(diffs)) * 2**32 / 600 / 1e18,
            "hashrate_brk_ehs": n24 / 144 * _difficulty(hs[i].bits) * 2**32 / 600 / 1e18,
            "hashrate_chainwork_ehs": cw120 / 1e18,
        }
    return out


def _load(tmp_path: Path, path: Path, *extra: str) -> duckdb.DuckDBPyConnection:
    db = tmp_path / f"{path.stem}.duckdb"
    assert main(["sync", "--db", str(db), "--headers-file", str(path), *extra]) == 0
    return duckdb.connect(str(db), read_only=True)


@pytest.mark.parametrize("path, first", [(EARLY, 0), (RECENT, 822_528)])
def test_every_complete_day_equals_an_independent_computation(tmp_path: Path, path: Path, first: int) -> None:
    hs = _raw(path, first)
    expected = _expected(hs)
    # 2009: the first days had few blocks, so 120 blocks reach back days; still dozens of days
    # qualify. 2024: the 8,065 headers span ~56 days, ~53 of them complete.
    assert len(expected) >= (20 if first == 0 else 50)
    con = _load(tmp_path, path, *([] if first == 0 else ["--first-height", str(first)]))
    assert con.execute("SELECT count(*) FROM blocks").fetchone()[0] == 0     # headers alone
    for name in ("blocks", "difficulty", "hashrate_ehs", "hashrate_brk_ehs", "hashrate_chainwork_ehs"):
        got = dict(read(con, name, Query()).points)
        for d, want in expected.items():
            assert got[d] == pytest.approx(want[name], rel=1e-9), (name, d)


def test_ribbons_and_window_averages_on_the_recent_headers(tmp_path: Path) -> None:
    # The difficulty ribbon's 14-day average and the hash ribbons' 30-day hashrate, on every day
    # whose whole window lies in complete days: the mean of the independent daily figures (every
    # UTC day of 2024 has blocks, so a 14-day window holds 14 days).
    hs = _raw(RECENT, 822_528)
    expected = _expected(hs)
    days = sorted(expected)
    con = _load(tmp_path, RECENT, "--first-height", "822528")
    sma14 = dict(read(con, "difficulty_sma14", Query()).points)
    h30 = dict(read(con, "hashrate_ehs_30d", Query()).points)
    checked = 0
    for i, d in enumerate(days):
        if i >= 13 and days[i - 13] == d - timedelta(days=13):
            want = sum(expected[x]["difficulty"] for x in days[i - 13:i + 1]) / 14
            assert sma14[d] == pytest.approx(want, rel=1e-9), d
            checked += 1
        if i >= 29 and days[i - 29] == d - timedelta(days=29):
            want = sum(expected[x]["hashrate_ehs"] for x in days[i - 29:i + 1]) / 30
            assert h30[d] == pytest.approx(want, rel=1e-9), d
            checked += 1
    assert checked >= 60     # 39 ribbon days and 23 hash-ribbon days


def test_halving_from_headers_alone(tmp_path: Path) -> None:
    from minerwatch.metrics.difficulty import next_halving

    con = _load(tmp_path, EARLY)
    h = next_halving(con)
    # Height 8,999: the first halving is at 210,000, 201,001 blocks away; 50 BTC now, 25 after.
    assert (h.height, h.blocks_remaining, h.subsidy_btc_now, h.subsidy_btc_after) == (210_000, 201_001, 50.0, 25.0)


def _pace(hs: list[Raw], k: int) -> float | None:
    """BRK's pace after the first k headers of an epoch: (blocks since its first × 600 / seconds
    since − 1) × 100, clamped to [−75, 300]; none before a block follows the first."""
    n, seconds = k - 1, hs[k - 1].time - hs[0].time
    if n <= 0 or seconds <= 0:
        return None
    return min(max((n * 600 / seconds - 1) * 100, -75.0), 300.0)


@pytest.mark.parametrize("k", [1, 2, 145, 1008, 2015, 2016])
def test_retarget_forecast_at_points_of_an_epoch(tmp_path: Path, k: int) -> None:
    # 822,528 = 408 × 2,016 opens an epoch: the first k headers of the file are k headers into it.
    hs = _raw(RECENT, 822_528)
    part = tmp_path / "part.bin"
    part.write_bytes(RECENT.read_bytes()[:k * 80])
    con = _load(tmp_path, part, "--first-height", "822528")
    f = retarget.forecast(con)
    assert (f.tip_height, f.blocks_in_epoch, f.epoch_start_height) == (822_528 + k - 1, k - 1, 822_528)
    want = _pace(hs, k)
    assert (f.change_pct is None) == (want is None)
    if want is not None:
        assert f.change_pct == pytest.approx(want, rel=1e-12)
    # The daily series reads the same pace at each day's last header.
    daily = dict(read(con, "retarget_forecast_pct", Query()).points)
    last_day = _day(max(h.time for h in hs[:k]))
    last_height = max(h.height for h in hs[:k] if _day(h.time) == last_day)
    want_daily = _pace(hs, last_height - 822_528 + 1)
    assert daily[last_day] == (None if want_daily is None else pytest.approx(want_daily, rel=1e-12))


def test_forecast_at_the_tip_of_the_early_chain(tmp_path: Path) -> None:
    # Height 8,999 is 929 blocks into the epoch that began at 8,064 (4 × 2,016).
    hs = _raw(EARLY, 0)
    con = _load(tmp_path, EARLY)
    f = retarget.forecast(con)
    n, seconds = 8_999 - 8_064, hs[8_999].time - hs[8_064].time
    assert f.blocks_in_epoch == n
    assert f.change_pct == pytest.approx(min(max((n * 600 / seconds - 1) * 100, -75), 300), rel=1e-12)
