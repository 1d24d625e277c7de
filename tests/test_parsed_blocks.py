"""Blocks as the ingest takes them (chain/parsed.py): facts computed from the block alone, and the
tracker's columns packed into flat buffers and rebuilt exactly, as they cross between processes."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import pytest

from minerwatch.chain.block import parse_block
from minerwatch.chain.builder import ChainBuilder, h20, key65, p2pk, p2wpkh
from minerwatch.chain.parsed import CoinbaseOutput, ParsedBlock
from minerwatch.chain.script import script_id
from minerwatch.chain.txbuild import op_return
from minerwatch.networks import get_network

BLOCKS = Path(__file__).parent / "data" / "blocks"
MAINNET = get_network("mainnet")
REGTEST = get_network("regtest")
COLUMNS = ("txids", "out_tx", "out_vout", "out_value_sat", "out_type", "out_payload", "in_tx", "in_prev_txid",
           "in_prev_vout")


def _index() -> list[dict[str, str]]:
    with (BLOCKS / "INDEX.csv").open() as f:
        return list(csv.DictReader(f))


def _columns(c: object) -> dict[str, list]:
    """Every tracker column as a plain list, whatever sequence type holds it."""
    return {name: list(getattr(c, name)) for name in COLUMNS} | {"tx_count": c.tx_count}  # type: ignore[attr-defined]


def _through_a_pipe(parsed: ParsedBlock) -> ParsedBlock:
    """What a worker sends and the parent rebuilds."""
    return pickle.loads(pickle.dumps(parsed.packed(), protocol=pickle.HIGHEST_PROTOCOL)).unpack()


@pytest.mark.parametrize("row", _index(), ids=lambda r: r["file"])
def test_packed_columns_come_back_exactly_and_facts_match_the_index(row: dict[str, str]) -> None:
    block = parse_block((BLOCKS / row["file"]).read_bytes())
    height = int(row["height"] or 0)
    network = get_network(row["network"])
    parsed = ParsedBlock.of(height, block, network)
    back = _through_a_pipe(parsed)
    assert back.facts == parsed.facts
    assert _columns(back.columns) == _columns(block)
    f = back.facts
    assert (f.hash_hex, f.prev_hash_hex, f.bits, f.version) == (
        row["hash"], row["prev_hash"], int(row["bits"], 16), int(row["version"], 16))
    assert (f.tx_count, f.size_bytes, f.segwit_tx_count, f.p2tr_output_count, f.coinbase_value_sat) == (
        int(row["tx_count"]), int(row["size_bytes"]), int(row["segwit_tx_count"]), int(row["p2tr_output_count"]),
        int(row["coinbase_value_sat"]))
    assert len(f.coinbase_outputs) == (block.out_tx.index(1) if 1 in block.out_tx else len(block.out_tx))


def test_facts_of_block_1() -> None:
    f = ParsedBlock.of(1, parse_block((BLOCKS / "mainnet-1.bin").read_bytes()), MAINNET).facts
    key = bytes.fromhex("0496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141"
                        "781e62294721166bf621e73a82cbf2342c858ee")
    assert f.coinbase_outputs == (CoinbaseOutput(0, 5_000_000_000, "p2pk", script_id(1, key), "pk:" + key.hex()),)
    # 2^256 / (0x00000000ffff << 208 + 1) hashes at difficulty 1; 50 BTC subsidy, all of it claimed.
    assert (f.difficulty, f.work, f.subsidy_sat, f.fees_sat, f.unclaimed_sat) == (
        1.0, 4_295_032_833, 5_000_000_000, 0, 0)
    assert (f.time_s, f.input_count, f.output_count, f.weight_wu) == (1231469665, 0, 1, 4 * 215)
    assert (f.coinbase_tag, f.coinbase_script_hex) == ("", "04ffff001d0104")


def test_fees_and_unclaimed_reward() -> None:
    # 169482 (2012, 50 BTC subsidy): its coinbase of 208 outputs (a P2Pool block) claims 50.0175 BTC.
    f = ParsedBlock.of(169482, parse_block((BLOCKS / "mainnet-169482.bin").read_bytes()), MAINNET).facts
    assert (f.subsidy_sat, f.fees_sat, f.unclaimed_sat, len(f.coinbase_outputs)) == (5_000_000_000, 1_750_000, 0, 208)
    assert sum(o.value_sat for o in f.coinbase_outputs) == 5_001_750_000
    # The same block stored at height 420,000 (12.5 BTC) would leave nothing unclaimed and claim 37.5175 BTC of fees;
    # at 6,930,000 (the 33rd halving: 0 sat) all of it is fees.
    later = ParsedBlock.of(420_000, parse_block((BLOCKS / "mainnet-169482.bin").read_bytes()), MAINNET).facts
    assert (later.subsidy_sat, later.fees_sat, later.unclaimed_sat) == (1_250_000_000, 3_751_750_000, 0)


def test_unusual_outputs_survive_packing() -> None:
    """Payloads of 0 bytes (OP_RETURN), 65 (an uncompressed key) and 300 (a non-standard script,
    past the one-byte struct formats), an output created and spent in one block, values of 0 sat."""
    b = ChainBuilder("regtest")
    miner = p2wpkh(h20("miner"))
    b.mine(payouts=[(miner, None)])
    for _ in range(100):
        b.mine(payouts=[(p2wpkh(h20("other")), None)])
    odd = b"\x51" * 299 + b"\x87"   # OP_1 × 299, OP_EQUAL: 300 bytes, no template
    first = b.spend([b.coinbase_outpoint(1)], [(odd, 1_000), (op_return(b"hello"), 0), (p2pk(key65("k")), 2_000)],
                    fee_sat=500)
    b.spend([first.outpoint(0)], [(miner, 700)], fee_sat=300)
    raw = b.mine(payouts=[(miner, None), (odd, 0), (op_return(b""), 0)])
    block = parse_block(raw)
    assert sorted(set(map(len, block.out_payload))) == [0, 20, 65, 300]
    parsed = ParsedBlock.of(102, block, REGTEST)
    back = _through_a_pipe(parsed)
    assert _columns(back.columns) == _columns(block) and back.facts == parsed.facts
    # The last output is the segwit commitment (the block's transactions spend P2WPKH coins).
    assert [(o.script_type, o.value_sat, o.address is None) for o in back.facts.coinbase_outputs] == [
        ("p2wpkh", 5_000_000_000 + 800, False), ("other", 0, True), ("op_return", 0, True), ("op_return", 0, True)]
