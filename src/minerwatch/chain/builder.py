"""A synthetic chain builder for tests, benchmarks and the demo: blocks whose every answer is known.

    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    b.mine(tag="/PoolA/", payouts=[(p2wpkh(h20("pool-a")), None)])   # None: the rest of the reward
    tx = b.spend(p2wpkh(h20("pool-a")), outputs=[(p2wpkh(h20("alice")), 10_000)], fee_sat=500)
    raw = b.mine(tag="/PoolB/")                                      # holds `tx`
    branch = b.fork(1)                                               # continues from height 1

Every block parses with minerwatch.chain.block.parse_block; regtest blocks meet their proof of work.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from minerwatch.chain.blockbuild import DEFAULT_VERSION, assemble_block, coinbase_tx, genesis_block
from minerwatch.chain.txbuild import (  # re-exported: one import for the whole builder vocabulary
    OutPoint, Tx, TxIn, TxOut, dummy_unlock, h20, h32, hash160, key, key65, make_tx, multisig, op_return,
    p2pk, p2pkh, p2sh, p2tr, p2wpkh, p2wsh,
)
from minerwatch.consensus import BLOCK_INTERVAL_S, RETARGET_INTERVAL_BLOCKS, next_target, subsidy_sat
from minerwatch.errors import UsageError
from minerwatch.networks import Network, get_network

DEFAULT_PAYOUT_SCRIPT = p2wpkh(h20("coinbase"))


class Coin(NamedTuple):  # a named tuple for speed: one per output of the chain (see TxIn)
    value_sat: int
    script: bytes
    height: int        # height of the block that created it
    is_coinbase: bool


def block_subsidy_sat(network: Network, height: int) -> int:
    """The subsidy the network allows at `height` (regtest halves every 150 blocks)."""
    return subsidy_sat(height, network.halving_interval_blocks, network.initial_subsidy_sat)


class ChainBuilder:
    """Builds a chain from the network's genesis block, keeping the raw blocks and a UTXO view."""

    def __init__(
        self,
        network: Network | str = "regtest",
        start_time_s: int | None = None,
        spacing_s: int = BLOCK_INTERVAL_S,
        bits: int | None = None,
    ) -> None:
        self.network = get_network(network) if isinstance(network, str) else network
        genesis = genesis_block(self.network)
        self.spacing_s = spacing_s
        self.blocks: list[bytes] = [genesis.raw]
        self.hashes: list[bytes] = [genesis.hash]           # internal byte order
        self.times: list[int] = [genesis.time_s]
        self.bits: list[int] = [genesis.bits]
        self.txids: list[list[bytes]] = [[genesis.txs[0].txid]]
        # The genesis output is not in the UTXO set (Core never added it), so it is not here either.
        self.utxos: dict[OutPoint, Coin] = {}
        # script → its unspent outpoints in creation order (a dict used as an ordered set), so that
        # "coins of a script" costs its own coins, not a scan of every coin (the demo holds ~10^5).
        self._by_script: dict[bytes, dict[OutPoint, None]] = {}
        self._funded: set[str] = set()
        # Coins from outside the chain (fund), which writing the chain's undo data must be told of.
        self.funded_coins: dict[OutPoint, Coin] = {}
        self._start_time_s = start_time_s if start_time_s is not None else genesis.time_s + spacing_s
        self._start_bits = bits
        self._undo: list[tuple[list[tuple[OutPoint, Coin]], list[OutPoint]]] = [([], [])]
        self._pending: list[Tx] = []
        self._pending_fee_sat = 0
        self._pending_spent: list[tuple[OutPoint, Coin]] = []
        self._pending_created: list[OutPoint] = []
        self._forgotten_below = 0

    # --- the chain so far --------------------------------------------------------------------

    @property
    def height(self) -> int:
        """Height of the tip."""
        return len(self.blocks) - 1

    @property
    def tip_hash(self) -> bytes:
        return self.hashes[-1]

    def next_bits(self) -> int:
        """Bits of the next block: fixed where the network does not retarget, else retargeted every 2,016."""
        h = self.height + 1
        if h == 1:
            return self._start_bits if self._start_bits is not None else self.bits[0]
        prev = self.bits[-1]
        if not self.network.retargets or h % RETARGET_INTERVAL_BLOCKS:
            return prev
        # first and last block of the period that ends at h − 1 (2,015 intervals, as Core measures)
        first, last = self.times[h - RETARGET_INTERVAL_BLOCKS], self.times[h - 1]
        return next_target(prev, first, last, self.network.pow_limit_bits)

    def reward_sat(self) -> int:
        """What the next coinbase may claim: subsidy plus the fees of the transactions waiting for it."""
        return block_subsidy_sat(self.network, self.height + 1) + self._pending_fee_sat

    def coins_of(self, script: bytes) -> list[OutPoint]:
        """Unspent outputs paying `script`, oldest first."""
        return list(self._by_script.get(script, ()))

    def balance_sat(self, script: bytes) -> int:
        """Sum of the unspent outputs paying `script`."""
        return sum(self.utxos[op].value_sat for op in self._by_script.get(script, ()))

    def fund(self, script: bytes, value_sat: int, label: str) -> OutPoint:
        """Register a coin from outside the constructed chain (its outpoint is in no block), for
        economies older than the chain; spends of it count fees like any coin of the chain. A funded
        coin belongs to no block, so forks taken later keep it too."""
        op = OutPoint(h32(f"funding:{label}"), 0)
        if label in self._funded:
            raise UsageError(f"coin {label!r} was funded already", "give every funding a new label")
        self._funded.add(label)
        self.funded_coins[op] = Coin(value_sat, script, 0, False)
        self._put(op, self.funded_coins[op])
        return op

    def _put(self, op: OutPoint, coin: Coin) -> None:
        self.utxos[op] = coin
        self._by_script.setdefault(coin.script, {})[op] = None

    def _take(self, op: OutPoint) -> Coin | None:
        coin = self.utxos.pop(op, None)
        if coin is not None:
            ops = self._by_script[coin.script]
            del ops[op]
            if not ops:
                del self._by_script[coin.script]
        return coin

    # --- transactions for the next block -----------------------------------------------------

    def spend(
        self,
        coins: bytes | Sequence[OutPoint],
        outputs: Sequence[tuple[bytes, int]],
        fee_sat: int = 0,
        change_script: bytes | None = None,
    ) -> Tx:
        """A transaction spending `coins` (outpoints, or every coin of a script) to `outputs`
        [(script, value_sat)] with `fee_sat`; what is left goes to `change_script` (default: the
        first coin's script). It goes into the next mined block."""
        outpoints = self.coins_of(coins) if isinstance(coins, bytes) else list(coins)
        if not outpoints:
            raise UsageError("nothing to spend", "mine a block paying that script first")
        missing = [op for op in outpoints if op not in self.utxos]
        if missing:
            raise UsageError(f"{len(missing)} outpoint(s) are not unspent in this chain",
                             "spend outputs of this builder's blocks that are still unspent")
        spent = [self.utxos[op] for op in outpoints]
        change = sum(c.value_sat for c in spent) - sum(v for _, v in outputs) - fee_sat
        if change < 0 or fee_sat < 0:
            raise UsageError(f"inputs fall {-change} sat short of outputs plus fee",
                             "spend more coins or send less")
        outs = list(outputs)
        if change:
            outs.append((change_script if change_script is not None else spent[0].script, change))
        inputs = [TxIn(op, *dummy_unlock(c.script)) for op, c in zip(outpoints, spent)]
        tx = make_tx(inputs, outs)
        self._accept(tx)
        return tx

    def add_tx(self, tx: Tx) -> None:
        """Queue a transaction built elsewhere for the next block. Its fee counts when all its inputs
        are coins of this chain; inputs from outside the chain are allowed and count as zero."""
        self._accept(tx)

    def _accept(self, tx: Tx) -> None:
        in_sat, known = 0, True
        for i in tx.inputs:
            coin = self._take(i.prev)
            if coin is None:
                known = False
                continue
            in_sat += coin.value_sat
            self._pending_spent.append((i.prev, coin))
        if known:
            self._pending_fee_sat += in_sat - sum(o.value_sat for o in tx.outputs)
        self._add_outputs(tx, self.height + 1, False, self._pending_created)
        self._pending.append(tx)

    def _add_outputs(self, tx: Tx, height: int, is_coinbase: bool, created: list[OutPoint]) -> None:
        for vout, o in enumerate(tx.outputs):
            if o.script[:1] == b"\x6a":  # OP_RETURN outputs are unspendable: never coins
                continue
            op = OutPoint(tx.txid, vout)
            self._put(op, Coin(o.value_sat, o.script, height, is_coinbase))
            created.append(op)

    # --- blocks ------------------------------------------------------------------------------

    def mine(
        self,
        tag: str | bytes = "/minerwatch/",
        payouts: Sequence[tuple[bytes, int | None]] | None = None,
        txs: Sequence[Tx] = (),
        time_s: int | None = None,
        version: int = DEFAULT_VERSION,
        extra_nonce: bytes = b"",
    ) -> bytes:
        """Mine the next block; returns its raw bytes.

        payouts: coinbase outputs [(script, value_sat)]; a value of None takes what is left of
        subsidy + fees (at most one). The values may add up to less than allowed (unclaimed reward).
        Default: everything to DEFAULT_PAYOUT_SCRIPT. txs: extra transactions after the queued ones.
        time_s: default previous time + spacing (the first block: start_time_s).
        """
        for tx in txs:
            self._accept(tx)
        height = self.height + 1
        reward = self.reward_sat()
        plan = list(payouts) if payouts is not None else [(DEFAULT_PAYOUT_SCRIPT, None)]
        if sum(v is None for _, v in plan) > 1:
            raise UsageError("more than one payout takes the rest", "give every payout but one a value")
        rest = reward - sum(v for _, v in plan if v is not None)
        resolved = [(s, rest if v is None else v) for s, v in plan]
        segwit = [t.wtxid for t in self._pending] if any(t.is_segwit for t in self._pending) else None
        cb = coinbase_tx(height, tag.encode() if isinstance(tag, str) else tag, resolved, segwit, extra_nonce)
        if time_s is None:
            time_s = self._start_time_s if height == 1 else self.times[-1] + self.spacing_s
        built = assemble_block([cb, *self._pending], self.tip_hash, time_s, self.next_bits(), version)
        created: list[OutPoint] = []
        self._add_outputs(cb, height, True, created)
        self.blocks.append(built.raw)
        self.hashes.append(built.hash)
        self.times.append(time_s)
        self.bits.append(built.bits)
        self.txids.append([t.txid for t in built.txs])
        self._undo.append((self._pending_spent, self._pending_created + created))
        self._pending, self._pending_fee_sat, self._pending_spent, self._pending_created = [], 0, [], []
        return built.raw

    def forget_below(self, height: int) -> None:
        """Drop the raw blocks, txids and undo records of heights below `height` (a long chain written
        to disk as it is mined: ~925,000 blocks would otherwise stay in memory). Forks, coinbase
        outpoints and `blocks` are then only good from `height` on; hashes, times and bits stay."""
        for h in range(self._forgotten_below, min(height, len(self.blocks))):
            self.blocks[h] = b""
            self.txids[h] = []
            self._undo[h] = ([], [])
        self._forgotten_below = max(self._forgotten_below, min(height, len(self.blocks)))

    def coinbase_outpoint(self, height: int, vout: int = 0) -> OutPoint:
        """The outpoint of output `vout` of the coinbase at `height`."""
        return OutPoint(self.txids[height][0], vout)

    def fork(self, at_height: int) -> ChainBuilder:
        """A new builder whose chain is this one's up to and including `at_height` (for reorg tests).
        Transactions queued here are not carried over."""
        if not self._forgotten_below <= at_height <= self.height:
            raise UsageError(f"cannot fork at {at_height}",
                             f"choose a height from {self._forgotten_below} to {self.height}")
        other = ChainBuilder.__new__(ChainBuilder)
        other.network, other.spacing_s = self.network, self.spacing_s
        other._start_time_s, other._start_bits = self._start_time_s, self._start_bits
        other._funded = set(self._funded)
        other.funded_coins = dict(self.funded_coins)
        keep = at_height + 1
        other.blocks, other.hashes = self.blocks[:keep], self.hashes[:keep]
        other.times, other.bits, other.txids = self.times[:keep], self.bits[:keep], self.txids[:keep]
        other._undo = self._undo[:keep]
        other._forgotten_below = self._forgotten_below
        utxos = dict(self.utxos)
        undo_tail = self._undo[keep:] + [(self._pending_spent, self._pending_created)]
        for spent, created in reversed(undo_tail):
            for op in created:
                del utxos[op]
            for op, coin in spent:
                utxos[op] = coin
        # Restored coins return at the end of the dict; reorder oldest first so coins_of stays stable.
        other.utxos, other._by_script = {}, {}
        for op, coin in sorted(utxos.items(), key=lambda kv: kv[1].height):
            other._put(op, coin)
        other._pending, other._pending_fee_sat, other._pending_spent, other._pending_created = [], 0, [], []
        return other


__all__ = [
    "ChainBuilder", "Coin", "DEFAULT_PAYOUT_SCRIPT", "OutPoint", "Tx", "TxIn", "TxOut", "block_subsidy_sat",
    "h20", "h32", "hash160", "key", "key65", "make_tx", "multisig", "op_return", "p2pk", "p2pkh", "p2sh",
    "p2tr", "p2wpkh", "p2wsh",
]
