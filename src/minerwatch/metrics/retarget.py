"""Retarget forecasts, one implementation per named definition.

brk      BRK's pace since the epoch began, with a 95 % Poisson interval. Every minerwatch interface
         shows this one: `minerwatch difficulty`, /api/v1/difficulty, the dashboard, the Prometheus
         gauge, and the daily series retarget_forecast_pct that the capitulation watch and the brief
         read.
mempool  mempool.space's backend, field for field: calcDifficultyAdjustment
         (backend/src/api/difficulty-adjustment.ts) fed as backend/src/api/blocks.ts feeds it. The
         mempool-compatible route /api/v1/difficulty-adjustment shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

from minerwatch.consensus import BLOCK_INTERVAL_S, RETARGET_INTERVAL_BLOCKS
from minerwatch.errors import StoreError
from minerwatch.metrics.chain_tip import StoredBlock, stored_block, tip
from minerwatch.metrics.network import first_row, poisson_bounds95
from minerwatch.networks import Network

MAX_CHANGE_PCT = 300.0     # one retarget at most multiplies difficulty by 4 …
MIN_CHANGE_PCT = -75.0     # … or divides it by 4
# mempool.space blends in the previous epoch while fewer than 503 blocks of this one are in: its
# window starts at the block 503 below the tip, so it spans 503 intervals plus the block being mined.
MEMPOOL_QUARTER_EPOCH_BLOCKS = 503
MEMPOOL_TESTNET_MAX_BLOCK_S = 1200      # testnet3 drops to difficulty 1 after 20 minutes without a block
MEMPOOL_TESTNET = "testnet3"            # the network mempool.space calls 'testnet'
# Only the testnets mine blocks at minimum difficulty inside an epoch; elsewhere every block of an
# epoch carries its first block's bits.
MIN_DIFFICULTY_NETWORKS = ("testnet3", "testnet4")


def clamp_change_pct(pct: float) -> float:
    """A forecast change limited to what one retarget can do: [−75 %, +300 %]."""
    return min(max(pct, MIN_CHANGE_PCT), MAX_CHANGE_PCT)


# ---- the epoch -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Epoch:
    tip_height: int
    tip_time_s: int
    difficulty: float
    epoch_start_height: int
    epoch_start_time_s: int           # header time of the epoch's first block (mempool's DATime)
    blocks_in_epoch: int              # tip_height % 2016: blocks mined after the epoch's first
    progress_pct: float
    remaining_blocks: int
    next_retarget_height: int
    previous_change_pct: float | None  # difficulty of the epoch's first block / of the block before − 1, in %


def epoch(con: duckdb.DuckDBPyConnection) -> Epoch:
    """Where the tip stands in its 2,016-block difficulty epoch."""
    t = tip(con).block
    in_epoch = t.height % RETARGET_INTERVAL_BLOCKS
    start = _epoch_start(con, t.height)
    before = stored_block(con, start.height - 1) if start.height > 0 else None
    prev_pct = None if before is None else (start.difficulty / before.difficulty - 1) * 100
    return Epoch(t.height, t.time_s, t.difficulty, start.height, start.time_s, in_epoch,
                 in_epoch / RETARGET_INTERVAL_BLOCKS * 100, RETARGET_INTERVAL_BLOCKS - in_epoch,
                 start.height + RETARGET_INTERVAL_BLOCKS, prev_pct)


def _epoch_start(con: duckdb.DuckDBPyConnection, height: int) -> StoredBlock:
    start = height - height % RETARGET_INTERVAL_BLOCKS
    block = stored_block(con, start)
    if block is None:
        raise StoreError(f"block {start} (the first of the tip's difficulty epoch) is not stored",
                         f"a retarget forecast measures from the epoch's first block: sync from height {start} "
                         "or earlier")
    return block


# ---- BRK: the pace since the epoch began ---------------------------------------------------------

def brk_pace_pct(blocks: int, seconds: float) -> float | None:
    """BRK: (blocks × 600 / seconds − 1) × 100, clamped to [−75, +300]; `blocks` mined after the
    epoch's first block in `seconds` since its header time. None before any block or elapsed time."""
    if blocks <= 0 or seconds <= 0:
        return None
    return _pace_pct(blocks, seconds)


def _pace_pct(blocks: float, seconds: float) -> float:
    """The pace formula, also at the fractional block counts of an interval's bounds."""
    return clamp_change_pct((blocks * BLOCK_INTERVAL_S / seconds - 1) * 100)


@dataclass(frozen=True, slots=True)
class PaceForecast:
    """The next retarget by BRK's pace, with the 95 % Poisson interval of the block count."""

    method: str                       # 'brk'
    tip_height: int
    tip_time_s: int
    now_s: int                        # the moment forecast from (default: the tip's header time)
    epoch_start_height: int
    epoch_start_time_s: int
    blocks_in_epoch: int
    progress_pct: float
    remaining_blocks: int
    next_retarget_height: int
    seconds_elapsed: int              # now − the epoch's first header time
    mean_block_time_s: float          # seconds_elapsed / blocks_in_epoch; 600 before there is a pace
    change_pct: float | None          # None before a block is mined after the epoch's first
    change_low_pct: float | None      # 95 % interval: Byar's Poisson bounds on blocks_in_epoch
    change_high_pct: float | None
    estimated_retarget_time_s: int    # now + remaining blocks × mean_block_time_s
    previous_change_pct: float | None
    current_difficulty: float


def brk_forecast(ep: Epoch, now_s: int | None = None) -> PaceForecast:
    """BRK's forecast of the epoch `ep` at `now_s` (default: the tip's header time)."""
    now = ep.tip_time_s if now_s is None else now_s
    n, seconds = ep.blocks_in_epoch, now - ep.epoch_start_time_s
    change = brk_pace_pct(n, seconds)
    low = high = None
    mean_s = float(BLOCK_INTERVAL_S)
    if change is not None:
        lo, hi = poisson_bounds95(n)
        low, high = _pace_pct(lo, seconds), _pace_pct(hi, seconds)
        mean_s = seconds / n
    return PaceForecast("brk", ep.tip_height, ep.tip_time_s, now, ep.epoch_start_height, ep.epoch_start_time_s, n,
                        ep.progress_pct, ep.remaining_blocks, ep.next_retarget_height, seconds, mean_s,
                        change, low, high, int(now + ep.remaining_blocks * mean_s), ep.previous_change_pct,
                        ep.difficulty)


def forecast(con: duckdb.DuckDBPyConnection, now_s: int | None = None) -> PaceForecast:
    """BRK's forecast at the stored tip."""
    return brk_forecast(epoch(con), now_s)


# ---- mempool.space -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MempoolAdjustment:
    """mempool.space's DifficultyAdjustment answer (units in the names; its JSON names in docs/api.md)."""

    progress_percent: float
    difficulty_change: float
    estimated_retarget_date_ms: int
    remaining_blocks: int
    remaining_time_ms: int
    previous_retarget: float
    previous_time_s: int
    next_retarget_height: int
    time_avg_ms: int
    adjusted_time_avg_ms: int
    time_offset_ms: int
    expected_blocks: float


def mempool_bits_difference_pct(old_bits: int, new_bits: int) -> float:
    """mempool.space's calcBitsDifference: the difficulty change from `old_bits` to `new_bits` in %,
    from the mantissas (exponents at most one apart), clamped to [−75, +300]."""
    old_exp, new_exp = old_bits >> 24, new_bits >> 24
    old_num, new_num = old_bits & 0x007FFFFF, new_bits & 0x007FFFFF
    if old_num == 0 or new_num == 0 or abs(new_exp - old_exp) > 1:
        raise StoreError(f"bits {old_bits:#010x} → {new_bits:#010x} are not two adjacent retargets",
                         "the stored chain is inconsistent: sync it again from the node")
    if new_exp - old_exp == -1:
        result = ((old_num << 8) * 100) / new_num - 100
    elif new_exp == old_exp:
        result = (old_num * 100) / new_num - 100
    else:
        result = (old_num * 100) / (new_num << 8) - 100
    return 300.0 if result > 300 else -75.0 if result < -75 else result


def _js_div(a: float, b: float) -> float:
    """a / b as JavaScript computes it: ±Infinity instead of an error when b is zero."""
    if b != 0:
        return a / b
    return math.nan if a == 0 else math.copysign(math.inf, a)


def mempool_adjustment(da_time_s: int, quarter_epoch_time_s: int | None, now_s: int, height: int,
                       previous_retarget: float, network: str, latest_block_time_s: int) -> MempoolAdjustment:
    """mempool.space's calcDifficultyAdjustment, operation for operation (so the floats agree to the
    last bit): the epoch's first header time, the header time of the block 503 below the tip, now,
    the tip's height, the previous retarget in %, minerwatch's network name and the tip's time."""
    epoch_blocks = RETARGET_INTERVAL_BLOCKS
    diff_seconds = max(0, now_s - da_time_s)
    blocks_in_epoch = height % epoch_blocks if height >= 0 else 0
    progress = blocks_in_epoch / epoch_blocks * 100 if height >= 0 else 100
    remaining = epoch_blocks - blocks_in_epoch
    next_height = height + remaining if height >= 0 else 0
    expected_blocks = diff_seconds / BLOCK_INTERVAL_S
    # The epoch's last block fixes the retarget: from then on only its time counts, not the clock.
    actual_timespan = (latest_block_time_s if blocks_in_epoch == epoch_blocks - 1 else now_s) - da_time_s
    time_avg_s = diff_seconds / blocks_in_epoch if blocks_in_epoch else float(BLOCK_INTERVAL_S)
    adjusted_time_avg_s = time_avg_s
    if quarter_epoch_time_s and blocks_in_epoch < MEMPOOL_QUARTER_EPOCH_BLOCKS:
        # The window reaches back into the previous epoch, whose block times are rescaled to this
        # epoch's difficulty by the previous retarget.
        time_last_epoch = da_time_s - quarter_epoch_time_s
        adjusted_time_last_epoch = time_last_epoch * (1 + (previous_retarget / 100))
        adjusted_time_span = diff_seconds + adjusted_time_last_epoch
        adjusted_time_avg_s = adjusted_time_span / MEMPOOL_QUARTER_EPOCH_BLOCKS
        change = (_js_div(BLOCK_INTERVAL_S, adjusted_time_span / (MEMPOOL_QUARTER_EPOCH_BLOCKS + 1)) - 1) * 100
    else:
        change = (_js_div(BLOCK_INTERVAL_S, actual_timespan / (blocks_in_epoch + 1)) - 1) * 100
    if change > MAX_CHANGE_PCT:
        change = MAX_CHANGE_PCT
    if change < MIN_CHANGE_PCT:
        change = MIN_CHANGE_PCT
    time_offset_ms = 0
    if network == MEMPOOL_TESTNET:
        time_avg_s = min(time_avg_s, MEMPOOL_TESTNET_MAX_BLOCK_S)
        since_last_s = now_s - latest_block_time_s
        if since_last_s + time_avg_s > MEMPOOL_TESTNET_MAX_BLOCK_S:
            time_offset_ms = -min(since_last_s, MEMPOOL_TESTNET_MAX_BLOCK_S) * 1000
    time_avg_ms = math.floor(time_avg_s * 1000)
    adjusted_time_avg_ms = math.floor(adjusted_time_avg_s * 1000)
    remaining_time_ms = remaining * adjusted_time_avg_ms
    return MempoolAdjustment(progress, change, remaining_time_ms + now_s * 1000, remaining, remaining_time_ms,
                             previous_retarget, da_time_s, next_height, time_avg_ms, adjusted_time_avg_ms,
                             time_offset_ms, expected_blocks)


def _previous_epoch_bits(con: duckdb.DuckDBPyConnection, start: int, network: Network) -> int:
    """Bits of the previous epoch (mempool reads its first block). Outside the testnets every block of
    an epoch has the same bits, so any stored block of it will do."""
    row = first_row(con.execute("SELECT height, bits FROM chain_facts WHERE height BETWEEN ? AND ? ORDER BY height LIMIT 1",
                                [start - RETARGET_INTERVAL_BLOCKS, start - 1]).fetchall())
    exact = network.name in MIN_DIFFICULTY_NETWORKS
    if row is None or (exact and int(row[0]) != start - RETARGET_INTERVAL_BLOCKS):
        first = start - RETARGET_INTERVAL_BLOCKS
        raise StoreError(f"block {first if exact else f'{first}…{start - 1}'} (the previous difficulty epoch) "
                         "is not stored",
                         f"mempool.space's previousRetarget compares two epochs' bits: sync from height {first} "
                         "or earlier")
    return int(row[1])


def mempool_difficulty_adjustment(con: duckdb.DuckDBPyConnection, now_s: int | None = None) -> MempoolAdjustment:
    """mempool.space's answer at the stored tip, `now_s` defaulting to the tip's header time. Its
    inputs as mempool's backend keeps them once it has caught up with the node: the epoch's first
    header time, the previous retarget from the bits of the two epochs' first blocks (0 in the first
    epoch), and the header time of the block 503 below the tip."""
    t = tip(con)
    start = _epoch_start(con, t.height)
    previous = 0.0
    if t.height >= RETARGET_INTERVAL_BLOCKS:
        previous = mempool_bits_difference_pct(_previous_epoch_bits(con, start.height, t.network), start.bits)
    quarter = None
    if t.height >= MEMPOOL_QUARTER_EPOCH_BLOCKS:
        q = stored_block(con, t.height - MEMPOOL_QUARTER_EPOCH_BLOCKS)
        if q is None and t.height % RETARGET_INTERVAL_BLOCKS < MEMPOOL_QUARTER_EPOCH_BLOCKS:
            raise StoreError(f"block {t.height - MEMPOOL_QUARTER_EPOCH_BLOCKS} (503 below the tip) is not stored",
                             "early in an epoch mempool.space's forecast reaches 503 blocks back: sync from "
                             f"height {t.height - MEMPOOL_QUARTER_EPOCH_BLOCKS} or earlier")
        quarter = None if q is None else q.time_s
    now = t.block.time_s if now_s is None else now_s
    return mempool_adjustment(start.time_s, quarter, now, t.height, previous, t.network.name, t.block.time_s)
