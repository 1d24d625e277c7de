"""Where every field of a serialized block lies: a walker for the fuzz tests, sharing no code with
the parser (as Core's test_framework reads blocks with its own small helpers).

It reads only well-formed blocks (the real ones in tests/data) and records the byte offset of each
CompactSize (what it counts, its encoded width and value) and of each structure, so mutations can
aim at the places a hostile block would: lengths, counts and structure boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HEADER_BYTES = 80


@dataclass(frozen=True, slots=True)
class CompactSize:
    kind: str        # "tx count", "input count", "input script length", "output count", …
    offset: int      # of its first byte in the block
    width: int       # encoded bytes: 1, 3, 5 or 9
    value: int


@dataclass(frozen=True, slots=True)
class Span:
    kind: str                        # "transaction", "input", "output" or "witness"
    start: int
    end: int                         # exclusive
    counted_by: CompactSize | None   # the count it is one of (a witness stack has none of its own)


@dataclass(slots=True)
class Layout:
    size: int
    fields: list[CompactSize] = field(default_factory=list)
    # Byte ranges [start, end) of whole structures: transactions, inputs, outputs, witness stacks.
    spans: list[Span] = field(default_factory=list)

    @property
    def boundaries(self) -> list[int]:
        """Every offset where a field or a structure starts or ends, ascending."""
        points = {0, HEADER_BYTES, self.size}
        for f in self.fields:
            points.update((f.offset, f.offset + f.width))
        for span in self.spans:
            points.update((span.start, span.end))
        return sorted(points)


def encode_compact_size(n: int) -> bytes:
    """Bitcoin's CompactSize encoding of `n` (0 ≤ n < 2^64)."""
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def layout(block: bytes) -> Layout:
    """The layout of a well-formed serialized block (raises on anything else: test data only)."""
    out = Layout(len(block))
    pos = HEADER_BYTES

    def size(kind: str) -> int:
        nonlocal pos
        first = block[pos]
        width = 1 if first < 0xFD else {0xFD: 3, 0xFE: 5, 0xFF: 9}[first]
        value = first if width == 1 else int.from_bytes(block[pos + 1:pos + width], "little")
        out.fields.append(CompactSize(kind, pos, width, value))
        pos += width
        return value

    size("tx count")
    tx_count = out.fields[-1]
    for _ in range(tx_count.value):
        tx_start = pos
        pos += 4
        segwit = block[pos] == 0 and block[pos + 1] == 1
        if segwit:
            pos += 2
        n_in = size("input count")
        inputs = out.fields[-1]
        for _ in range(n_in):
            start = pos
            pos += 36
            script_bytes = size("input script length")   # read first: size() moves pos
            pos += script_bytes + 4
            out.spans.append(Span("input", start, pos, inputs))
        size("output count")
        outputs = out.fields[-1]
        for _ in range(outputs.value):
            start = pos
            pos += 8
            script_bytes = size("output script length")
            pos += script_bytes
            out.spans.append(Span("output", start, pos, outputs))
        if segwit:
            for _ in range(n_in):
                start = pos
                for _ in range(size("witness item count")):
                    item_bytes = size("witness item length")
                    pos += item_bytes
                out.spans.append(Span("witness", start, pos, None))
        pos += 4
        out.spans.append(Span("transaction", tx_start, pos, tx_count))
    if pos != len(block):
        raise ValueError(f"layout ends at {pos}, the block has {len(block)} bytes")
    return out


def with_compact_size(block: bytes, f: CompactSize, encoded: bytes) -> bytes:
    """`block` with the CompactSize `f` replaced by `encoded` (any width: the block grows or shrinks)."""
    return block[:f.offset] + encoded + block[f.offset + f.width:]


MAX_COMPACT_SIZE = b"\xff" + b"\xff" * 8   # 2^64 − 1, the largest value a CompactSize can hold
