"""Hashprice and hashvalue by the Hashrate Index, BRK and Coin Metrics definitions, on hand-built blocks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from metrics_helpers import T0, Fact, day_of_blocks, insert_facts, open_db

from minerwatch.metrics import hashprice, network, prices
from minerwatch.metrics.registry import Query, get

D = 1e14
# 1 PH/s for a day at difficulty 1e14 expects 86,400 × 1e15 / (1e14 × 2^32) blocks
# = 8.64e19 / 4.294967296e23 = 2.0116567611694336e-4 blocks.
BLOCKS_PER_PH_DAY = 86_400 * 1e15 / (D * 2**32)


def _build(tmp_path: Path):
    con = open_db(tmp_path)
    facts = day_of_blocks(840_000, 0, 144, D)          # 2024-01-01, subsidy 3.125 BTC, no fees …
    facts[10] = Fact(840_010, facts[10].time_s, D, fees_sat=144_000_000)   # … but one block with 1.44 BTC
    facts += day_of_blocks(840_144, 1, 144, D)          # 2024-01-02, no fees
    insert_facts(con, facts)
    prices.upsert_prices(con, [(date(2024, 1, 1), 40_000.0)], "test")   # 2024-01-02 has no price: a gap
    network.refresh_network(con, 0)
    return con


def test_hashrate_index_per_block_uses_a_144_block_fee_average(tmp_path: Path) -> None:
    con = _build(tmp_path)
    per_block = {b.height: b for b in hashprice.block_hashprice(con, 840_000, 840_287)}
    # Before the 1.44 BTC block the average fee is 0: hashvalue = 3.125 × BLOCKS_PER_PH_DAY.
    assert per_block[840_009].hashvalue_btc_per_ph_day == pytest.approx(3.125 * BLOCKS_PER_PH_DAY, rel=1e-12)
    # At 840,010 the window is the 11 blocks so far (1.44 / 11 BTC); from 840,143 on it is 144 blocks
    # (1.44 / 144 = 0.01 BTC) until 840,010 drops out at 840,154.
    assert per_block[840_010].hashvalue_btc_per_ph_day == pytest.approx((3.125 + 1.44 / 11) * BLOCKS_PER_PH_DAY, rel=1e-12)
    assert per_block[840_153].hashvalue_btc_per_ph_day == pytest.approx(3.135 * BLOCKS_PER_PH_DAY, rel=1e-12)
    assert per_block[840_154].hashvalue_btc_per_ph_day == pytest.approx(3.125 * BLOCKS_PER_PH_DAY, rel=1e-12)
    # USD at the block's day price: 40,000 on 2024-01-01; none on 2024-01-02.
    assert per_block[840_009].hashprice_usd_per_ph_day == pytest.approx(3.125 * BLOCKS_PER_PH_DAY * 40_000, rel=1e-12)
    assert per_block[840_154].hashprice_usd_per_ph_day is None


def test_daily_close_and_the_three_definitions(tmp_path: Path) -> None:
    con = _build(tmp_path)
    q = Query()
    hi = dict(get("hashvalue_btc_per_ph_day").fn(con, q))
    # Daily close of 2024-01-01 = block 840,143: 144-block window holds the 1.44 BTC block.
    assert hi[date(2024, 1, 1)] == pytest.approx(3.135 * BLOCKS_PER_PH_DAY, rel=1e-12)
    assert hi[date(2024, 1, 2)] == pytest.approx(3.125 * BLOCKS_PER_PH_DAY, rel=1e-12)
    usd = dict(get("hashprice_usd_per_ph_day").fn(con, q))
    assert usd[date(2024, 1, 1)] == pytest.approx(3.135 * BLOCKS_PER_PH_DAY * 40_000, rel=1e-12)
    assert usd[date(2024, 1, 2)] is None                      # a gap, never zero
    th = dict(get("hashprice_usd_per_th_day").fn(con, q))
    assert th[date(2024, 1, 1)] == pytest.approx(usd[date(2024, 1, 1)] / 1000, rel=1e-12)
    # Coin Metrics: day revenue 144 × 3.125 + 1.44 = 451.44 BTC over the day's 715.83 EH/s
    # (= 715,827.88 PH/s) → 451.44 / 715,827.88 BTC/PH/day = 3.135 × BLOCKS_PER_PH_DAY (144 blocks).
    cm = dict(get("hashvalue_cm_btc_per_ph_day").fn(con, q))
    assert cm[date(2024, 1, 1)] == pytest.approx(451.44 / (D * 2**32 / 600 / 1e15), rel=1e-12)
    assert cm[date(2024, 1, 1)] == pytest.approx(3.135 * BLOCKS_PER_PH_DAY, rel=1e-12)
    # BRK at 2024-01-01's last block: the trailing 24 h hold all 144 blocks (451.44 BTC) → the same.
    brk = dict(get("hashvalue_brk_btc_per_ph_day").fn(con, q))
    assert brk[date(2024, 1, 1)] == pytest.approx(3.135 * BLOCKS_PER_PH_DAY, rel=1e-12)
    # BRK at 2024-01-02's last block (T0 + 86,400 + 143 × 600): the 24 h window starts after
    # T0 + 85,800, so it holds exactly day 2's 144 blocks, no fees → 3.125.
    assert brk[date(2024, 1, 2)] == pytest.approx(3.125 * BLOCKS_PER_PH_DAY, rel=1e-12)


def test_formula_functions() -> None:
    # 3.15 BTC per block at difficulty 149.3e12: 3.15 × 86,400 × 1e15 / (149.3e12 × 2^32)
    # = 2.7216e20 / 6.412386173e26 = 4.24429e-4 BTC/PH/day.
    assert hashprice.hashvalue_btc_per_ph_day(149.3e12, 3.125, 0.025) == pytest.approx(4.244286e-4, rel=1e-6)
    assert hashprice.implied_hashrate_ehs(149.3e12) == pytest.approx(149.3e12 * 4294967296 / 600 / 1e18)
    assert T0 == 1_704_067_200
