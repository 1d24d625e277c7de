"""Hashrate estimators on block facts built by hand, and on 8,065 real mainnet headers."""

from __future__ import annotations

import csv
import math
import struct
from datetime import date
from pathlib import Path

import pytest
from metrics_helpers import DAY_S, Fact, day_of_blocks, insert_block_rows, insert_facts, open_db

from minerwatch.metrics import network, prices
from minerwatch.metrics.registry import Query, get

HEADERS = Path(__file__).parent / "data" / "headers" / "mainnet-headers-822528-830592.bin"
BOUNDARIES = Path(__file__).parent / "data" / "headers" / "mainnet-retarget-headers-0-832608.csv"
D1 = 1e14
# 144 blocks in a day at difficulty 1e14: 1e14 × 2^32 / 600 H/s = 7.158278826666667e20 H/s.
EHS_AT_D1 = 1e14 * 4294967296 / 600 / 1e18   # 715.8278826666667 EH/s


def _build(tmp_path: Path):
    con = open_db(tmp_path)
    facts = day_of_blocks(840_000, 0, 144, D1, fees_sat=2_500_000)          # 2024-01-01: 144 blocks, 600 s apart
    facts += day_of_blocks(840_144, 1, 288, D1)                              # 2024-01-02: 288 blocks, 300 s apart
    facts += day_of_blocks(840_432, 2, 72, 2 * D1)                           # 2024-01-03: 72 blocks at 2e14
    insert_facts(con, facts)
    prices.ensure_default_prices(con, 0)
    network.refresh_network(con, 0)
    return con


def test_block_count_hashrate_per_utc_day(tmp_path: Path) -> None:
    con = _build(tmp_path)
    rows = dict(get("hashrate_ehs").fn(con, Query()))
    # day 1: 144/144 × 1e14 × 2^32 / 600; day 2: twice the blocks → twice; day 3: half the blocks at
    # twice the difficulty → the same as day 1.
    assert rows[date(2024, 1, 1)] == pytest.approx(EHS_AT_D1, rel=1e-12)
    assert rows[date(2024, 1, 2)] == pytest.approx(2 * EHS_AT_D1, rel=1e-12)
    assert rows[date(2024, 1, 3)] == pytest.approx(EHS_AT_D1, rel=1e-12)
    assert EHS_AT_D1 == pytest.approx(715.8278826666667, rel=1e-12)


def test_brk_trailing_24h_and_core_chainwork_estimators(tmp_path: Path) -> None:
    con = _build(tmp_path)
    got = dict(con.execute("SELECT height, (blocks_24h, hashrate_24h_ehs, hashrate_cw120_ehs) FROM block_network").fetchall())
    # Last block of day 1 (height 840,143, T0 + 143 × 600): the 24 h before it hold all 144 blocks.
    n, brk, cw = got[840_143]
    assert n == 144 and brk == pytest.approx(EHS_AT_D1, rel=1e-12)
    # Core's n = 120: 120 blocks' work (120 × 1e14 × 2^32) over 120 × 600 s → the same 715.8 EH/s.
    assert cw == pytest.approx(EHS_AT_D1, rel=1e-12)
    # First block: nothing before it, no time elapsed → no chainwork estimate; one block in 24 h.
    assert got[840_000][0] == 1 and got[840_000][2] is None
    # Last block of day 2 (T0 + 86,400 + 287 × 300 = T0 + 172,500): window (T0 + 86,100, …] holds
    # the 288 blocks of day 2 and none of day 1 (its last is at T0 + 85,800) → 288/144 × 715.8.
    n, brk, cw = got[840_431]
    assert n == 288 and brk == pytest.approx(2 * EHS_AT_D1, rel=1e-12)
    # 120 intervals of 300 s at 1e14: twice the 600 s rate.
    assert cw == pytest.approx(2 * EHS_AT_D1, rel=1e-12)


def test_window_averages_and_poisson_intervals(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    facts: list[Fact] = []
    for day in range(8):   # 8 days; day k has 144 + 8k blocks at 1e14
        facts += day_of_blocks(840_000 + len(facts), day, 144 + 8 * day, D1)
    insert_facts(con, facts)
    network.refresh_network(con, 0)
    avg7 = dict(get("hashrate_ehs_7d").fn(con, Query()))
    # The 7-day average needs 7 days: none before 2024-01-07.
    assert date(2024, 1, 6) not in avg7 or avg7[date(2024, 1, 6)] is None
    # 2024-01-08 (day 7) averages days 1…7: (152+160+…+200) blocks = 1,232 → 1232/(7×144) × 715.8
    assert avg7[date(2024, 1, 8)] == pytest.approx(1232 / 1008 * EHS_AT_D1, rel=1e-12)
    est = network.hashrate_estimates(con, 7, Query(date(2024, 1, 8), date(2024, 1, 8)))[0]
    assert est.blocks == 1232
    lo, hi = network.poisson_bounds95(1232)
    assert est.low95_ehs == pytest.approx(est.hashrate_ehs * lo / 1232)
    assert est.high95_ehs == pytest.approx(est.hashrate_ehs * hi / 1232)


def _exact_poisson_bounds(n: int) -> tuple[float, float]:
    """Exact (Garwood) 95 % bounds by bisection on the Poisson CDF, computed in log space."""
    def cdf(k: int, mu: float) -> float:
        terms = [-mu + i * math.log(mu) - math.lgamma(i + 1) for i in range(k + 1)]
        m = max(terms)
        return math.exp(m) * sum(math.exp(t - m) for t in terms)

    def solve(f, lo: float, hi: float) -> float:
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        return (lo + hi) / 2
    lower = solve(lambda mu: 1 - cdf(n - 1, mu) < 0.025 and 1 or -1, 1e-9, 10 * n + 10)
    upper = solve(lambda mu: cdf(n, mu) > 0.025 and 1 or -1, 1e-9, 10 * n + 10)
    return lower, upper


@pytest.mark.parametrize("n", [10, 144, 1008, 4320])
def test_poisson_bounds_match_the_exact_interval(n: int) -> None:
    # Byar's approximation is within 0.5 % of the exact interval from ten blocks up; for one day
    # (144 blocks) the interval is about [121.4, 169.6] blocks: −16 % / +18 %.
    lo, hi = network.poisson_bounds95(n)
    ex_lo, ex_hi = _exact_poisson_bounds(n)
    assert lo == pytest.approx(ex_lo, rel=5e-3)
    assert hi == pytest.approx(ex_hi, rel=5e-3)


# ---- real headers ------------------------------------------------------------------------------

def _real_headers() -> list[tuple[int, int, int]]:
    """(height, time, bits) of the 8,065 real headers 822,528 … 830,592."""
    data = HEADERS.read_bytes()
    assert len(data) == 8065 * 80
    out = []
    for i in range(8065):
        _, _, _, t, bits, _ = struct.unpack_from("<I32s32sIII", data, i * 80)
        out.append((822_528 + i, t, bits))
    return out


def _target(bits: int) -> int:
    return (bits & 0x7FFFFF) * 256 ** ((bits >> 24) - 3)


def _chainwork_at_822528() -> int:
    with BOUNDARIES.open() as f:
        for row in csv.DictReader(f):
            if row["height"] == "822528":
                return int(row["chainwork_hex"], 16)
    raise AssertionError("boundary header 822528 missing")


def test_estimators_on_real_headers_match_an_independent_computation(tmp_path: Path) -> None:
    headers = _real_headers()
    diff1 = _target(0x1D00FFFF)
    # Independent chainwork: the boundary CSV gives chainwork at 822,528; each later header adds
    # 2^256 // (target + 1), Bitcoin Core's GetBlockProof.
    cw = [_chainwork_at_822528()]
    for _, _, bits in headers[1:]:
        cw.append(cw[-1] + (1 << 256) // (_target(bits) + 1))
    con = open_db(tmp_path)
    rows = []
    for (h, t, bits), c in zip(headers, cw, strict=True):
        rows.append((h, f"{h:064x}", "", t, t, 0, bits, diff1 / _target(bits), c, 0, 0, 1, 0, 1, 0, 0,
                     625_000_000, 625_000_000, 0, 0, "", ""))
    insert_block_rows(con, rows)
    network.refresh_network(con, 0)
    got = dict(con.execute("SELECT height, (hashrate_cw120_ehs, blocks_24h) FROM block_network").fetchall())

    times = [t for _, t, _ in headers]
    clock, running = [], 0
    for t in times:
        running = max(running, t)
        clock.append(running)
    checked = 0
    for i in range(0, len(headers)):
        h = headers[i][0]
        # Core getnetworkhashps(120): work since 120 blocks back over max − min time of those 121 blocks.
        j = max(0, i - 120)
        span = max(times[j:i + 1]) - min(times[j:i + 1])
        if i == 0:  # the first stored block has nothing behind it
            assert got[h][0] is None
        else:
            assert got[h][0] == pytest.approx((cw[i] - cw[j]) / span / 1e18, rel=1e-12), h
        if i >= 400:  # BRK's trailing 24 h: blocks at or before i whose clock is within 86,400 s
            n24 = sum(1 for k in range(i - 400, i + 1) if clock[k] > clock[i] - DAY_S)
            assert got[h][1] == n24, h
            checked += 1
    assert checked == 8065 - 400
    # Mainnet around height 830,000 (Feb 2024): Core's 120-block estimate sits near 500–600 EH/s.
    assert 400 < got[830_000][0] < 800

    # Coin Metrics' daily estimate on every complete UTC day: Σ difficulty × 2^32 / 86,400 s.
    per_day: dict[int, list[float]] = {}
    for (_, t, bits) in headers:
        per_day.setdefault(t // DAY_S, []).append(diff1 / _target(bits))
    daily = dict(get("hashrate_ehs").fn(con, Query()))
    for day_no in sorted(per_day)[1:-1]:
        d = date.fromordinal(date(1970, 1, 1).toordinal() + day_no)
        assert daily[d] == pytest.approx(sum(per_day[day_no]) * 2**32 / DAY_S / 1e18, rel=1e-12)
