"""Shape checks for what a node answers over JSON-RPC: every value the client uses is checked for
type and range here, so a wrong answer is a NodeError naming the method and what was wrong, never a
Python exception from deep inside a sync.

A node is trusted for nothing it can get wrong cheaply: `int("١٢")` is 12 and `bytes.fromhex`
skips spaces, so neither is used on an answer before its characters are checked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from minerwatch.errors import NodeError

# Bitcoin Core keeps heights in a signed 32-bit int (CBlockIndex::nHeight).
MAX_HEIGHT = 2**31 - 1
# MAX_BLOCK_SERIALIZED_SIZE in Bitcoin Core's consensus/consensus.h.
MAX_BLOCK_BYTES = 4_000_000
# An 80-byte header and at least a one-byte transaction count.
MIN_BLOCK_BYTES = 81
HASH_RE = re.compile(r"[0-9a-f]{64}")
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# How much of a wrong value a message shows: enough to recognise it, never a 4 MB block.
SHOWN_CHARS = 60

HINT = ("check that --rpc points at a Bitcoin node's JSON-RPC port (bitcoind, or a node that answers "
        "as it does), not a proxy or another service; a node that answers so is damaged or incompatible")


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """The parts of getblockchaininfo minerwatch uses."""

    chain: str
    blocks: int
    headers: int
    best_block_hash: str
    initial_block_download: bool
    verification_progress: float
    # A pruned node keeps the blocks from prune_height on (Bitcoin Core's "lowest-height complete
    # block stored"; bcoin says one lower than it keeps); every header it still has.
    pruned: bool = False
    prune_height: int | None = None

    @property
    def synced(self) -> bool:
        return not self.initial_block_download and self.headers <= self.blocks


@dataclass(frozen=True, slots=True)
class ChainHeader:
    """The parts of getblockheader that reorg detection needs (hashes in display order)."""

    hash: str
    height: int
    prev_hash: str | None    # None for the genesis block
    time: int
    confirmations: int       # -1 when the block is not in the node's best chain (Bitcoin Core)


def shown(value: object) -> str:
    """A short, printable description of a JSON value: its kind, and its start when it is text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # ascii(): control characters and other scripts' digits are shown escaped, not rendered.
        text = ascii(value[:SHOWN_CHARS])[1:-1]
        more = f"… ({len(value):,} characters)" if len(value) > SHOWN_CHARS else ""
        return f'the string "{text}{more}"'
    if isinstance(value, int):
        # str() of an int over 4,300 digits raises ValueError: describe a huge one by its size.
        return f"the number {value}" if abs(value) < 10**30 else f"a number of {value.bit_length():,} bits"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__


class Answer:
    """Checks on one method's answer from the node at `where`."""

    def __init__(self, where: str, method: str) -> None:
        self.where = where
        self.method = method

    def wrong(self, what: str) -> NodeError:
        """The error for an answer that is not what the method returns."""
        return NodeError(f"the node at {self.where} answered {self.method} with {what}", HINT)

    def obj(self, value: object) -> dict:
        if not isinstance(value, dict):
            raise self.wrong(f"{shown(value)}, not an object")
        return value

    def field(self, obj: dict, key: str) -> object:
        if key not in obj:
            raise self.wrong(f'an object without "{key}"')
        return obj[key]

    def integer(self, value: object, low: int, high: int, what: str, key: str = "") -> int:
        # bool is an int in Python, and JSON's true is no height.
        where = f'"{key}" ' if key else ""
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.wrong(f"{where}{shown(value)}, not {what}")
        if not low <= value <= high:
            raise self.wrong(f"{where}{shown(value)}, out of the range of {what} ({low:,} to {high:,})")
        return value

    def height(self, value: object, key: str = "") -> int:
        return self.integer(value, 0, MAX_HEIGHT, "a block height", key)

    def block_hash(self, value: object, key: str = "") -> str:
        where = f'"{key}" ' if key else ""
        if not isinstance(value, str) or not HASH_RE.fullmatch(value):
            raise self.wrong(f"{where}{shown(value)}, not a block hash (64 lowercase hex digits)")
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.wrong(f'"{key}" {shown(value)}, not a name')
        return value

    def flag(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.wrong(f'"{key}" {shown(value)}, not true or false')
        return value

    def fraction(self, value: object, key: str) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.wrong(f'"{key}" {shown(value)}, not a number')
        try:
            number = float(value)
        except OverflowError:   # an int beyond float's range
            number = math.inf
        if not math.isfinite(number):
            raise self.wrong(f'"{key}" {shown(value)}, not a finite number')
        return number

    def raw_block(self, value: object) -> bytes:
        if not isinstance(value, str):
            raise self.wrong(f"{shown(value)}, not a block in hex")
        if not MIN_BLOCK_BYTES * 2 <= len(value) <= MAX_BLOCK_BYTES * 2 or len(value) % 2:
            raise self.wrong(f"{len(value):,} hex digits, not a block in hex "
                             f"({MIN_BLOCK_BYTES} to {MAX_BLOCK_BYTES:,} bytes)")
        try:
            # 16 ms for a 4 MB block's hex, where a regular expression takes 40 ms.
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        # fromhex skips ASCII whitespace, so a length that does not match is a character it skipped.
        if len(raw) * 2 != len(value):
            bad = next(c for c in value if c not in HEX_DIGITS)
            raise self.wrong(f"the character {ascii(bad)}, not a hex digit, in the block's hex")
        return raw


    def raw_header(self, value: object) -> bytes:
        if not isinstance(value, str) or len(value) != 160:
            raise self.wrong(f"{shown(value)}, not an 80-byte header in hex (160 hex digits)")
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise self.wrong(f"{shown(value)}, not an 80-byte header in hex") from None


def chain_info(where: str, value: object) -> ChainInfo:
    """getblockchaininfo's answer, checked."""
    a = Answer(where, "getblockchaininfo")
    info = a.obj(value)
    pruned = a.flag(info.get("pruned", False), "pruned")
    return ChainInfo(
        chain=a.text(a.field(info, "chain"), "chain"),
        blocks=a.height(a.field(info, "blocks"), "blocks"),
        headers=a.height(a.field(info, "headers"), "headers"),
        best_block_hash=a.block_hash(a.field(info, "bestblockhash"), "bestblockhash"),
        # bcoin has no such field; a node that does not say is taken as not in IBD.
        initial_block_download=a.flag(info.get("initialblockdownload", False), "initialblockdownload"),
        verification_progress=a.fraction(info.get("verificationprogress", 0.0), "verificationprogress"),
        pruned=pruned,
        prune_height=a.height(a.field(info, "pruneheight"), "pruneheight") if pruned else None,
    )


def chain_header(where: str, value: object) -> ChainHeader:
    """getblockheader's (verbose) answer, checked."""
    a = Answer(where, "getblockheader")
    h = a.obj(value)
    prev = h.get("previousblockhash")
    return ChainHeader(
        hash=a.block_hash(a.field(h, "hash"), "hash"),
        height=a.height(a.field(h, "height"), "height"),
        prev_hash=None if prev is None else a.block_hash(prev, "previousblockhash"),
        time=a.integer(a.field(h, "time"), 0, 2**32 - 1, "a block time", "time"),
        confirmations=a.integer(h.get("confirmations", -1), -1, MAX_HEIGHT + 1, "a confirmation count",
                                "confirmations"),
    )
