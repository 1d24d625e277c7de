"""Deterministic, structure-aware mutations of the real blocks in tests/data: the parser's fuzz corpus.

Case `i` of seed `s` is built from `random.Random(f"{s}:{i}")` alone, so any case can be rebuilt
on its own (to report a hang, or to keep a crasher in tests/data/fuzz/). The mutations aim where a
hostile block would: CompactSize fields set to boundary values in every width, counts inflated,
truncation at every structure boundary, structures duplicated or removed, the segwit marker
inserted or dropped, plus plain bit flips and byte overwrites.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from block_layout import HEADER_BYTES, CompactSize, Layout, Span, encode_compact_size, layout
from minerwatch.chain.block import merkle_root, parse_block

DATA = Path(__file__).parent / "data"
KEPT = DATA / "fuzz"
# Seeds stay small so that a case parses in ~0.1 ms (thousands per second); the full-size blocks
# get a few cases of their own (full_size_cases), at up to ~20 ms a parse.
SMALL_SEED_BYTES = 16 * 1024
TRIMMED_TXS = 6  # the coinbase and 5 transactions spread over a large block
BOUNDARY_VALUES = (
    0, 1, 0xFC, 0xFD, 0xFE, 0xFF, 0xFFFF, 0x1_0000, 0xFFFF_FFFF, 0x1_0000_0000,
    2**63 - 1, 2**63, 2**64 - 1,
)


@dataclass(frozen=True, slots=True)
class Seed:
    name: str
    data: bytes
    layout: Layout


@dataclass(frozen=True, slots=True)
class Case:
    name: str          # the seed's name: the source given to the parser
    mutation: str      # what was done, readable
    data: bytes


def _with_txs(block: bytes, lay: Layout, picks: list[int]) -> bytes:
    """Header and the transactions `picks` of `block`, with the count and merkle root rewritten."""
    txs = [span for span in lay.spans if span.kind == "transaction"]
    body = b"".join(block[txs[i].start:txs[i].end] for i in picks)
    draft = block[:HEADER_BYTES] + encode_compact_size(len(picks)) + body
    root = merkle_root(parse_block(draft, verify_merkle=False).txids)
    return draft[:36] + root + draft[68:]


def _blk_record_blocks(name: str, heights: tuple[int, ...]) -> list[tuple[int, bytes]]:
    """Blocks at the given positions (= heights for heights-0-438) of a real blk file."""
    data = (DATA / "blkfiles" / name).read_bytes()
    out, pos, k = [], 0, 0
    while pos < len(data) and len(out) < len(heights):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if k in heights:
            out.append((k, data[pos + 8:pos + 8 + size]))
        pos += 8 + size
        k += 1
    return out


@cache
def seeds() -> tuple[Seed, ...]:
    """The corpus: every real block of tests/data/blocks (large ones trimmed to 6 transactions),
    and blocks 0 and 170 of the real blk file."""
    out: list[Seed] = []
    for path in sorted((DATA / "blocks").glob("*.bin")):
        raw = path.read_bytes()
        lay = layout(raw)
        if len(raw) > SMALL_SEED_BYTES:
            n = len([1 for span in lay.spans if span.kind == "transaction"])
            picks = sorted({0, *(round(k * (n - 1) / (TRIMMED_TXS - 1)) for k in range(1, TRIMMED_TXS))})
            raw = _with_txs(raw, lay, picks)
            while len(raw) > SMALL_SEED_BYTES:   # a huge transaction (an inscription) among the picks
                picks = picks[:-1]
                raw = _with_txs(path.read_bytes(), lay, picks)
            lay = layout(raw)
        out.append(Seed(path.name, raw, lay))
    for height, raw in _blk_record_blocks("mainnet-heights-0-438.dat", (0, 170)):
        out.append(Seed(f"mainnet-{height}.blk-record", raw, layout(raw)))
    return tuple(out)


def _encodings(n: int) -> list[bytes]:
    """Every CompactSize encoding of `n`: the canonical one and the wider, non-canonical ones."""
    encs = [encode_compact_size(n)]
    for prefix, width in ((b"\xfd", 2), (b"\xfe", 4), (b"\xff", 8)):
        if n < 1 << (8 * width) and len(encs[0]) < 1 + width:
            encs.append(prefix + n.to_bytes(width, "little"))
    return encs


def _compact_size(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    f = rng.choice(s.layout.fields)
    value = rng.choice(BOUNDARY_VALUES + (f.value + 1, 2 * f.value + 1, f.value + 1000, max(f.value - 1, 0),
                                          len(s.data)))
    enc = rng.choice(_encodings(value))
    return f"{f.kind} at byte {f.offset} ({f.value}) → {enc.hex()}", s.data[:f.offset] + enc + s.data[f.offset + f.width:]


def _inflate_count(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    f = rng.choice([f for f in s.layout.fields if f.kind.endswith("count")])
    value = f.value + rng.choice((1, 2, 10, 1000, 100_000))
    enc = encode_compact_size(value)
    return f"{f.kind} at byte {f.offset} inflated {f.value} → {value}", s.data[:f.offset] + enc + s.data[f.offset + f.width:]


def _truncate(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    at = min(max(rng.choice(s.layout.boundaries) + rng.choice((-1, 0, 0, 1)), 0), len(s.data) - 1)
    return f"cut at byte {at}", s.data[:at]


def _span(rng: random.Random, s: Seed) -> Span:
    if rng.random() < 0.8:
        return rng.choice(s.layout.spans)
    start = rng.randrange(len(s.data))
    return Span("range", start, min(len(s.data), start + rng.randint(1, 64)), None)


def _recount(data: bytes, count: CompactSize | None, delta: int) -> tuple[str, bytes]:
    """`data` (changed only after `count`) with `count` moved by `delta`, so the change still parses
    as far as the next layer; the count is always before the structures it counts."""
    if count is None or count.value + delta < 0:
        return "", data
    enc = encode_compact_size(count.value + delta)
    return f", {count.kind} {count.value + delta}", data[:count.offset] + enc + data[count.offset + count.width:]


def _remove(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    span = _span(rng, s)
    what, data = f"{span.kind} {span.start}…{span.end} removed", s.data[:span.start] + s.data[span.end:]
    if rng.random() < 0.5:
        more, data = _recount(data, span.counted_by, -1)
        what += more
    return what, data


def _duplicate(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    span = _span(rng, s)
    what = f"{span.kind} {span.start}…{span.end} duplicated"
    data = s.data[:span.end] + s.data[span.start:span.end] + s.data[span.end:]
    if rng.random() < 0.5:
        more, data = _recount(data, span.counted_by, +1)
        what += more
    return what, data


def _splice(rng: random.Random, s: Seed, all_seeds: tuple[Seed, ...]) -> tuple[str, bytes]:
    other = rng.choice(all_seeds)
    span = rng.choice(other.layout.spans)
    at = rng.choice(s.layout.boundaries)
    return (f"{span.kind} {span.start}…{span.end} of {other.name} inserted at byte {at}",
            s.data[:at] + other.data[span.start:span.end] + s.data[at:])


def _segwit_marker(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    tx_start = rng.choice([span.start for span in s.layout.spans if span.kind == "transaction"])
    at = tx_start + 4
    if s.data[at:at + 2] == b"\x00\x01":
        return f"segwit marker of the transaction at byte {tx_start} dropped", s.data[:at] + s.data[at + 2:]
    return f"segwit marker inserted in the transaction at byte {tx_start}", s.data[:at] + b"\x00\x01" + s.data[at:]


def _bit_flips(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    data = bytearray(s.data)
    flipped = []
    for _ in range(rng.randint(1, 4)):
        # Half the flips land on a CompactSize, where one bit changes the shape of what follows.
        at = rng.choice(s.layout.fields).offset if rng.random() < 0.5 else rng.randrange(len(data))
        bit = rng.randrange(8)
        data[at] ^= 1 << bit
        flipped.append(f"{at}.{bit}")
    return f"bits flipped {', '.join(flipped)}", bytes(data)


def _overwrite(rng: random.Random, s: Seed, _: tuple[Seed, ...]) -> tuple[str, bytes]:
    at = rng.randrange(len(s.data))
    new = bytes(rng.choice((0x00, 0xFF, 0xFD, 0xFE, 0xFC, rng.randrange(256))) for _ in range(rng.randint(1, 8)))
    return f"bytes {at}… overwritten with {new.hex()}", s.data[:at] + new + s.data[at + len(new):]


Mutation = Callable[[random.Random, Seed, tuple[Seed, ...]], tuple[str, bytes]]
MUTATIONS: dict[str, Mutation] = {
    "compact size": _compact_size, "inflate count": _inflate_count, "truncate": _truncate,
    "remove": _remove, "duplicate": _duplicate, "splice": _splice, "segwit marker": _segwit_marker,
    "bit flips": _bit_flips, "overwrite": _overwrite,
}


def mutated_case(seed: int, i: int) -> Case:
    """Case `i` of run `seed`: one structure-aware mutation of a seed, and in 1 case of 5 a bit flip
    on top (a second change lands where the first moved the structure)."""
    rng = random.Random(f"{seed}:{i}")
    all_seeds = seeds()
    s = rng.choice(all_seeds)
    name = rng.choice(list(MUTATIONS))
    what, data = MUTATIONS[name](rng, s, all_seeds)
    if data and rng.random() < 0.2:
        at, bit = rng.randrange(len(data)), rng.randrange(8)
        data = data[:at] + bytes((data[at] ^ (1 << bit),)) + data[at + 1:]
        what = f"{what}; bit {at}.{bit} flipped"
    return Case(s.name, f"{name}: {what}", data)


def truncation_cases() -> Iterator[Case]:
    """Every seed cut at every structure boundary and one byte either side."""
    for s in seeds():
        cuts = sorted({c for b in s.layout.boundaries for c in (b - 1, b, b + 1) if 0 <= c < len(s.data)})
        for at in cuts:
            yield Case(s.name, f"cut at byte {at}", s.data[:at])


def full_size_cases(seed: int) -> Iterator[Case]:
    """Per real block above 16 KiB, whole: a maximal CompactSize and a cut at a random boundary."""
    rng = random.Random(f"{seed}:full")
    for path in sorted((DATA / "blocks").glob("*.bin")):
        raw = path.read_bytes()
        if len(raw) <= SMALL_SEED_BYTES:
            continue
        s = Seed(path.name, raw, layout(raw))
        f = rng.choice([f for f in s.layout.fields if f.kind.endswith("length")])
        yield Case(s.name, f"{f.kind} at byte {f.offset} → 2^64 − 1",
                   raw[:f.offset] + b"\xff" * 9 + raw[f.offset + f.width:])
        at = rng.choice(s.layout.boundaries[1:-1])
        yield Case(s.name, f"cut at byte {at}", raw[:at])


def kept_parser_cases() -> Iterator[Case]:
    """The kept crashers: blocks that once made the parser fail otherwise than with ParseError."""
    for path in sorted((KEPT / "parser").glob("*.bin")):
        yield Case(path.name, "kept", path.read_bytes())
