"""parse_block's per-output and per-input columns against a plain reference reader.

The reference below walks the serialization field by field with a stream (the textbook layout
from BIP144), independently of the parser's in-place fast paths; every column must agree on all
29 real blocks, and the parser's inline script templates must agree with classify().
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from minerwatch.chain.block import parse_block
from minerwatch.chain.script import classify
from minerwatch.errors import ParseError

DATA = Path(__file__).parent / "data" / "blocks"
FILES = sorted(p.name for p in DATA.glob("*.bin"))


def _count(s: io.BytesIO) -> int:
    b = s.read(1)[0]
    if b < 0xFD:
        return b
    return int.from_bytes(s.read({0xFD: 2, 0xFE: 4, 0xFF: 8}[b]), "little")


def _reference(raw: bytes) -> tuple[list[tuple[int, int, int, bytes]], list[tuple[int, bytes, int]]]:
    """(tx, vout, value_sat, script) per output and (tx, prev txid, prev vout) per non-coinbase input."""
    s = io.BytesIO(raw)
    s.seek(80)
    outputs, inputs = [], []
    for t in range(_count(s)):
        s.read(4)  # version
        marker = s.read(2)
        segwit = marker == b"\x00\x01"
        if not segwit:
            s.seek(-2, io.SEEK_CUR)
        n_in = _count(s)
        for _ in range(n_in):
            prev, vout = s.read(32), int.from_bytes(s.read(4), "little")
            s.read(_count(s) + 4)  # scriptSig, sequence
            if t:
                inputs.append((t, prev, vout))
        for v in range(_count(s)):
            value = int.from_bytes(s.read(8), "little", signed=True)
            outputs.append((t, v, value, s.read(_count(s))))
        if segwit:
            for _ in range(n_in):
                for _ in range(_count(s)):
                    s.read(_count(s))
        s.read(4)  # lock time
    assert s.read() == b""
    return outputs, inputs


@pytest.mark.parametrize("name", FILES)
def test_columns_match_reference_reader(name: str) -> None:
    raw = (DATA / name).read_bytes()
    block = parse_block(raw, source=name)
    outputs, inputs = _reference(raw)
    assert list(zip(block.out_tx, block.out_vout, block.out_value_sat)) == [o[:3] for o in outputs]
    assert list(zip(block.out_type, block.out_payload)) == [classify(o[3]) for o in outputs]
    assert list(zip(block.in_tx, block.in_prev_txid, block.in_prev_vout)) == inputs
    # Types of the column items matter to the ingest (bytes for hashes and payloads, int elsewhere).
    assert all(type(p) is bytes for p in block.out_payload + block.in_prev_txid + block.txids)


@pytest.mark.parametrize("name", ["mainnet-482683.bin", "testnet3-924634.bin"])
def test_every_cut_of_a_segwit_block_is_a_parse_error(name: str) -> None:
    # Both blocks hold legacy and segwit transactions (9,288 and 4,319 bytes). Cutting one anywhere
    # after the header must give a ParseError at or before the cut — never another exception and
    # never a block — even with the merkle check off, so the bounds checks alone must catch it.
    raw = (DATA / name).read_bytes()
    for cut in range(81, len(raw)):
        with pytest.raises(ParseError) as e:
            parse_block(raw[:cut], source="cut.bin", verify_merkle=False)
        assert e.value.offset <= cut, cut
