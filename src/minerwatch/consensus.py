"""Pure chain arithmetic: targets, difficulty, work, subsidy. No I/O."""

from __future__ import annotations

SAT_PER_BTC = 100_000_000
BLOCK_INTERVAL_S = 600
RETARGET_INTERVAL_BLOCKS = 2016
RETARGET_TIMESPAN_S = 1_209_600
INITIAL_SUBSIDY_SAT = 50 * SAT_PER_BTC
_DIFF1_TARGET = 0xFFFF * 256 ** (0x1D - 3)
HASHES_PER_DIFFICULTY = 2**32   # expected hashes per block at difficulty 1
SECONDS_PER_DAY = 86_400
PH = 1e15


def bits_to_target(bits: int) -> int:
    """Compact `bits` → 256-bit target: mantissa × 256^(exponent − 3)."""
    exponent = bits >> 24
    mantissa = bits & 0x007FFFFF
    if exponent <= 3:
        return mantissa >> (8 * (3 - exponent))
    return mantissa << (8 * (exponent - 3))


def meets_proof_of_work(block_hash: bytes, bits: int, pow_limit_bits: int) -> bool:
    """Bitcoin Core's CheckProofOfWork: `bits` is a valid compact target no easier than the network's
    limit, and the header hash (internal byte order) read as a little-endian number is at most it."""
    exponent, mantissa = bits >> 24, bits & 0x007FFFFF
    negative = mantissa != 0 and bits & 0x00800000
    overflow = mantissa != 0 and (exponent > 34 or (mantissa > 0xFF and exponent > 33)
                                  or (mantissa > 0xFFFF and exponent > 32))
    target = bits_to_target(bits)
    if negative or overflow or target == 0 or target > bits_to_target(pow_limit_bits):
        return False
    return int.from_bytes(block_hash, "little") <= target


def target_to_bits(target: int) -> int:
    """256-bit target → compact bits (Bitcoin Core's GetCompact)."""
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = target << (8 * (3 - size))
    else:
        compact = target >> (8 * (size - 3))
    if compact & 0x00800000:  # keep the sign bit clear
        compact >>= 8
        size += 1
    return compact | (size << 24)


def difficulty_from_bits(bits: int) -> float:
    """Difficulty = target(0x1d00ffff) / target(bits)."""
    return _DIFF1_TARGET / bits_to_target(bits)


def work_from_bits(bits: int) -> int:
    """Expected hashes to find a block at `bits`: 2^256 / (target + 1), as Core's GetBlockProof."""
    return (1 << 256) // (bits_to_target(bits) + 1)


def subsidy_sat(height: int, halving_interval_blocks: int = 210_000,
                initial_subsidy_sat: int = INITIAL_SUBSIDY_SAT) -> int:
    """Block subsidy in sats at `height`: the initial subsidy (50 BTC on every Bitcoin network)
    halved every interval, zero from the 64th halving on."""
    halvings = height // halving_interval_blocks
    return 0 if halvings >= 64 else initial_subsidy_sat >> halvings


def median_time_past(times_s: list[int]) -> int:
    """Median of up to the last 11 block times (BIP113)."""
    window = sorted(times_s[-11:])
    return window[len(window) // 2]


def next_target(old_bits: int, first_time_s: int, last_time_s: int, pow_limit_bits: int) -> int:
    """Retargeted bits: old target × clamped(actual timespan) / two weeks (2,015 intervals measured)."""
    span = min(max(last_time_s - first_time_s, RETARGET_TIMESPAN_S // 4), RETARGET_TIMESPAN_S * 4)
    target = min(bits_to_target(old_bits) * span // RETARGET_TIMESPAN_S, bits_to_target(pow_limit_bits))
    return target_to_bits(target)


def hashvalue_btc_per_ph_day(difficulty: float, subsidy_btc: float, fees_btc_per_block: float = 0.0) -> float:
    """BTC earned by 1 PH/s in one day at `difficulty` (the Hashrate Index formula):
    (subsidy + fees per block) × 86,400 × 1e15 / (difficulty × 2^32)."""
    return (subsidy_btc + fees_btc_per_block) * SECONDS_PER_DAY * PH / (difficulty * HASHES_PER_DIFFICULTY)
