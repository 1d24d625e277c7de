"""Pick the chain out of a blk-file index: the most-work chain from genesis, or the node's own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from minerwatch.chain.blkscan import BlkIndex, BlockRecord
from minerwatch.consensus import RETARGET_INTERVAL_BLOCKS, meets_proof_of_work, next_target, work_from_bits
from minerwatch.errors import MinerwatchError
from minerwatch.networks import Network

_NULL_HASH = bytes(32)


@dataclass(frozen=True, slots=True)
class BestChain:
    """The chosen chain: `records[i]` is the block at height `start_height + i`."""

    records: list[BlockRecord]
    start_height: int
    stale_count: int             # blocks that connect to the chain's root but lost a race
    orphan_count: int            # blocks whose ancestors are not in the files
    duplicate_count: int         # records of a block already seen earlier in the files
    # With the node's canonical hashes: heights it named whose block is not in the files.
    missing_heights: list[int] = field(default_factory=list)
    followed_node: bool = False  # True when the node's canonical hashes chose the chain
    # Blocks whose header fails its proof of work (or, on mainnet, the retarget rule): never chosen,
    # and their descendants count as orphans.
    invalid_count: int = 0

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[BlockRecord]:
        return iter(self.records)

    @property
    def tip_height(self) -> int:
        """Height of the last block (start_height − 1 for an empty chain)."""
        return self.start_height + len(self.records) - 1

    def at(self, height: int) -> BlockRecord:
        """The record at `height`; IndexError outside the chain."""
        i = height - self.start_height
        if not 0 <= i < len(self.records):
            raise IndexError(f"height {height} is outside {self.start_height}…{self.tip_height}")
        return self.records[i]


def best_chain(index: BlkIndex, network: Network, canonical_hashes: dict[int, str] | None = None) -> BestChain:
    """The chain to read, in height order.

    Without `canonical_hashes`: the chain with the most cumulative work that starts at the
    network's genesis block, or at height 1 when the genesis block is not in the files but its
    children are; equal work goes to the tip stored first (Core keeps the block it saw first).
    With `canonical_hashes` (height → display hex, from the node's RPC): those blocks, from the
    lowest height found in the files up to the first height that is missing.
    """
    by_hash: dict[bytes, BlockRecord] = {}
    seq: dict[bytes, int] = {}
    children = _Children()
    invalid: set[bytes] = set()
    check_pow = not network.simulated   # the demo chain is generated without mining
    pow_limit = network.pow_limit_bits
    # The hot loop of a restart (925,000 records): one dict lookup per record in the common case.
    for i, r in enumerate(index.records):
        h = r.hash
        if h in by_hash or h in invalid:
            continue
        if check_pow and not meets_proof_of_work(h, r.bits, pow_limit):
            invalid.add(h)
            continue
        by_hash[h] = r
        seq[h] = i
        children.add(r)
    duplicates = len(index.records) - len(by_hash) - len(invalid)
    genesis = _genesis_hash(network)
    roots = _roots(genesis, by_hash, children)
    rule = RetargetRule(network, by_hash) if network.name == "mainnet" else None
    reachable, best, broke_rule = _walk(roots, children, seq, rule)
    invalid |= broke_rule
    orphans = len(by_hash) - len(reachable) - len(broke_rule)
    if canonical_hashes is not None:
        records, start, missing = _follow(canonical_hashes, by_hash, index)
        on_chain_reachable = sum(1 for r in records if r.hash in reachable)
        return BestChain(records, start, len(reachable) - on_chain_reachable, orphans,
                         duplicates, missing, followed_node=True, invalid_count=len(invalid))
    if best is None:
        raise MinerwatchError(
            f"no block in {index.blocks_dir} connects to the {network.name} genesis block "
            f"({len(by_hash)} blocks read)",
            "the files must hold the chain from its start (a pruned node's do not): "
            "sync from the node with --rpc instead, or check --network",
        )
    tip, tip_height = best
    records = [tip]
    cur = tip
    for _ in range(tip_height - roots[0][1]):
        cur = by_hash[cur.prev_hash]
        records.append(cur)
    records.reverse()
    start = tip_height - len(records) + 1
    return BestChain(records, start, len(reachable) - len(records), orphans, duplicates,
                     invalid_count=len(invalid))


def _genesis_hash(network: Network) -> bytes | None:
    """The genesis hash in internal order; None when the network table has no real hash for it."""
    try:
        h = bytes.fromhex(network.genesis_hash)
    except ValueError:
        return None
    return h[::-1] if len(h) == 32 else None


class _Children:
    """The blocks building on each hash, in file order. Almost every block has one child, kept
    without a list of its own (a list per block is most of the cost of a 925,000-block index)."""

    __slots__ = ("first", "more")

    def __init__(self) -> None:
        self.first: dict[bytes, BlockRecord] = {}
        self.more: dict[bytes, list[BlockRecord]] = {}

    def add(self, r: BlockRecord) -> None:
        p = r.prev_hash
        if p in self.first:
            self.more.setdefault(p, []).append(r)
        else:
            self.first[p] = r

    def of(self, h: bytes) -> list[BlockRecord]:
        first = self.first.get(h)
        if first is None:
            return []
        more = self.more.get(h)
        return [first, *more] if more else [first]


def _roots(genesis: bytes | None, by_hash: dict[bytes, BlockRecord], children: _Children) -> list[tuple[BlockRecord, int]]:
    """Blocks the chain may start from, with their heights."""
    if genesis is None:
        # No known genesis hash: a block building on the null hash is a genesis block.
        return [(r, 0) for r in children.of(_NULL_HASH)]
    if genesis in by_hash:
        return [(by_hash[genesis], 0)]
    return [(r, 1) for r in children.of(genesis)]


class RetargetRule:
    """Mainnet's difficulty rule for a block, given its parent: the parent's bits, except every 2,016
    blocks, where they are retargeted from the period's timespan (consensus.next_target). Testnets
    and signet are left out (testnet's 20-minute rule needs more than the headers at hand)."""

    def __init__(self, network: Network, by_hash: dict[bytes, BlockRecord]) -> None:
        self.pow_limit_bits = network.pow_limit_bits
        self.by_hash = by_hash

    def allows(self, rec: BlockRecord, parent: BlockRecord, height: int) -> bool:
        if height % RETARGET_INTERVAL_BLOCKS:
            return rec.bits == parent.bits
        first = parent
        for _ in range(RETARGET_INTERVAL_BLOCKS - 1):
            first = self.by_hash.get(first.prev_hash)
            if first is None:
                return True   # the period's first block is not in the files: nothing to check against
        return rec.bits == next_target(parent.bits, first.time, parent.time, self.pow_limit_bits)


def _walk(
    roots: list[tuple[BlockRecord, int]], children: _Children, seq: dict[bytes, int], rule: RetargetRule | None,
) -> tuple[set[bytes], tuple[BlockRecord, int] | None, set[bytes]]:
    """Every block reachable from `roots`, the most-work tip with its height (first stored wins
    ties), and the blocks that break the retarget rule (not walked past)."""
    work_of_bits: dict[int, int] = {}
    reachable: set[bytes] = set()
    broke_rule: set[bytes] = set()
    best_work, best_seq = -1, 0
    best: tuple[BlockRecord, int] | None = None
    first, more = children.first, children.more
    # Iterative: the chain is ~930,000 blocks deep, far past Python's recursion limit. A block with
    # one child goes on to it without the stack (almost every block).
    stack: list[tuple[BlockRecord, int, int]] = [(r, h, 0) for r, h in roots]
    while stack:
        rec, height, work = stack.pop()
        while rec is not None:
            h = rec.hash
            if h in reachable:
                break
            reachable.add(h)
            w = work_of_bits.get(rec.bits)
            if w is None:
                w = work_of_bits[rec.bits] = work_from_bits(rec.bits)
            work += w
            s = seq[h]
            if work > best_work or (work == best_work and s < best_seq):
                best_work, best_seq, best = work, s, (rec, height)
            child = first.get(h)
            if child is None:
                break
            siblings = more.get(h)
            height += 1
            if siblings:
                for other in siblings:
                    if rule is not None and not rule.allows(other, rec, height):
                        broke_rule.add(other.hash)
                    else:
                        stack.append((other, height, work))
            if rule is not None and not rule.allows(child, rec, height):
                broke_rule.add(child.hash)
                break
            rec = child
    return reachable, best, broke_rule


def _follow(
    canonical_hashes: dict[int, str], by_hash: dict[bytes, BlockRecord], index: BlkIndex,
) -> tuple[list[BlockRecord], int, list[int]]:
    """The node's chain as far as the files hold it without a gap: (records, start height, missing)."""
    wanted: dict[int, bytes] = {}
    for height, hex_hash in canonical_hashes.items():
        try:
            h = bytes.fromhex(hex_hash)[::-1]
        except ValueError:
            h = b""
        if len(h) != 32:
            raise MinerwatchError(f"canonical hash at height {height} is not 64 hex digits: {hex_hash!r}",
                                  "pass block hashes as the node's RPC prints them")
        wanted[height] = h
    missing = sorted(height for height, h in wanted.items() if h not in by_hash)
    present = sorted(height for height, h in wanted.items() if h in by_hash)
    if not present:
        raise MinerwatchError(
            f"none of the node's {len(wanted)} block hashes is in {index.blocks_dir}",
            "the blocks directory belongs to another node or network; check --blocks-dir and --network",
        )
    start = present[0]
    records: list[BlockRecord] = []
    height = start
    while height in wanted and wanted[height] in by_hash:
        rec = by_hash[wanted[height]]
        if records and rec.prev_hash != records[-1].hash:
            raise MinerwatchError(
                f"the node's block at height {height} does not build on its block at height {height - 1}",
                "the node reorganised while its hashes were read; run again",
            )
        records.append(rec)
        height += 1
    return records, start, missing
