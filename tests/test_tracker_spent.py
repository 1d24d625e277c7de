"""The cohort tracker decides the same with the node's undo data as with its own unspent outputs.

With undo data (what each input spent: script, value, creation height) the tracker holds no unspent
outputs; an input spends a tracked output when its script is a member and the output was created
after the script joined, or in the join block at or after the joining transaction. The oracle is the
tracker's original rule, which looks every input up in the unspent outputs it holds: both run over
the same chains block by block and must report identical changes (new outputs, spends, outputs of
spending transactions, members changed) and end with identical members.

The spent outputs come from a full UTXO map kept here over the raw blocks, as Core's undo records
would give them (chain/undo.py reads those; tests/test_undo.py checks it against Core's files).
"""

from __future__ import annotations

import pytest

from minerwatch.chain.block import Block, parse_block
from minerwatch.chain.builder import ChainBuilder, OutPoint, h20, key65, p2pk, p2pkh, p2wpkh
from minerwatch.chain.script import classify
from minerwatch.chain.undo import SpentOutput, spent_columns
from minerwatch.ingest.tracker import Tracker

B, F = 100_000_000, 10_000
T0 = 1_704_067_200


_OUTSIDE = SpentOutput(0, b"\x6a", 0, False)


def script_of(stype: int, payload: bytes) -> bytes:
    """The output script back from classify()'s (type, payload)."""
    if stype == 1:
        return bytes((len(payload),)) + payload + b"\xac"
    if stype == 2:
        return b"\x76\xa9\x14" + payload + b"\x88\xac"
    if stype == 3:
        return b"\xa9\x14" + payload + b"\x87"
    if stype == 4:
        return b"\x00\x14" + payload
    if stype == 5:
        return b"\x00\x20" + payload
    if stype == 6:
        return b"\x51\x20" + payload
    if stype == 8:
        return b"\x6a"
    return payload


def spent_per_block(blocks: list[Block]) -> list:
    """Per block, its SpentColumns, from a UTXO map of every output (coinbase included)."""
    utxo: dict[tuple[bytes, int], SpentOutput] = {}
    out = []
    for height, block in enumerate(blocks):
        txs: list[list[SpentOutput]] = [[] for _ in range(block.tx_count - 1)]
        oi = ii = 0
        for t in range(block.tx_count):
            while ii < len(block.in_tx) and block.in_tx[ii] == t:
                # The demo's simulator funds some actors with coins from outside the chain (never
                # cohort outputs): an OP_RETURN stand-in of 0 sat, which neither rule tracks.
                txs[t - 1].append(utxo.pop((block.in_prev_txid[ii], block.in_prev_vout[ii]), _OUTSIDE))
                ii += 1
            while oi < len(block.out_tx) and block.out_tx[oi] == t:
                utxo[(block.txids[t], block.out_vout[oi])] = SpentOutput(
                    block.out_value_sat[oi], script_of(block.out_type[oi], block.out_payload[oi]), height, t == 0)
                oi += 1
        out.append(spent_columns([tuple(c) for c in txs], block))
    return out


def assert_same_decisions(blocks: list[Block]) -> tuple[Tracker, Tracker]:
    spent = spent_per_block(blocks)
    held, lean = Tracker(), Tracker(utxos=False)
    for height, block in enumerate(blocks):
        if height == 0:
            continue
        a = held.apply(height, block)
        b = lean.apply(height, block, spent[height])
        assert (a.new_outputs, a.spends, a.spend_outputs, a.members_before, a.prejoin) == \
               (b.new_outputs, b.spends, b.spend_outputs, b.members_before, b.prejoin), f"height {height}"
    assert {s: (m.zero_hop_height, m.one_hop_height, m.parent_script_id) for s, m in held.members.items()} == \
           {s: (m.zero_hop_height, m.one_hop_height, m.parent_script_id) for s, m in lean.members.items()}
    assert held.payloads == lean.payloads and held.prejoin == lean.prejoin
    return held, lean


def test_an_output_paid_before_its_script_joined_in_the_same_block_stays_untracked() -> None:
    # Block 105: tx A pays S twice (S no member yet); tx J spends the coinbase of block 1 (0-hop) and
    # pays S: S joins 1-hop at J. A's outputs were created in S's join block but before the joining
    # transaction, so they are untracked; J's is tracked. A later transaction of 105 spends A's
    # first output (in-block: decided by transaction order), and block 106 spends J's output and
    # A's second (decided by the prejoin set). Expected: 105 reports one spend (block 1's coinbase
    # output), 106 exactly one, J's 3 BTC.
    b = ChainBuilder("regtest", start_time_s=T0)
    pool, s, other = p2wpkh(h20("pool")), p2wpkh(h20("S")), p2wpkh(h20("other"))
    filler = p2wpkh(h20("filler"))
    b.mine(tag="pool", payouts=[(pool, None)], time_s=T0 + 600)
    b.mine(tag="solo", payouts=[(other, None)], time_s=T0 + 1200)      # `other` is 0-hop too
    while b.height < 103:
        b.mine(tag="x", payouts=[(filler, None)], time_s=T0 + 600 * (b.height + 1))
    # The payer's coin is no cohort output: a coinbase (0-hop) → x1 (1-hop) → payer (two hops).
    f1 = b.spend([b.coinbase_outpoint(3)], [(p2pkh(h20("x1")), 49 * B)], fee_sat=B)
    b.mine(tag="x", payouts=[(filler, None)], time_s=T0 + 600 * 104)
    f2 = b.spend([OutPoint(f1.txid, 0)], [(p2pkh(h20("payer")), 48 * B)], fee_sat=B)
    b.mine(tag="x", payouts=[(filler, None)], time_s=T0 + 600 * 105)
    a = b.spend([OutPoint(f2.txid, 0)], [(s, 4 * B), (s, 2 * B), (p2pkh(h20("change")), 41 * B)], fee_sat=B)
    join = b.spend([b.coinbase_outpoint(1)], [(s, 3 * B), (p2pkh(h20("pool-change")), 46 * B)], fee_sat=B)
    b.spend([OutPoint(a.txid, 0)], [(p2pkh(h20("shop")), 3 * B)], fee_sat=B)
    b.mine(tag="x", payouts=[(filler, None)], time_s=T0 + 600 * 106)
    b.spend([OutPoint(join.txid, 0), OutPoint(a.txid, 1)], [(p2pkh(h20("shop")), 4 * B)], fee_sat=B)
    b.mine(tag="x", payouts=[(filler, None)], time_s=T0 + 600 * 107)
    blocks = [parse_block(raw) for raw in b.blocks]
    assert blocks[106].tx_count == 4 and blocks[107].tx_count == 2
    _, lean = assert_same_decisions(blocks)
    assert lean.prejoin == {(a.txid, 0), (a.txid, 1)}
    replay = Tracker(utxos=False)
    spent = spent_per_block(blocks)
    reports = {h: replay.apply(h, blk, spent[h]) for h, blk in enumerate(blocks) if h}
    assert [(x[0], x[1], x[4]) for x in reports[106].spends] == [(b.coinbase_outpoint(1).txid, 0, 50 * B)]
    assert [(x[0], x[1], x[4]) for x in reports[107].spends] == [(join.txid, 0, 3 * B)]


def _busy_chain() -> list[Block]:
    """Pools, payouts, consolidations, sales, a bare-key miner and shared payloads, over 160 blocks."""
    b = ChainBuilder("regtest", start_time_s=T0)
    pools = [p2wpkh(h20("poolA")), p2pkh(h20("poolB")), p2pk(key65("solo"))]
    exchange = p2wpkh(h20("exchange"))
    for h in range(1, 161):
        payouts: list[tuple[bytes, int | None]] = [(pools[h % 3], None)]
        if h > 30:
            payouts.append((p2wpkh(h20(f"m-{h - 25}")), 1 * B))     # an old 1-hop member turns 0-hop
        if h > 103:
            miner = p2wpkh(h20(f"m-{h}"))
            outs = [(miner, 10 * B), (exchange, 2 * B), (p2pkh(h20(f"m-{h - 20}")), 1 * B)]
            tx = b.spend([b.coinbase_outpoint(h - 100)], outs, fee_sat=F)
            b.spend([OutPoint(tx.txid, 0)], [(exchange, 5 * B), (miner, 5 * B - 2 * F)], fee_sat=F)
            if h > 110:
                # The exchange sweeps an older deposit together with an unrelated coin.
                coin = b.coins_of(exchange)[0]
                b.spend([coin], [(p2pkh(h20("cold")), b.utxos[coin].value_sat - F)], fee_sat=F)
        b.mine(tag=f"pool{h % 3}", payouts=payouts, time_s=T0 + h * 600)
    return [parse_block(raw) for raw in b.blocks]


def test_both_rules_agree_on_a_busy_chain() -> None:
    assert_same_decisions(_busy_chain())


def test_a_block_taken_back_leaves_the_lean_tracker_as_before() -> None:
    blocks = _busy_chain()
    spent = spent_per_block(blocks)
    lean = Tracker(utxos=False)
    for h in range(1, 150):
        lean.apply(h, blocks[h], spent[h])
    before = ({s: (m.zero_hop_height, m.one_hop_height, m.parent_script_id) for s, m in lean.members.items()},
              set(lean.payloads), set(lean.prejoin))
    records = [lean.apply(h, blocks[h], spent[h]).undo_record(h, blocks[h].hash.hex()) for h in range(150, 161)]
    for rec in reversed(records):
        lean.undo(rec)
    after = ({s: (m.zero_hop_height, m.one_hop_height, m.parent_script_id) for s, m in lean.members.items()},
             set(lean.payloads), set(lean.prejoin))
    assert after == before


def test_the_demo_chain_agrees() -> None:
    from minerwatch.simulate.generate import SimConfig, generate

    chain = generate(SimConfig(days=120))
    assert_same_decisions([parse_block(raw) for raw in chain.raw_blocks])


def test_a_block_without_undo_data_needs_the_outputs() -> None:
    blocks = _busy_chain()
    with pytest.raises(RuntimeError, match="undo data"):
        Tracker(utxos=False).apply(1, blocks[1])


def test_true_fees_are_what_the_miner_claimed_when_it_claimed_everything() -> None:
    # The builder's miners claim subsidy + every fee: at height 120 three spends of F each are mined
    # (the payout, the sale, the sweep), so inputs − outputs = 3 F = coinbase − subsidy (50 BTC on
    # regtest below its first halving at 150).
    blocks = _busy_chain()
    cols = spent_per_block(blocks)[120]
    assert len(cols.payload) == len(blocks[120].in_tx)
    assert cols.fees_paid_sat == 3 * F == blocks[120].coinbase_value_sat - 50 * B
    assert [classify(script_of(t, p)) for t, p in zip(cols.script_type, cols.payload)] == \
        list(zip(cols.script_type, cols.payload))
