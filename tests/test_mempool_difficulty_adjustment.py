"""/api/v1/difficulty-adjustment answers what mempool.space's backend answers, on the real mainnet
headers 822,528 … 830,592, at several points of an epoch.

The expected answers are worked out here from the raw 80-byte headers: `_mempool` restates
mempool.space's calcDifficultyAdjustment and calcBitsDifference
(backend/src/api/difficulty-adjustment.ts) line by line, fed as its backend feeds them once caught
up (backend/src/api/blocks.ts: the epoch's first header time, the previous retarget from the bits of
the two epochs' first blocks, the header time of the block 503 below the tip). mempool.space's own
test vector at height 830,027 (backend/src/__tests__/api/difficulty-adjustment.test.ts) anchors it.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from metrics_helpers import insert_block_rows

from minerwatch import store
from minerwatch.metrics.retarget import mempool_adjustment
from minerwatch.web.app import create_app

HEADERS = Path(__file__).parent / "data" / "headers" / "mainnet-headers-822528-830592.bin"
FIRST = 822_528                      # 408 × 2,016: the file starts at an epoch boundary


def _headers() -> dict[int, tuple[int, int, str, str]]:
    """height → (time, bits, hash, prev hash) of every header in the file."""
    data = HEADERS.read_bytes()
    out = {}
    for i in range(len(data) // 80):
        raw = data[i * 80:(i + 1) * 80]
        _, prev, _, t, bits, _ = struct.unpack("<I32s32sIII", raw)
        block_hash = hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex()
        out[FIRST + i] = (t, bits, block_hash, prev[::-1].hex())
    return out


H = _headers()


def _difficulty(bits: int) -> float:
    return (0xFFFF << 208) / ((bits & 0x7FFFFF) << (8 * ((bits >> 24) - 3)))


def _db(tmp_path: Path, tip: int) -> Path:
    path = tmp_path / f"tip-{tip}.duckdb"
    con = store.connect(path)
    store.set_meta(con, "network", "mainnet")
    insert_block_rows(con, [(h, H[h][2], H[h][3], H[h][0], H[h][0], 0x20000000, H[h][1], _difficulty(H[h][1]), 0,
                             0, 0, 1, 0, 1, 0, 0, 625_000_000, 625_000_000, 0, 0, "", "")
                            for h in range(FIRST, tip + 1)])
    con.close()
    return path


def _bits_difference(old_bits: int, new_bits: int) -> float:
    """calcBitsDifference: mantissas compared, exponents at most one apart, clamped to [−75, 300]."""
    old_exp, new_exp, old_num, new_num = old_bits >> 24, new_bits >> 24, old_bits & 0x7FFFFF, new_bits & 0x7FFFFF
    if new_exp - old_exp == -1:
        r = ((old_num << 8) * 100) / new_num - 100
    elif new_exp == old_exp:
        r = (old_num * 100) / new_num - 100
    else:
        r = (old_num * 100) / (new_num << 8) - 100
    return 300 if r > 300 else -75 if r < -75 else r


def _mempool(tip: int, now: int) -> dict[str, float]:
    """mempool.space's answer at `tip` on mainnet at unix time `now`, from the headers alone."""
    n = tip % 2016
    da_time = H[tip - n][0]
    previous = _bits_difference(H[tip - n - 2016][1], H[tip - n][1])
    quarter = H[tip - 503][0]
    diff_seconds = max(0, now - da_time)
    remaining = 2016 - n
    actual = (H[tip][0] if n == 2015 else now) - da_time
    time_avg = diff_seconds / n if n else 600
    adjusted_avg = time_avg
    if n < 503:
        span = diff_seconds + (da_time - quarter) * (1 + (previous / 100))
        adjusted_avg = span / 503
        change = (600 / (span / 504) - 1) * 100
    else:
        change = (600 / (actual / (n + 1)) - 1) * 100
    change = 300 if change > 300 else -75 if change < -75 else change
    remaining_time = remaining * math.floor(adjusted_avg * 1000)
    return {"progressPercent": n / 2016 * 100, "difficultyChange": change,
            "estimatedRetargetDate": remaining_time + now * 1000, "remainingBlocks": remaining,
            "remainingTime": remaining_time, "previousRetarget": previous, "previousTime": da_time,
            "nextRetargetHeight": tip + remaining, "timeAvg": math.floor(time_avg * 1000),
            "adjustedTimeAvg": math.floor(adjusted_avg * 1000), "timeOffset": 0, "expectedBlocks": diff_seconds / 600}


@pytest.mark.parametrize("tip", [
    828_576,    # an epoch's first block: 0 blocks in, the forecast is all previous-epoch blend
    828_700,    # 124 blocks in: blended with the 379 blocks before the retarget
    829_078,    # 502 blocks in: the last blended answer
    829_079,    # 503 blocks in: the first from this epoch's blocks alone
    830_027,    # mempool.space's own test height
    830_591,    # the epoch's last block: the retarget is fixed, only the tip's time counts
    830_592,    # the next epoch's first block: previousRetarget is the retarget that just happened
])
def test_difficulty_adjustment_route_answers_as_mempool_space(tmp_path: Path, tip: int) -> None:
    body = TestClient(create_app(_db(tmp_path, tip))).get("/api/v1/difficulty-adjustment").json()
    # minerwatch's "now" is the tip's header time (a database answers as of its tip).
    assert body == _mempool(tip, H[tip][0])


def test_pinned_values_at_three_points() -> None:
    # 830,027: the epoch began at 828,576 (header time 1,706,888,526 = 2024-02-02 15:42:06 UTC); the
    # tip's time 1,707,690,993 is 802,467 s later with 1,451 blocks in → 600 / (802,467 / 1,452) − 1.
    assert _mempool(830_027, H[830_027][0])["difficultyChange"] == (600 / (802_467 / 1452) - 1) * 100
    assert (600 / (802_467 / 1452) - 1) * 100 == pytest.approx(8.5652120, rel=1e-8)
    # 828,576 (0 blocks in): the block 503 below (828,073) is 296,260 s before the retarget; its
    # span is scaled by the previous retarget, bits 0x1704005a → 0x1703ba5d: 0x4005a × 100 / 0x3ba5d
    # − 100 = 262,234 × 100 / 244,317 − 100 = 7.3335 %. 600 / (296,260 × 1.073335 / 504) − 1 = −4.9015 %.
    assert H[828_576][0] - H[828_073][0] == 296_260
    assert _bits_difference(0x1704005A, 0x1703BA5D) == 262_234 * 100 / 244_317 - 100
    assert _mempool(828_576, H[828_576][0])["difficultyChange"] == pytest.approx(-4.9015462, rel=1e-7)
    # 830,591, the epoch's last block: the forecast is Core's retarget, 2,016 × 600 s over the
    # 1,117,494 s from 828,576 to 830,591 → +8.2422 %. The retarget that happened (bits 0x1703ba5d →
    # 0x170371b1 at 830,592) is +8.2423 %: the same, but for the rounding of the compact bits.
    assert H[830_591][0] - H[828_576][0] == 1_117_494
    last = _mempool(830_591, H[830_591][0])["difficultyChange"]
    assert last == pytest.approx(2016 * 600 / 1_117_494 * 100 - 100, rel=1e-12)
    happened = _mempool(830_592, H[830_592][0])["previousRetarget"]
    assert happened == _bits_difference(0x1703BA5D, 0x170371B1)
    assert abs(last - happened) < 2e-4


def _unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def test_mempool_spaces_own_vector_from_the_headers() -> None:
    # mempool.space's vector 1: height 830,027 at now = 2024-02-11T22:43:01Z, with the epoch's first
    # header time (2024-02-02T15:42:06Z) and previous retarget (7.333505241141637 %) that the real
    # headers give. (Its quarter-epoch time is irrelevant there: 1,451 blocks are in.)
    assert H[828_576][0] == _unix("2024-02-02T15:42:06")
    previous = _bits_difference(H[826_560][1], H[828_576][1])
    assert previous == 7.333505241141637
    got = asdict(mempool_adjustment(H[828_576][0], H[830_027 - 503][0], _unix("2024-02-11T22:43:01"), 830_027,
                                    previous, "mainnet", H[830_027][0]))
    assert got == {"progress_percent": 71.97420634920636, "difficulty_change": 8.512745140778843,
                   "estimated_retarget_date_ms": 1708004001715, "remaining_blocks": 565,
                   "remaining_time_ms": 312620715, "previous_retarget": 7.333505241141637,
                   "previous_time_s": 1706888526, "next_retarget_height": 830592, "time_avg_ms": 553311,
                   "adjusted_time_avg_ms": 553311, "time_offset_ms": 0, "expected_blocks": 1338.0916666666667}


def test_difficulty_adjustment_lists_as_mempool_spaces_indexer(tmp_path: Path) -> None:
    # mempool.space records a block whose bits differ from the block before's, with the ratio of
    # the two difficulties (Core's, from the bits) rounded to 6 decimals. In the headers that is
    # every retarget and nothing else; the first stored block (822,528) has no block before it here.
    # Each ratio is the old mantissa over the new (the exponents are equal: 0x17 throughout), e.g.
    # 830,592: 0x3ba5d / 0x371b1 = 244,317 / 225,713 = 1.0824233 → 1.082423.
    client = TestClient(create_app(_db(tmp_path, 830_592)))
    expected = []
    for h in (824_544, 826_560, 828_576, 830_592):
        old, new = H[h - 1][1], H[h][1]
        assert old >> 24 == new >> 24 == 0x17
        expected.append([H[h][0], h, _difficulty(new), math.floor((old & 0x7FFFFF) / (new & 0x7FFFFF) * 1e6 + 0.5) / 1e6])
    assert [row[3] for row in expected] == [1.016547, 0.961008, 1.073335, 1.082423]
    assert client.get("/api/v1/mining/difficulty-adjustments/all").json() == expected[::-1]
    # The hashrate route lists them per UTC day, oldest first, over the interval before the tip's
    # time: "1m" is the 30 days from 2024-01-16 14:41:50 UTC, which 824,544 (2024-01-06) precedes.
    body = client.get("/api/v1/mining/hashrate/1m").json()
    assert body["difficulty"] == [{"time": t, "height": h, "difficulty": d, "adjustment": a}
                                  for t, h, d, a in expected[1:]]
    assert body["currentDifficulty"] == _difficulty(H[830_592][1])
