"""Only valid work wins: the proof-of-work check and mainnet's retarget rule on real mainnet headers.

The headers are tests/data/headers/mainnet-headers-822528-830592.bin (8,065 real consecutive headers,
heights 822,528–830,592). Boundaries inside it: 824,544, 826,560, 828,576 and 830,592 (multiples of
2,016); each boundary's bits are what the real network agreed on, so the rule must accept them all,
and refuse any other value.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from minerwatch.chain.blkchain import RetargetRule
from minerwatch.chain.blkscan import BlockRecord
from minerwatch.consensus import meets_proof_of_work
from minerwatch.networks import get_network

HEADERS = Path(__file__).parent / "data" / "headers" / "mainnet-headers-822528-830592.bin"
FIRST = 822_528
MAINNET = get_network("mainnet")


def _records() -> list[BlockRecord]:
    data = HEADERS.read_bytes()
    out = []
    for i in range(len(data) // 80):
        h = data[80 * i:80 * (i + 1)]
        _, prev, _, time_s, bits, _ = struct.unpack("<i32s32sIII", h)
        out.append(BlockRecord(hashlib.sha256(hashlib.sha256(h).digest()).digest(), prev, bits, time_s, 0, 0, 0))
    return out


RECORDS = _records()


def test_every_real_header_meets_its_proof_of_work() -> None:
    assert len(RECORDS) == 8_065
    assert all(meets_proof_of_work(r.hash, r.bits, MAINNET.pow_limit_bits) for r in RECORDS)
    # The same header claiming a target 256 times easier than mainnet's limit is refused, and so is
    # a real hash against a target 2^32 times harder than its own.
    r = RECORDS[0]
    assert not meets_proof_of_work(r.hash, 0x1E00FFFF, MAINNET.pow_limit_bits)
    assert not meets_proof_of_work(r.hash, r.bits - 0x04000000, MAINNET.pow_limit_bits)


def test_the_retarget_rule_accepts_the_real_chain_and_nothing_else() -> None:
    rule = RetargetRule(MAINNET, {r.hash: r for r in RECORDS})
    boundaries = [h for h in range(FIRST + 1, FIRST + len(RECORDS)) if h % 2016 == 0]
    assert boundaries == [824_544, 826_560, 828_576, 830_592]
    for i in range(1, len(RECORDS)):
        assert rule.allows(RECORDS[i], RECORDS[i - 1], FIRST + i), f"height {FIRST + i}"
    # The four boundaries really changed the bits (so the rule computed something), …
    changed = [h for h in boundaries if RECORDS[h - FIRST].bits != RECORDS[h - FIRST - 1].bits]
    assert changed == boundaries
    # … and a block keeping the old bits across a boundary, or changing them inside a period, is refused.
    for h in boundaries:
        rec, parent = RECORDS[h - FIRST], RECORDS[h - FIRST - 1]
        assert not rule.allows(BlockRecord(rec.hash, rec.prev_hash, parent.bits, rec.time, 0, 0, 0), parent, h)
    rec, parent = RECORDS[100], RECORDS[99]
    assert not rule.allows(BlockRecord(rec.hash, rec.prev_hash, rec.bits + 1, rec.time, 0, 0, 0), parent, FIRST + 100)


@pytest.mark.parametrize("bits", [0x1D80FFFF, 0x23FFFFFF, 0x1D000000])
def test_malformed_bits_are_never_valid(bits: int) -> None:
    # Negative (sign bit set), overflowing, and zero targets: Core's CheckProofOfWork refuses all three.
    assert not meets_proof_of_work(bytes(32), bits, MAINNET.pow_limit_bits)
