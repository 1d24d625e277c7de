"""The synthetic chain builder: what it builds must be real Bitcoin serialization with known answers."""

from __future__ import annotations

from hashlib import sha256

import pytest

from minerwatch.chain.block import hash_hex, parse_block
from minerwatch.chain.blockbuild import genesis_block
from minerwatch.chain.builder import (
    ChainBuilder, OutPoint, TxIn, h20, h32, key, key65, make_tx, multisig, op_return, p2pk, p2pkh, p2sh,
    p2tr, p2wpkh, p2wsh,
)
from minerwatch.chain.script import ScriptType, classify
from minerwatch.consensus import bits_to_target
from minerwatch.errors import UsageError
from minerwatch.networks import NETWORKS


def _sha256d(b: bytes) -> bytes:
    return sha256(sha256(b).digest()).digest()


@pytest.mark.parametrize("name", ["mainnet", "testnet3", "testnet4", "signet", "regtest"])
def test_genesis_blocks_are_bitcoin_cores(name: str) -> None:
    # The network table's genesis hashes are copied from Bitcoin Core's chainparams; rebuilding the
    # genesis block from its published fields must hash to exactly that.
    g = genesis_block(NETWORKS[name])
    assert hash_hex(g.hash) == NETWORKS[name].genesis_hash
    assert parse_block(g.raw).tx_count == 1


def test_simnet_genesis_is_its_own() -> None:
    g = genesis_block(NETWORKS["simnet"])
    assert hash_hex(g.hash) == NETWORKS["simnet"].genesis_hash
    assert all(hash_hex(g.hash) != n.genesis_hash for n in NETWORKS.values() if n.name != "simnet")


def test_rehearsal_network_has_mainnet_economics_and_its_own_genesis() -> None:
    net = NETWORKS["rehearsal"]
    g = genesis_block(net)
    assert hash_hex(g.hash) == net.genesis_hash
    assert all(hash_hex(g.hash) != n.genesis_hash for n in NETWORKS.values() if n.name != "rehearsal")
    assert (g.time_s, g.bits) == (1231006505, 0x1D00FFFF)            # mainnet's genesis time and bits
    assert (net.initial_subsidy_sat, net.halving_interval_blocks, net.retargets, net.simulated) == \
        (5_000_000_000, 210_000, True, True)


def test_forget_below_drops_old_blocks_but_keeps_the_chain_going() -> None:
    b = ChainBuilder("regtest")
    for _ in range(5):
        b.mine()
    b.forget_below(3)
    assert b.blocks[:3] == [b"", b"", b""] and all(b.blocks[3:])
    assert b.height == 5 and len(b.times) == 6
    b.mine()
    assert b.height == 6 and b.fork(3).height == 3
    with pytest.raises(UsageError):
        b.fork(2)


def test_script_helpers_classify_as_their_type() -> None:
    k, k65, a, s = key("alice"), key65("satoshi"), h20("alice"), h32("vault")
    assert k[0] in (2, 3) and len(k) == 33 and key("alice") == k != key("bob")
    cases = [
        (p2pk(k), ScriptType.P2PK, k), (p2pk(k65), ScriptType.P2PK, k65),
        (p2pkh(a), ScriptType.P2PKH, a), (p2sh(a), ScriptType.P2SH, a), (p2wpkh(a), ScriptType.P2WPKH, a),
        (p2wsh(s), ScriptType.P2WSH, s), (p2tr(s), ScriptType.P2TR, s),
        (op_return(b"hello"), ScriptType.OP_RETURN, b""),
    ]
    for script, stype, payload in cases:
        assert classify(script) == (stype, payload)
    ms = multisig(1, [key("x"), key("y")])
    assert classify(ms) == (ScriptType.MULTISIG, ms)
    # 1-of-2: OP_1 <33> <33> OP_2 OP_CHECKMULTISIG = 1 + 34 + 34 + 1 + 1 = 71 bytes
    assert len(ms) == 71 and ms[0] == 0x51 and ms[-2:] == b"\x52\xae"


def test_every_block_parses_and_bip34_heights_read_back() -> None:
    # Heights 1–16 are written as OP_1…OP_16, 17–127 as a one-byte push, 128–255 need a second byte
    # (0x80 would read as negative), 256+ two bytes: 300 blocks cross every one of those encodings.
    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    for h in range(1, 301):
        b.mine(tag=f"/pool{h % 3}/")
    for h, raw in enumerate(b.blocks[1:], start=1):
        block = parse_block(raw, source=f"built-{h}")  # verifies the merkle root
        assert block.bip34_height == h
        assert block.header.prev_hash == b.hashes[h - 1] and block.hash == b.hashes[h]
    assert parse_block(b.blocks[128]).coinbase_script[:3] == b"\x02\x80\x00"


def test_regtest_blocks_meet_their_proof_of_work() -> None:
    b = ChainBuilder("regtest")
    for _ in range(20):
        block = parse_block(b.mine())
        # 0x207fffff: target = 0x7fffff × 256^29, about half of all hashes, so ~2 tries per block
        assert block.header.bits == 0x207FFFFF
        assert int.from_bytes(block.hash, "little") <= 0x7FFFFF * 256 ** 29 == bits_to_target(0x207FFFFF)


def test_regtest_subsidy_halves_every_150_blocks() -> None:
    b = ChainBuilder("regtest")
    values = [parse_block(b.mine()).coinbase_value_sat for _ in range(300)]
    assert values[148] == 5_000_000_000   # height 149: 50 BTC
    assert values[149] == 2_500_000_000   # height 150: first regtest halving
    assert values[299] == 1_250_000_000   # height 300: second


def test_segwit_spend_weights_and_commitment_match_hand_computation() -> None:
    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    pool = p2wpkh(h20("pool"))
    b.mine(tag="/T/", payouts=[(pool, None)])
    cb = b.coinbase_outpoint(1)
    tx = b.spend([cb], outputs=[(p2wpkh(h20("alice")), 1_000_000_000)], fee_sat=10_000)
    # One P2WPKH input, two P2WPKH outputs (payment and change):
    #   stripped = version 4 + input count 1 + input (32 + 4 + 1 + 0 + 4 = 41) + output count 1
    #              + 2 × (8 + 1 + 22 = 31) + lock time 4 = 113 bytes
    #   witness  = marker/flag 2 + item count 1 + (1 + 72 signature) + (1 + 33 key) = 110 bytes
    #   size 223; weight = 3 × 113 + 223 = 562 WU; vsize = ⌈562 / 4⌉ = 141 vB
    assert (len(tx.stripped), tx.size_bytes, tx.weight, tx.vsize) == (113, 223, 562, 141)
    block = parse_block(b.mine(tag="/T/", payouts=[(pool, None)]))
    # Coinbase at height 2: scriptSig = OP_2 + push("/T/") = 1 + 4 = 5 bytes;
    #   stripped = 4 + 1 + (32 + 4 + 1 + 5 + 4 = 46) + 1 + payout 31 + commitment (8 + 1 + 38 = 47)
    #              + 4 = 134; witness = 2 + 1 + (1 + 32 reserved value) = 36 → size 170,
    #   weight = 3 × 134 + 170 = 572.
    # Block: (80 header + 1 tx count) × 4 = 324, + 572 + 562 = 1,458 WU; size 81 + 170 + 223 = 474.
    assert block.tx_weights == [572, 562]
    assert (block.weight, block.size_bytes, block.segwit_tx_count) == (1458, 474, 2)
    assert block.wtxids[1] == tx.wtxid != tx.txid == block.txids[1]
    # The commitment (BIP141): sha256d(witness root ‖ 32 zero bytes), witness root over
    # [32 zero bytes for the coinbase, the spend's wtxid]; written as OP_RETURN 36 aa21a9ed <32>.
    root = _sha256d(b"\x00" * 32 + tx.wtxid)
    commitment = bytes.fromhex("6a24aa21a9ed") + _sha256d(root + b"\x00" * 32)
    last_cb_out = max(i for i, t in enumerate(block.out_tx) if t == 0)
    assert block.out_value_sat[last_cb_out] == 0 and block.out_type[last_cb_out] == ScriptType.OP_RETURN
    coinbase = b.blocks[2][81:81 + 170]
    assert commitment in coinbase
    # Fees: 10,000 sat on top of 50 BTC; the commitment carries no value.
    assert block.coinbase_value_sat == 5_000_010_000


def test_payouts_may_leave_reward_unclaimed_and_split() -> None:
    b = ChainBuilder("regtest")
    a, c = p2pk(key65("early")), p2pkh(h20("split"))
    block = parse_block(b.mine(payouts=[(a, 100_000_000)]))
    assert block.coinbase_value_sat == 100_000_000          # 49 BTC left on the table
    assert block.out_type == [ScriptType.P2PK]
    block = parse_block(b.mine(payouts=[(a, 1_000), (c, None)]))
    assert block.out_value_sat == [1_000, 5_000_000_000 - 1_000]
    with pytest.raises(UsageError):
        b.mine(payouts=[(a, None), (c, None)])


def test_spends_move_coins_and_pay_fees() -> None:
    b = ChainBuilder("regtest")
    pool, alice, bob = p2wpkh(h20("pool")), p2tr(h32("alice")), p2pkh(h20("bob"))
    b.mine(payouts=[(pool, None)])
    b.mine(payouts=[(pool, None)])
    assert b.balance_sat(pool) == 10_000_000_000 and len(b.coins_of(pool)) == 2
    b.spend(pool, outputs=[(alice, 3_000_000_000)], fee_sat=2_000, change_script=bob)
    child = b.spend(alice, outputs=[(bob, 1_000_000_000)], fee_sat=1_000)  # spends a coin of this block
    block = parse_block(b.mine(payouts=[(pool, None)]))
    assert block.tx_count == 3
    assert block.coinbase_value_sat == 5_000_000_000 + 3_000
    assert b.balance_sat(alice) == 3_000_000_000 - 1_000_000_000 - 1_000
    assert b.balance_sat(bob) == 10_000_000_000 - 3_000_000_000 - 2_000 + 1_000_000_000
    assert block.in_prev_txid[-1] == block.txids[1] == child.inputs[0].prev.txid
    with pytest.raises(UsageError):
        b.spend(alice, outputs=[(bob, 10 ** 10)])
    with pytest.raises(UsageError):
        b.spend([OutPoint(b"\x11" * 32, 0)], outputs=[])


def test_foreign_transaction_is_carried() -> None:
    b = ChainBuilder("regtest")
    b.mine()
    tx = make_tx([TxIn(OutPoint(b"\x22" * 32, 3), b"\x51")], [(p2sh(h20("x")), 5)])
    block = parse_block(b.mine(txs=[tx]))
    assert block.txids[1] == tx.txid and block.in_prev_vout == [3]
    assert block.coinbase_value_sat == 5_000_000_000  # the unknown input pays no fee we can know


def test_fork_shares_history_and_undoes_spends() -> None:
    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    miner, exchange = p2wpkh(h20("miner")), p2wpkh(h20("exchange"))
    for _ in range(3):
        b.mine(payouts=[(miner, None)])
    b.spend([b.coinbase_outpoint(1)], outputs=[(exchange, 4_000_000_000)], fee_sat=1_000)
    b.mine(payouts=[(miner, None)])                      # height 4 holds the sale
    b.mine(payouts=[(miner, None)])
    fork = b.fork(3)
    assert fork.height == 3 and fork.hashes == b.hashes[:4] and fork.blocks == b.blocks[:4]
    assert fork.balance_sat(exchange) == 0 and b.balance_sat(exchange) == 4_000_000_000
    assert fork.balance_sat(miner) == 3 * 5_000_000_000  # the sold coinbase is unspent again
    assert fork.coins_of(miner)[0] == b.coinbase_outpoint(1)
    raw = fork.mine(tag="/other/", payouts=[(miner, None)])
    assert parse_block(raw).header.prev_hash == b.hashes[3] and fork.hashes[4] != b.hashes[4]
    assert b.height == 5  # the original is untouched
    with pytest.raises(UsageError):
        b.fork(6)


def test_mainnet_retarget_matches_hand_computation() -> None:
    # Blocks 1…2015 every 300 s after the genesis block: the period's first block is the genesis
    # (height 0) and its last is 2015, so the measured span is 2,015 × 300 = 604,500 s (the historical
    # off-by-one: 2,015 intervals). New target = 0xffff × 256^26 × 604,500 / 1,209,600, which is
    # 32,751.24 × 256^26: 28 bytes long, so the compact form keeps the top three bytes at exponent
    # 0x1c: ⌊65,535 × 256 × 604,500 / 1,209,600⌋ = ⌊8,384,319.05⌋ = 8,384,319 = 0x7fef3f → 0x1c7fef3f.
    # (2,016 intervals would give exactly half: 0x1c7fff80.)
    b = ChainBuilder("mainnet", spacing_s=300)
    for _ in range(2016):
        b.mine()
    assert b.times[1] - b.times[0] == 300
    assert b.bits[2015] == 0x1D00FFFF and b.bits[2016] == 0x1C7FEF3F
    assert parse_block(b.blocks[2016]).header.bits == 0x1C7FEF3F
    # Next period (block 2016 is its first) every 60 s: 2,015 × 60 = 120,900 s is under 302,400 s
    # (a quarter of two weeks), so the change is clamped to ×1/4: 0x7fef3f × 256^25 / 4 =
    # 2,096,079.75 × 256^25, still 28 bytes: mantissa ⌊2,096,079.75⌋ = 0x1ffbcf → 0x1c1ffbcf.
    for _ in range(2016):
        b.mine(time_s=b.times[-1] + 60)
    assert b.bits[4031] == 0x1C7FEF3F and b.bits[4032] == 0x1C1FFBCF


def test_regtest_never_retargets() -> None:
    b = ChainBuilder("regtest", spacing_s=1)
    for _ in range(2017):
        b.mine()
    assert set(b.bits[1:]) == {0x207FFFFF}


def test_funded_coins_from_outside_the_chain_pay_fees() -> None:
    b = ChainBuilder("regtest")
    wallet, shop = p2wpkh(h20("wallet")), p2tr(h32("shop"))
    op = b.fund(wallet, 1_000_000, "w1")
    assert b.balance_sat(wallet) == 1_000_000 and b.coins_of(wallet) == [op]
    b.spend(wallet, outputs=[(shop, 600_000)], fee_sat=25_000)
    block = parse_block(b.mine())
    # 50 BTC + the 25,000 sat fee; the change (1,000,000 − 600,000 − 25,000) is back in the wallet.
    assert block.coinbase_value_sat == 5_000_025_000
    assert b.balance_sat(wallet) == 375_000 and b.balance_sat(shop) == 600_000
    assert block.in_prev_txid == [op.txid]
    with pytest.raises(UsageError):
        b.fund(wallet, 1, "w1")
