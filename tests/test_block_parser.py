"""The parser against the 29 real blocks in tests/data/blocks and their INDEX.csv.

INDEX.csv was produced independently of minerwatch (see tests/data/README.md): every column it
holds that a block alone can tell must come out of our parser exactly.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest

from minerwatch.chain.block import hash_hex, parse_block
from minerwatch.errors import ParseError

DATA = Path(__file__).parent / "data" / "blocks"
ROWS = list(csv.DictReader(open(DATA / "INDEX.csv")))


def test_index_covers_all_29_blocks() -> None:
    assert len(ROWS) == 29
    assert sorted(r["file"] for r in ROWS) == sorted(p.name for p in DATA.glob("*.bin"))


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_block_matches_index(row: dict[str, str]) -> None:
    raw = (DATA / row["file"]).read_bytes()
    block = parse_block(raw, source=row["file"])
    h = block.header
    assert hash_hex(h.hash) == row["hash"]
    assert hash_hex(h.prev_hash) == row["prev_hash"]
    assert datetime.fromtimestamp(h.time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") == row["time_utc"]
    assert h.bits == int(row["bits"], 16)
    assert h.version == int(row["version"], 16)
    assert block.tx_count == int(row["tx_count"])
    assert block.size_bytes == int(row["size_bytes"])
    assert block.segwit_tx_count == int(row["segwit_tx_count"])
    assert block.p2tr_output_count == int(row["p2tr_output_count"])
    assert block.coinbase_value_sat == int(row["coinbase_value_sat"])
    if row["height"] and h.version >= 2 and int(row["height"]) >= 227_931:
        assert block.bip34_height == int(row["height"])


def test_weight_rules() -> None:
    # A block without witness data weighs exactly 4 × its size; a segwit block weighs less than
    # 4 × its size and at most 4,000,000 WU (the consensus limit).
    legacy = parse_block((DATA / "mainnet-426884.bin").read_bytes())
    assert legacy.segwit_tx_count == 0 and legacy.weight == 4 * legacy.size_bytes
    segwit = parse_block((DATA / "mainnet-830000.bin").read_bytes())
    assert segwit.segwit_tx_count > 0
    assert segwit.size_bytes < segwit.weight < min(4 * segwit.size_bytes, 4_000_001)


def test_genesis_successor_txid() -> None:
    # Block 1's only transaction: 0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098
    # (the txid every explorer shows for it), which is also block 1's merkle root.
    block = parse_block((DATA / "mainnet-1.bin").read_bytes())
    assert block.txids[0][::-1].hex() == "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"


def test_truncated_block_names_source_and_offset() -> None:
    raw = (DATA / "mainnet-169482.bin").read_bytes()
    with pytest.raises(ParseError) as e:
        parse_block(raw[:5000], source="cut.bin")
    assert "cut.bin" in str(e.value) and "truncated" in str(e.value)
    assert 80 < e.value.offset <= 5000


def test_trailing_bytes_are_rejected() -> None:
    raw = (DATA / "mainnet-1.bin").read_bytes()
    with pytest.raises(ParseError, match="3 trailing bytes") as e:
        parse_block(raw + b"\x00\x00\x00", source="x.bin", base_offset=1000)
    assert e.value.offset == 1000 + len(raw)


def test_absurd_transaction_count_is_rejected() -> None:
    raw = bytearray((DATA / "mainnet-1.bin").read_bytes())
    raw[80:81] = b"\xfe\xff\xff\xff\x7f"
    with pytest.raises(ParseError, match="absurd transaction count"):
        parse_block(bytes(raw))


def test_altered_transaction_fails_the_merkle_check() -> None:
    raw = bytearray((DATA / "mainnet-169482.bin").read_bytes())
    raw[-10] ^= 0xFF  # inside the last transaction's output script or lock time
    with pytest.raises(ParseError, match="merkle root"):
        parse_block(bytes(raw))


def test_parse_error_survives_pickling() -> None:
    # Parser worker processes send errors back to the parent pickled: the message must not double.
    import pickle

    with pytest.raises(ParseError) as e:
        parse_block((DATA / "mainnet-1.bin").read_bytes()[:100], source="blk00007.dat", base_offset=5000)
    back = pickle.loads(pickle.dumps(e.value))
    assert str(back) == str(e.value) and back.offset == e.value.offset and back.source == "blk00007.dat"
