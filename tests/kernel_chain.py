"""A regtest chain validated and stored by Bitcoin Core's own code (py-bitcoinkernel), for tests
of the blk and undo readers against files Core itself wrote.

The chain (built with minerwatch's ChainBuilder, every input really signed, see signing.py):

- height 1 pays, from its coinbase, one output to each kind of script whose undo encoding
  differs: P2PKH, P2SH, compressed P2PK (02 and 03 keys), uncompressed P2PK (even and odd y),
  P2WPKH, P2WSH, P2TR, a short and a long (124-byte) non-standard script; height 2 pays a few more.
  Values run from 0 sat to 1e9 sat, to cross every branch of Core's amount compression;
- heights 3–101 are empty, so the coinbases mature (100 blocks);
- 102 spends the height-1 coinbase outputs in three transactions (one mixes six kinds of input);
- 103 spends outputs of 102, and an output created earlier in 103 itself;
- a race at 104: A104–105 spend more; B104–106 overtakes A (B104 spends the coin A104 spends, so
  their undo records are byte-identical); C104–107 overtakes B (C104 spends another coin in the
  same shape as A104); A106–108 wins. Every block of B and C was the tip once, so its undo record
  stays in the rev file as a stale block's record.

`expected[hash]` is, per non-coinbase transaction, the coins its inputs spend, as the builder
recorded them when the transaction was made: an oracle independent of Core and of the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import pbk

from minerwatch.chain.builder import ChainBuilder, Coin, OutPoint, Tx, p2pk, p2pkh, p2sh, p2wpkh, p2wsh
from minerwatch.chain.txbuild import hash160, push
from signing import Key, Spendable, sign_tx

START_TIME_S = 1_700_000_000
OP_TRUE = b"\x51"
# Spendable without a signature (consensus does not require standard scripts): OP_2 OP_EQUAL,
# unlocked by OP_2; and a 124-byte script (PUSHDATA1 of 120 bytes, OP_DROP, OP_TRUE), whose size
# 124 + 6 = 130 takes a two-byte VARINT in the undo record.
NONSTANDARD = b"\x52\x87"
LONG_NONSTANDARD = b"\x4c\x78" + bytes(range(120)) + b"\x75\x51"


def _key_with(label: str, want: int, compressed: bool) -> Key:
    """The first key from label-0, label-1, … whose y parity (0 even, 1 odd) is `want`."""
    i = 0
    while True:
        k = Key.from_label(f"{label}-{i}")
        if k.point[1] & 1 == want:
            return k
        i += 1


@dataclass
class KernelChain:
    datadir: Path
    chainman: pbk.ChainstateManager
    builder: ChainBuilder                       # branch A, the chain Core ends on
    stale: list[bytes]                          # hashes of branches B (104–106) and C (104–107)
    expected: dict[bytes, list[list[Coin]]] = field(default_factory=dict)
    raw: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def blocks_dir(self) -> Path:
        return self.datadir / "blocks"

    def core_spent_outputs(self, block_hash: bytes) -> list[list[Coin]]:
        """What Core's own undo reader decodes for a block: the oracle from Core's code."""
        entry = self.chainman.block_tree_entries[pbk.BlockHash(block_hash)]
        undo = self.chainman.block_spent_outputs[entry]
        return [[Coin(c.output.amount, bytes(c.output.script_pubkey), c.confirmation_height, c.is_coinbase)
                 for c in tx.coins] for tx in undo.transactions]

    def active_hashes(self) -> list[bytes]:
        """Core's active chain, height 0 up."""
        chain = self.chainman.get_active_chain()
        return [bytes(chain.block_tree_entries[h].block_hash) for h in range(chain.height + 1)]


class _Chain:
    """Feeds the builder's blocks to Core and records, per transaction, the coins it spends."""

    def __init__(self, kc: KernelChain, b: ChainBuilder) -> None:
        self.kc, self.b = kc, b
        self.pending: list[list[Coin]] = []

    def tx(self, coins: list[Spendable], outputs: list[tuple[bytes, int]]) -> Tx:
        tx = sign_tx(coins, outputs)
        self.pending.append([self.b.utxos[i.prev] for i in tx.inputs])
        self.b.add_tx(tx)
        return tx

    def mine(self, tag: str, payouts: list[tuple[bytes, int | None]] | None = None, tip: bool = True) -> bytes:
        raw = self.b.mine(tag=tag, payouts=payouts)
        h = self.b.tip_hash
        self.kc.expected[h], self.pending = self.pending, []
        self.kc.raw[h] = raw
        self.kc.chainman.process_block(pbk.Block(raw))
        got = bytes(self.kc.chainman.get_active_chain().block_tree_entries[-1].block_hash)
        if tip:
            assert got == h, f"Core did not take block {self.b.height} as its tip"
        return h

    def coin(self, op: OutPoint, kind: str, key: Key | None = None,
             unlock: tuple[bytes, tuple[bytes, ...]] = (b"", ())) -> Spendable:
        c = self.b.utxos[op]
        return Spendable(op, c.value_sat, c.script, kind, key, unlock)


def build(datadir: Path) -> KernelChain:
    """Build the chain described above into a new Core datadir; Core stays open (as a running node)."""
    chainman = pbk.load_chainman(datadir, pbk.ChainType.REGTEST)
    b = ChainBuilder("regtest", start_time_s=START_TIME_S)
    kc = KernelChain(datadir, chainman, b, [])
    a = _Chain(kc, b)

    k_pkh, k_wpkh, k_tr = Key.from_label("pkh"), Key.from_label("wpkh"), Key.from_label("tr")
    k_pk02, k_pk03 = _key_with("pk33", 0, True), _key_with("pk33", 1, True)
    k_pk04e, k_pk04o = _key_with("pk65", 0, False), _key_with("pk65", 1, False)
    tr_out, _ = k_tr.taproot_output_key()
    scripts = {
        "p2pkh": p2pkh(hash160(k_pkh.compressed)),
        "p2sh": p2sh(hash160(OP_TRUE)),
        "pk02": p2pk(k_pk02.compressed),
        "pk03": p2pk(k_pk03.compressed),
        "pk04e": p2pk(k_pk04e.uncompressed),
        "pk04o": p2pk(k_pk04o.uncompressed),
        "p2wpkh": p2wpkh(hash160(k_wpkh.compressed)),
        "p2wsh": p2wsh(sha256(OP_TRUE).digest()),
        "p2tr": b"\x51\x20" + tr_out,
        "nonstd": NONSTANDARD,
        "longnonstd": LONG_NONSTANDARD,
    }
    values = {"p2pkh": 1_000_000_000, "p2sh": 123_456_789, "pk02": 1, "pk03": 100_000_000,
              "pk04e": 2_100_000, "pk04o": 99_999_999, "p2wpkh": 500_000_000, "p2wsh": 10_000,
              "p2tr": 777_777_777, "nonstd": 0, "longnonstd": 50_000}
    kinds = {"p2pkh": "p2pkh", "pk02": "p2pk", "pk03": "p2pk", "pk04e": "p2pk65", "pk04o": "p2pk65",
             "p2wpkh": "p2wpkh", "p2tr": "p2tr"}
    keys = {"p2pkh": k_pkh, "pk02": k_pk02, "pk03": k_pk03, "pk04e": k_pk04e, "pk04o": k_pk04o,
            "p2wpkh": k_wpkh, "p2tr": k_tr}
    unlocks = {"p2sh": (push(OP_TRUE), ()), "p2wsh": (b"", (OP_TRUE,)), "nonstd": (b"\x52", ()),
               "longnonstd": (b"", ())}
    names = list(scripts)
    paid = names + ["p2wpkh"]            # the coinbase's last output takes the rest of the reward

    def spendable(chain: _Chain, op: OutPoint, name: str) -> Spendable:
        if name in kinds:
            return chain.coin(op, kinds[name], keys[name])
        return chain.coin(op, "raw", unlock=unlocks[name])

    a.mine("/h1/", [(scripts[n], values[n]) for n in names] + [(scripts["p2wpkh"], None)])
    a.mine("/h2/", [(scripts["p2tr"], 1_234), (scripts["p2pkh"], None)])
    for h in range(3, 102):
        a.mine(f"/h{h}/")
    cb1 = [b.coinbase_outpoint(1, v) for v in range(len(paid))]

    # 102: one transaction mixing six kinds of input (taproot's signature hash covers them all),
    # then two more.
    mixed = [0, 1, 2, 6, 8, 9]
    t1 = a.tx([spendable(a, cb1[i], paid[i]) for i in mixed],
              [(scripts["p2wpkh"], 900_000_000), (scripts["pk04o"], 50_000_000), (scripts["p2sh"], 12_345)])
    t2 = a.tx([spendable(a, cb1[i], paid[i]) for i in (3, 4, 5)],
              [(scripts["p2tr"], 150_000_000), (scripts["longnonstd"], 1_000)])
    a.tx([spendable(a, cb1[i], paid[i]) for i in (7, 10, 11)],
         [(scripts["nonstd"], 8_000), (scripts["pk02"], 2_000_000_000)])
    a.mine("/h102/")

    # 103: spends 102's outputs, and then an output created in 103 itself.
    t4 = a.tx([spendable(a, t1.outpoint(1), "pk04o"), spendable(a, t2.outpoint(0), "p2tr")],
              [(scripts["pk03"], 199_990_000)])
    a.tx([spendable(a, t4.outpoint(0), "pk03"), spendable(a, t1.outpoint(2), "p2sh")],
         [(scripts["p2pkh"], 199_900_000)])
    a.mine("/h103/")

    # The race at 104: three children of 103. B spends the coin A spends (their undo records are
    # byte-identical); C spends another coin in the same shape. Each branch is the tip once.
    bb, cc = _Chain(kc, b.fork(103)), _Chain(kc, b.fork(103))
    a.tx([spendable(a, t1.outpoint(0), "p2wpkh")], [(scripts["p2tr"], 899_000_000)])
    a.mine("/A104/")
    a.tx([spendable(a, t2.outpoint(1), "longnonstd")], [(scripts["nonstd"], 900)])
    a.mine("/A105/")

    bb.tx([spendable(bb, t1.outpoint(0), "p2wpkh")], [(scripts["pk02"], 800_000_000)])
    kc.stale.append(bb.mine("/B104/", tip=False))
    bb.tx([spendable(bb, t2.outpoint(1), "longnonstd"), spendable(bb, bb.b.coinbase_outpoint(2, 1), "p2pkh")],
          [(scripts["p2sh"], 799_000_000)])
    kc.stale.append(bb.mine("/B105/", tip=False))
    kc.stale.append(bb.mine("/B106/"))                  # B has more work: Core switches to it

    cc.tx([spendable(cc, t2.outpoint(1), "longnonstd")], [(scripts["p2wsh"], 950)])
    kc.stale.append(cc.mine("/C104/", tip=False))
    for h in (105, 106):
        kc.stale.append(cc.mine(f"/C{h}/", tip=False))
    kc.stale.append(cc.mine("/C107/"))                  # C has more work: Core switches to it

    for h in (106, 107):
        a.mine(f"/A{h}/", tip=False)
    a.mine("/A108/")                                     # A has the most work: Core switches back
    return kc
