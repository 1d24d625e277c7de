"""The epoch, retarget forecasts by BRK's and mempool.space's methods, and the next halving."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from metrics_helpers import T0, Fact, insert_facts, open_db

from minerwatch.metrics import difficulty, network
from minerwatch.metrics.registry import Query, get

EPOCH_START = 838_656          # 416 × 2,016
D0, D1 = 8e13, 8.8e13          # the epoch's retarget raised difficulty by 10 %


def _chain(tmp_path: Path, blocks_in_epoch: int):
    """The previous epoch (2,016 blocks, 600 s apart, D0), then `blocks_in_epoch` + 1 blocks of
    this epoch 500 s apart at D1 (the epoch's first block and `blocks_in_epoch` after it)."""
    con = open_db(tmp_path)
    facts = [Fact(EPOCH_START - 2016 + i, T0 + 600 * i, D0) for i in range(2016)]
    start_s = T0 + 600 * 2016
    facts += [Fact(EPOCH_START + i, start_s + 500 * i, D1) for i in range(blocks_in_epoch + 1)]
    insert_facts(con, facts)
    return con, start_s


def test_epoch_and_both_forecasts_late_in_the_epoch(tmp_path: Path) -> None:
    con, start_s = _chain(tmp_path, 1000)
    ep = difficulty.epoch(con)
    assert (ep.tip_height, ep.blocks_in_epoch, ep.remaining_blocks, ep.next_retarget_height) == (
        839_656, 1000, 1016, 840_672)
    assert ep.progress_pct == pytest.approx(1000 / 2016 * 100)
    assert ep.previous_retarget_pct == pytest.approx(10.0)
    brk = difficulty.forecast_brk(con)
    # 1,000 blocks in 500,000 s: (1000 × 600 / 500,000 − 1) × 100 = +20 %.
    assert brk.change_pct == pytest.approx(20.0)
    lo, hi = network.poisson_bounds95(1000)
    assert brk.low95_pct == pytest.approx((lo * 600 / 500_000 - 1) * 100)
    assert brk.high95_pct == pytest.approx((hi * 600 / 500_000 - 1) * 100)
    assert brk.low95_pct < 20.0 < brk.high95_pct
    # 1,016 blocks to go at 500 s: retarget 508,000 s after the tip.
    assert brk.estimated_retarget_time_s == start_s + 500_000 + 508_000
    mem = difficulty.forecast_mempool(con)
    # mempool.space after 503 blocks: 600 / (500,000 s / 1,001) − 1 = +20.12 %.
    assert mem.change_pct == pytest.approx((600 * 1001 / 500_000 - 1) * 100)
    # The daily series at the tip's day (the epoch starts at T0 + 14 days; the tip is 500,000 s
    # later, on day 19, 2024-01-20) is BRK's pace at the day's last block: +20 %.
    network.refresh_network(con, 0)
    series = dict(get("retarget_forecast_pct").fn(con, Query()))
    assert series[date(2024, 1, 20)] == pytest.approx(20.0)
    # 2024-01-15 (day 14) holds the epoch's blocks 0–172 (86,400 / 500 = 172.8); its last is
    # 172 × 500 = 86,000 s after the first → (172 × 600 / 86,000 − 1) × 100 = +20 %.
    assert series[date(2024, 1, 15)] == pytest.approx((172 * 600 / 86_000 - 1) * 100)


def test_mempool_blends_the_previous_epoch_early_on(tmp_path: Path) -> None:
    con, start_s = _chain(tmp_path, 100)
    mem = difficulty.forecast_mempool(con)
    # Tip 838,756; the block 503 back (838,253) is 403 blocks × 600 s = 241,800 s before the epoch
    # start, scaled by the previous retarget (× 1.10) = 265,980 s; plus 100 × 500 s = 50,000 s in
    # this epoch: 315,980 s for 504 blocks → 600 / (315,980 / 504) − 1 = −4.2977 %.
    assert mem.change_pct == pytest.approx((600 * 504 / 315_980 - 1) * 100)
    assert mem.change_pct == pytest.approx(-4.2977, abs=1e-4)
    # BRK's pace ignores the previous epoch: 100 blocks in 50,000 s → +20 %, with a wide interval.
    brk = difficulty.forecast_brk(con)
    assert brk.change_pct == pytest.approx(20.0)
    assert brk.high95_pct - brk.low95_pct > 40


def test_forecast_is_clamped(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    # 200 blocks one second apart: pace 600× too fast → clamped at +300 %.
    insert_facts(con, [Fact(EPOCH_START + i, T0 + i, D1) for i in range(201)])
    assert difficulty.forecast_brk(con).change_pct == 300.0


def test_next_halving(tmp_path: Path) -> None:
    con, start_s = _chain(tmp_path, 1000)
    hv = difficulty.next_halving(con)
    # Tip 839,656: 344 blocks to 840,000. The last 2,016 intervals: 1,016 × 600 s + 1,000 × 500 s
    # = 1,109,600 s → 550.3968 s a block.
    assert (hv.height, hv.blocks_remaining, hv.subsidy_btc_now, hv.subsidy_btc_after) == (840_000, 344, 6.25, 3.125)
    assert hv.estimated_time_s == int(start_s + 500_000 + 344 * 1_109_600 / 2016)
