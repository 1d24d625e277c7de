"""Chains of bare 80-byte headers: read them, and check that they link and meet their proof of work.

A header chain is what `sync --headers-file` loads and what `sync --rpc` takes from the node before
any block: everything the header-only series need (time, bits, chainwork). The checks are Bitcoin
Core's for a header: the hash meets the target its bits state (consensus.meets_proof_of_work), it
builds on the header before it, and on mainnet its bits follow the retarget rule
(consensus.next_target) wherever the epoch's first header is at hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from struct import Struct

from minerwatch.chain.block import HEADER_SIZE, hash_hex
from minerwatch.consensus import (
    RETARGET_INTERVAL_BLOCKS,
    difficulty_from_bits,
    meets_proof_of_work,
    next_target,
    subsidy_sat,
    work_from_bits,
)
from minerwatch.errors import MinerwatchError
from minerwatch.networks import Network

_FIELDS = Struct("<i32s32sIII")


@dataclass(frozen=True, slots=True)
class HeaderRow:
    """One header as stored: hashes in display order, chainwork up to and including it."""

    height: int
    hash: str
    prev_hash: str
    time_s: int
    version: int
    bits: int
    difficulty: float
    chainwork: int
    subsidy_sat: int


@dataclass(frozen=True, slots=True)
class Parent:
    """The stored header a chain builds on (the one just below its first height)."""

    height: int
    hash: str
    bits: int
    time_s: int
    chainwork: int


class HeaderChainError(MinerwatchError):
    """Headers that do not link, fail their proof of work, or break the retarget rule."""


# (height) → header time, for the retarget rule's look back to an epoch's first header when that
# header is stored rather than in the chain at hand; None when it is not known.
TimeAt = Callable[[int], int | None]


def header_rows(data: bytes, first_height: int, network: Network, parent: Parent | None,
                time_at: TimeAt = lambda _: None, source: str = "the headers") -> list[HeaderRow]:
    """Rows of the consecutive 80-byte headers in `data`, the first at `first_height`, checked.

    `parent` is the stored header at `first_height − 1` (None: the chain starts there, at genesis
    or, for a file that starts above it, at the height the user gave). HeaderChainError names the
    height and what is wrong.
    """
    if len(data) % HEADER_SIZE:
        raise HeaderChainError(
            f"{source} hold {len(data):,} bytes, not a whole number of 80-byte headers "
            f"({len(data) // HEADER_SIZE:,} headers and {len(data) % HEADER_SIZE} bytes over)",
            "give raw 80-byte headers back to back in height order (the file is cut short or not headers)")
    pow_limit = network.pow_limit_bits
    check_pow = not network.simulated
    rule = network.name == "mainnet"
    if parent is not None:
        prev_hash, prev_bits, chainwork = parent.hash, parent.bits, parent.chainwork
    else:
        prev_hash, prev_bits = None, None
        # The genesis' work and that of every header below a chain that starts higher: each is
        # mined at least at the pow limit. Only differences of chainwork are ever read.
        chainwork = first_height * work_from_bits(pow_limit)
    times: dict[int, int] = {}
    work_of: dict[int, int] = {}
    rows: list[HeaderRow] = []
    unpack = _FIELDS.unpack_from
    halving = network.halving_interval_blocks
    for i in range(len(data) // HEADER_SIZE):
        height = first_height + i
        raw = data[i * HEADER_SIZE:(i + 1) * HEADER_SIZE]
        version, prev, _, time_s, bits, _ = unpack(raw)
        digest = sha256(sha256(raw).digest()).digest()
        h = hash_hex(digest)
        prev_hex = hash_hex(prev)
        if height == 0 and h != network.genesis_hash:
            raise HeaderChainError(f"{source}: the first header is {h}, not {network.name}'s genesis block "
                                   f"{network.genesis_hash}",
                                   f"if the file starts above genesis, give its first height with --first-height; "
                                   f"otherwise check --network")
        if prev_hash is not None and prev_hex != prev_hash:
            raise HeaderChainError(
                f"{source}: the header at height {height:,} ({h}) does not build on the one at height "
                f"{height - 1:,} ({prev_hash}): its parent is {prev_hex}",
                "the headers must be consecutive, in height order, of one chain; "
                "check --first-height and that the file is not cut or reordered")
        if check_pow and not meets_proof_of_work(digest, bits, pow_limit):
            raise HeaderChainError(f"{source}: the header at height {height:,} ({h}) does not meet the proof "
                                   f"of work its bits {bits:#010x} state",
                                   "the file is damaged or not of this network (check --network)")
        if rule and prev_bits is not None:
            _check_retarget(height, h, bits, prev_bits, time_s, times, time_at, pow_limit, source)
        w = work_of.get(bits)
        if w is None:
            w = work_of[bits] = work_from_bits(bits)
        chainwork += w
        rows.append(HeaderRow(height, h, prev_hex, time_s, version, bits, difficulty_from_bits(bits), chainwork,
                              subsidy_sat(height, halving, network.initial_subsidy_sat)))
        if height % RETARGET_INTERVAL_BLOCKS in (0, RETARGET_INTERVAL_BLOCKS - 1):
            times[height] = time_s
        prev_hash, prev_bits = h, bits
    return rows


def linked_count(data: bytes, parent_hash: str | None) -> int:
    """How many of the 80-byte headers in `data` chain onto `parent_hash` and each other (all of
    them when `parent_hash` is None and they chain among themselves)."""
    prev = parent_hash
    for i in range(len(data) // HEADER_SIZE):
        raw = data[i * HEADER_SIZE:(i + 1) * HEADER_SIZE]
        if prev is not None and hash_hex(raw[4:36]) != prev:
            return i
        prev = hash_hex(sha256(sha256(raw).digest()).digest())
    return len(data) // HEADER_SIZE


def _check_retarget(height: int, h: str, bits: int, prev_bits: int, time_s: int, times: dict[int, int],
                    time_at: TimeAt, pow_limit: int, source: str) -> None:
    """Mainnet's difficulty rule: an epoch keeps its first header's bits; a retarget height's bits
    are next_target of the epoch before (checked when that epoch's first header is known)."""
    if height % RETARGET_INTERVAL_BLOCKS:
        if bits != prev_bits:
            raise HeaderChainError(
                f"{source}: the bits change at height {height:,} ({prev_bits:#010x} → {bits:#010x}), which is "
                f"not a retarget height (a multiple of {RETARGET_INTERVAL_BLOCKS:,})",
                "if the file starts above genesis, --first-height is probably wrong: give the height of its "
                "first header")
        return
    first = height - RETARGET_INTERVAL_BLOCKS
    first_time = times.get(first)
    if first_time is None:
        first_time = time_at(first)
    last_time = times.get(height - 1)
    if last_time is None:
        last_time = time_at(height - 1)
    if first_time is None or last_time is None:
        return  # the epoch before is not at hand: nothing to check against (as for blk files)
    want = next_target(prev_bits, first_time, last_time, pow_limit)
    if bits != want:
        raise HeaderChainError(
            f"{source}: the header at height {height:,} ({h}) has bits {bits:#010x}; the retarget rule gives "
            f"{want:#010x}",
            "the file is damaged, or --first-height is wrong: give the height of its first header")
