"""The epoch, the two named retarget forecasts (BRK's pace, mempool.space's), the daily forecast
series and the next halving, on chains built by hand."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest
from metrics_helpers import T0, Fact, insert_facts, open_db

from minerwatch import store
from minerwatch.cli import main
from minerwatch.errors import StoreError
from minerwatch.metrics import difficulty, network, retarget
from minerwatch.metrics.registry import Query, get

EPOCH_START = 838_656          # 416 × 2,016
D0, D1 = 8e13, 8.8e13          # the epoch's retarget raised difficulty by 10 %
# Bits with the same 10 %: mantissas 0xdc00 = 56,320 and 0xc800 = 51,200 (56,320 / 51,200 = 1.1).
BITS0, BITS1 = 0x1C00DC00, 0x1C00C800


def _chain(tmp_path: Path, blocks_in_epoch: int):
    """The previous epoch (2,016 blocks, 600 s apart, D0), then `blocks_in_epoch` + 1 blocks of
    this epoch 500 s apart at D1 (the epoch's first block and `blocks_in_epoch` after it)."""
    con = open_db(tmp_path)
    facts = [Fact(EPOCH_START - 2016 + i, T0 + 600 * i, D0) for i in range(2016)]
    start_s = T0 + 600 * 2016
    facts += [Fact(EPOCH_START + i, start_s + 500 * i, D1) for i in range(blocks_in_epoch + 1)]
    insert_facts(con, facts)
    con.execute("UPDATE blocks SET bits = CASE WHEN height < ? THEN ? ELSE ? END", [EPOCH_START, BITS0, BITS1])
    return con, start_s


def test_epoch_and_both_forecasts_late_in_the_epoch(tmp_path: Path) -> None:
    con, start_s = _chain(tmp_path, 1000)
    ep = retarget.epoch(con)
    assert (ep.tip_height, ep.blocks_in_epoch, ep.remaining_blocks, ep.next_retarget_height) == (
        839_656, 1000, 1016, 840_672)
    assert ep.progress_pct == pytest.approx(1000 / 2016 * 100)
    assert ep.previous_change_pct == pytest.approx(10.0)
    brk = retarget.forecast(con)
    # 1,000 blocks in 500,000 s: (1000 × 600 / 500,000 − 1) × 100 = +20 %.
    assert brk.change_pct == pytest.approx(20.0)
    # Byar's 95 % bounds on a count of 1,000: 1000 × (1 − 1/9000 − 1.96/(3√1000))³ = 938.97 and
    # 1001 × (1 − 1/9009 + 1.96/(3√1001))³ = 1063.95 (the exact Poisson bounds agree to 0.01),
    # each × 600 / 500,000 s.
    lo = 1000 * (1 - 1 / 9000 - 1.959963984540054 / (3 * math.sqrt(1000))) ** 3
    hi = 1001 * (1 - 1 / 9009 + 1.959963984540054 / (3 * math.sqrt(1001))) ** 3
    assert (round(lo, 2), round(hi, 2)) == (938.97, 1063.95)
    assert brk.change_low_pct == pytest.approx((lo * 600 / 500_000 - 1) * 100)
    assert brk.change_high_pct == pytest.approx((hi * 600 / 500_000 - 1) * 100)
    # 1,016 blocks to go at 500 s: retarget 508,000 s after the tip.
    assert brk.mean_block_time_s == 500.0
    assert brk.estimated_retarget_time_s == start_s + 500_000 + 508_000
    mem = retarget.mempool_difficulty_adjustment(con)
    # mempool.space after 503 blocks: 600 / (500,000 s / 1,001) − 1 = +20.12 %; its previousRetarget
    # from the bits: 56,320 × 100 / 51,200 − 100 = 10 exactly.
    assert mem.difficulty_change == pytest.approx((600 * 1001 / 500_000 - 1) * 100)
    assert (mem.previous_retarget, mem.previous_time_s, mem.time_avg_ms, mem.adjusted_time_avg_ms) == (
        10.0, start_s, 500_000, 500_000)
    # The daily series at the tip's day (the epoch starts at T0 + 14 days; the tip is 500,000 s
    # later, on day 19, 2024-01-20) is BRK's pace at the day's last block: +20 %.
    network.refresh_network(con, 0)
    series = dict(get("retarget_forecast_pct").fn(con, Query()))
    assert series[date(2024, 1, 20)] == pytest.approx(20.0)
    # 2024-01-15 (day 14) holds the epoch's blocks 0–172 (86,400 / 500 = 172.8); its last is
    # 172 × 500 = 86,000 s after the first → (172 × 600 / 86,000 − 1) × 100 = +20 %.
    assert series[date(2024, 1, 15)] == pytest.approx((172 * 600 / 86_000 - 1) * 100)
    # 2024-01-01 … 01-14 belong to the previous epoch, whose first block (836,640) is stored: day 1
    # ends at its block 143, 143 × 600 s in → 0 %.
    assert series[date(2024, 1, 1)] == pytest.approx(0.0, abs=1e-12)


def test_the_series_is_a_gap_where_the_epochs_first_block_is_missing(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    # Blocks from 838,756 only: the epoch began at 838,656, before the first stored block.
    insert_facts(con, [Fact(EPOCH_START + 100 + i, T0 + 600 * i, D1) for i in range(144)])
    network.refresh_network(con, 0)
    assert get("retarget_forecast_pct").fn(con, Query()) == [(date(2024, 1, 1), None)]
    with pytest.raises(StoreError, match="block 838656 .* is not stored"):
        retarget.forecast(con)


def test_mempool_blends_the_previous_epoch_early_on(tmp_path: Path) -> None:
    con, start_s = _chain(tmp_path, 100)
    mem = retarget.mempool_difficulty_adjustment(con)
    # Tip 838,756; the block 503 back (838,253) is 403 blocks × 600 s = 241,800 s before the epoch
    # start, scaled by the previous retarget (× 1.10) = 265,980 s; plus 100 × 500 s = 50,000 s in
    # this epoch: 315,980 s for 504 blocks → 600 / (315,980 / 504) − 1 = −4.2977 %.
    assert mem.difficulty_change == pytest.approx((600 * 504 / 315_980 - 1) * 100)
    assert mem.difficulty_change == pytest.approx(-4.2977, abs=1e-4)
    # adjustedTimeAvg: 315,980 s / 503 = 628.19085 s → 628,190 ms; timeAvg: 50,000 s / 100 blocks.
    assert (mem.adjusted_time_avg_ms, mem.time_avg_ms, mem.remaining_blocks) == (628_190, 500_000, 1916)
    assert mem.remaining_time_ms == 1916 * 628_190
    assert mem.estimated_retarget_date_ms == (start_s + 50_000) * 1000 + 1916 * 628_190
    # BRK's pace ignores the previous epoch: 100 blocks in 50,000 s → +20 %, with a wide interval.
    brk = retarget.forecast(con)
    assert brk.change_pct == pytest.approx(20.0)
    assert brk.change_high_pct - brk.change_low_pct > 40


def test_forecast_is_clamped(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    # 200 blocks one second apart: pace 600× too fast → clamped at +300 %.
    insert_facts(con, [Fact(EPOCH_START + i, T0 + i, D1) for i in range(201)])
    assert retarget.forecast(con).change_pct == 300.0


def test_no_pace_on_the_epochs_first_block(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    insert_facts(con, [Fact(EPOCH_START, T0, D1)])
    fc = retarget.forecast(con)
    # Nothing mined after the epoch's first block: no pace and no interval; the estimate uses 600 s.
    assert (fc.change_pct, fc.change_low_pct, fc.change_high_pct) == (None, None, None)
    assert fc.estimated_retarget_time_s == T0 + 2016 * 600


def test_next_halving(tmp_path: Path) -> None:
    con, start_s = _chain(tmp_path, 1000)
    hv = difficulty.next_halving(con)
    # Tip 839,656: 344 blocks to 840,000. The last 2,016 intervals: 1,016 × 600 s + 1,000 × 500 s
    # = 1,109,600 s → 550.3968 s a block.
    assert (hv.height, hv.blocks_remaining, hv.subsidy_btc_now, hv.subsidy_btc_after) == (840_000, 344, 6.25, 3.125)
    assert hv.estimated_time_s == int(start_s + 500_000 + 344 * 1_109_600 / 2016)


@pytest.mark.parametrize(("tip_height", "expected"), [
    # Era 4 (heights 840,000 … 1,049,999) pays 50 BTC / 2^4 = 3.125; era 5 pays 1.5625, era 6 0.78125.
    (1_049_999, (1_050_000, 1, 3.125, 1.5625)),
    (1_050_000, (1_260_000, 210_000, 1.5625, 0.78125)),
    (1_050_001, (1_260_000, 209_999, 1.5625, 0.78125)),
])
def test_next_halving_around_height_1050000(tmp_path: Path, tip_height: int, expected: tuple) -> None:
    con = open_db(tmp_path)
    insert_facts(con, [Fact(tip_height - 9 + i, T0 + 600 * i, D1) for i in range(10)])
    hv = difficulty.next_halving(con)
    assert (hv.height, hv.blocks_remaining, hv.subsidy_btc_now, hv.subsidy_btc_after) == expected
    # Nine intervals of 600 s behind the tip: the estimate runs at 600 s a block.
    assert hv.estimated_time_s == T0 + 600 * 9 + 600 * hv.blocks_remaining


def test_next_halving_follows_the_databases_network(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    store.set_meta(con, "network", "regtest")
    insert_facts(con, [Fact(140 + i, T0 + i, 1.0, subsidy_sat=50 * 10**8) for i in range(10)])
    hv = difficulty.next_halving(con)
    # Regtest halves every 150 blocks: tip 149 is the last block paying 50 BTC.
    assert (hv.height, hv.blocks_remaining, hv.subsidy_btc_now, hv.subsidy_btc_after) == (150, 1, 50.0, 25.0)


def test_difficulty_command_prints_both_forecasts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    con, start_s = _chain(tmp_path, 1000)
    con.close()
    assert main(["difficulty", "--db", str(tmp_path / "metrics.duckdb"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["brk"]["change_pct"] == pytest.approx(20.0)
    assert out["mempool"]["difficulty_change"] == pytest.approx((600 * 1001 / 500_000 - 1) * 100)
    assert out["halving"]["height"] == 840_000
    assert main(["difficulty", "--db", str(tmp_path / "metrics.duckdb")]) == 0
    text = capsys.readouterr().out
    assert "retarget forecast (BRK pace): +20.00 %" in text and "retarget forecast (mempool.space): +20.12 %" in text
