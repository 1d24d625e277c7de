"""A parsed block as the ingest takes it: the facts stored per block, computed from the block alone,
and the columns the cohort tracker reads — packed into a few flat buffers to cross between processes.

What a block's facts need is the block, its height and the network, never an earlier block, so the
parser's worker processes compute them; the ingest is left with what is sequential (median time
past, chainwork, the cohort tracker). A pickled `Block` costs a pickle memo entry and an object per
txid, outpoint, payload and number on both sides; a `PackedBlock` pickles as a dozen buffers, and
the parent rebuilds only the per-row objects the tracker looks at (txids, outpoints, payloads), each
column in one C call (benchmarks/bench_handoff.py has the costs).
"""

from __future__ import annotations

import marshal
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from struct import Struct
from typing import NamedTuple, Protocol, TypeVar

from minerwatch.chain.address import owner_label
from minerwatch.chain.block import Block, coinbase_tag, hash_hex
from minerwatch.chain.script import SCRIPT_TYPE_NAMES, script_id
from minerwatch.consensus import difficulty_from_bits, subsidy_sat, work_from_bits
from minerwatch.networks import Network

# Unsigned 32-bit columns (vouts, transaction indexes): "I" is 4 bytes wherever CPython runs.
_U32 = "I" if array("I").itemsize == 4 else "L"


class Columns(Protocol):
    """The per-row columns the cohort tracker reads (a `Block` has them, and so do `PackedBlock.unpack`'s)."""

    @property
    def tx_count(self) -> int: ...
    @property
    def txids(self) -> Sequence[bytes]: ...
    @property
    def out_tx(self) -> Sequence[int]: ...
    @property
    def out_vout(self) -> Sequence[int]: ...
    @property
    def out_value_sat(self) -> Sequence[int]: ...
    @property
    def out_type(self) -> Sequence[int]: ...
    @property
    def out_payload(self) -> Sequence[bytes]: ...
    @property
    def in_tx(self) -> Sequence[int]: ...
    @property
    def in_prev_txid(self) -> Sequence[bytes]: ...
    @property
    def in_prev_vout(self) -> Sequence[int]: ...


class CoinbaseOutput(NamedTuple):
    """One output of the coinbase, as `coinbase_outputs` stores it."""

    vout: int
    value_sat: int
    script_type: str        # SCRIPT_TYPE_NAMES
    script_id: int
    address: str | None     # owner_label: the address, "pk:<hex>" for a bare key, None for no owner


_T = TypeVar("_T")


def _pickled_as_tuple(cls: type[_T]) -> type[_T]:
    """Pickle a slots dataclass as (class, field values): dataclass's own state functions cost
    ~11 µs per BlockFacts on each side, which a 925,000-block chain would pay ~10 s for in the parent."""
    values = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]
    cls.__reduce__ = lambda self: (cls, values(self))  # type: ignore[method-assign,assignment]
    return cls


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class BlockFacts:
    """What is stored about a block that the block, its height and the network decide alone."""

    height: int
    hash_hex: str           # display order
    prev_hash_hex: str
    time_s: int
    version: int
    bits: int
    difficulty: float
    work: int               # expected hashes, 2^256 / (target + 1): chainwork is their running sum
    size_bytes: int
    weight_wu: int
    tx_count: int
    input_count: int        # non-coinbase inputs
    output_count: int
    segwit_tx_count: int
    p2tr_output_count: int
    coinbase_value_sat: int
    subsidy_sat: int
    fees_sat: int           # what the miner claimed above the subsidy
    unclaimed_sat: int      # subsidy the miner left unclaimed
    coinbase_tag: str
    coinbase_script_hex: str
    coinbase_outputs: tuple[CoinbaseOutput, ...]


@dataclass(frozen=True, slots=True)
class TrackerColumns:
    """The tracker's columns rebuilt from a `PackedBlock`: Python objects where the tracker reads
    every row, the packed arrays where it reads only the rows paid to or spent by the cohorts."""

    tx_count: int
    txids: tuple[bytes, ...]
    out_tx: list[int]
    out_vout: array[int]
    out_value_sat: array[int]
    out_type: bytes
    out_payload: list[bytes]
    in_tx: list[int]
    in_prev_txid: tuple[bytes, ...]
    in_prev_vout: list[int]


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class SpentColumns:
    """What each non-coinbase input of a block spent, from the node's undo data (chain/undo.py): one
    row per input, in the order of the block's `in_tx` column. With them the tracker decides an
    input from the spent script alone, without holding the unspent cohort outputs in memory."""

    value_sat: array[int]
    height: array[int]          # height of the block that created the spent output
    script_type: bytes          # one ScriptType byte per input
    payload: list[bytes]        # classify()'s owner payload of the spent script
    fees_paid_sat: int          # the inputs' values minus the non-coinbase outputs': the true fees

    def packed(self) -> tuple:
        return (self.value_sat, self.height, self.script_type, marshal.dumps(self.payload), self.fees_paid_sat)

    @classmethod
    def unpacked(cls, packed: tuple) -> SpentColumns:
        value_sat, height, script_type, payload, fees = packed
        return cls(value_sat, height, script_type, marshal.loads(payload), fees)


@dataclass(frozen=True, slots=True)
class ParsedBlock:
    """A block ready for the ingest: its facts, the tracker's columns and, where the node keeps undo
    data, what its inputs spent (None: the tracker looks the spends up in its own outputs)."""

    facts: BlockFacts
    columns: Columns
    spent: SpentColumns | None = None

    @property
    def height(self) -> int:
        return self.facts.height

    @property
    def size_bytes(self) -> int:
        return self.facts.size_bytes

    @classmethod
    def of(cls, height: int, block: Block, network: Network) -> ParsedBlock:
        """The facts of `block` at `height`; its own lists serve as the columns."""
        return cls(block_facts(height, block, network), block)

    def packed(self) -> PackedBlock:
        """The columns in flat buffers, for sending to another process."""
        c = self.columns
        return PackedBlock(
            self.facts, c.tx_count, b"".join(c.txids), array(_U32, c.out_tx), array(_U32, c.out_vout),
            array("q", c.out_value_sat), bytes(c.out_type), marshal.dumps(list(c.out_payload)),
            array(_U32, c.in_tx), b"".join(c.in_prev_txid), array(_U32, c.in_prev_vout),
            None if self.spent is None else self.spent.packed(),
        )


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class PackedBlock:
    """A `ParsedBlock` whose columns are flat buffers: hashes as 32-byte runs, numbers as arrays,
    the output payloads concatenated with their lengths beside them."""

    facts: BlockFacts
    tx_count: int
    txids: bytes              # 32 bytes per transaction, internal order
    out_tx: array[int]
    out_vout: array[int]
    out_value_sat: array[int]
    out_type: bytes           # one ScriptType byte per output
    # The list of every output's payload in marshal's format: the two processes run the same
    # interpreter, and on 200 MB of blocks (~1 million payloads) it writes and reads them in
    # 0.1 CPU-s where concatenating them beside a struct format of their lengths took 0.27.
    out_payload: bytes
    in_tx: array[int]
    in_prev_txid: bytes       # 32 bytes per non-coinbase input
    in_prev_vout: array[int]
    spent: tuple | None = None    # SpentColumns.packed()

    def unpack(self) -> ParsedBlock:
        """The `ParsedBlock` again, with the per-row objects the tracker needs rebuilt."""
        columns = TrackerColumns(
            self.tx_count, _split32(self.txids), self.out_tx.tolist(), self.out_vout, self.out_value_sat,
            self.out_type, marshal.loads(self.out_payload), self.in_tx.tolist(),
            _split32(self.in_prev_txid), self.in_prev_vout.tolist(),
        )
        return ParsedBlock(self.facts, columns, None if self.spent is None else SpentColumns.unpacked(self.spent))


def _split32(data: bytes) -> tuple[bytes, ...]:
    # One struct call makes every 32-byte piece in C: ~3× faster than slicing in a comprehension.
    # A Struct of its own, not struct.unpack: its cache would keep 100 such formats of ~100 kB.
    return Struct("32s" * (len(data) >> 5)).unpack(data)


def block_facts(height: int, block: Block, network: Network) -> BlockFacts:
    """The facts of `block` stored at `height` on `network`."""
    h = block.header
    cb_value = block.coinbase_value_sat
    subsidy = subsidy_sat(height, network.halving_interval_blocks, network.initial_subsidy_sat)
    coinbase_outputs = []
    names = SCRIPT_TYPE_NAMES
    for k, t in enumerate(block.out_tx):
        if t:
            break
        stype, payload = block.out_type[k], block.out_payload[k]
        coinbase_outputs.append(CoinbaseOutput(block.out_vout[k], block.out_value_sat[k], names[stype],
                                               script_id(stype, payload), owner_label(stype, payload, network)))
    return BlockFacts(
        height, hash_hex(h.hash), hash_hex(h.prev_hash), h.time, h.version, h.bits, difficulty_from_bits(h.bits),
        work_from_bits(h.bits), block.size_bytes, block.weight, block.tx_count, len(block.in_tx), len(block.out_tx),
        block.segwit_tx_count, block.p2tr_output_count, cb_value, subsidy, max(cb_value - subsidy, 0),
        max(subsidy - cb_value, 0), coinbase_tag(block.coinbase_script), block.coinbase_script.hex(),
        tuple(coinbase_outputs),
    )
