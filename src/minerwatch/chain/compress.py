"""Bitcoin Core's compact encodings of a coin, as its undo files (rev*.dat) and UTXO set store them.

Four pieces, each from Core's source:
- CompactSize (serialize.h ReadCompactSize): the length prefix of blocks, here read as strictly
  as Core reads it (the shortest encoding only, at most 2^25).
- VARINT (serialize.h): big-endian base-128 where every continuation byte also adds one, so each
  number has exactly one encoding (0x80 0x00 is 128, not 0). It is not the CompactSize of blocks.
- amounts (compressor.cpp CompressAmount/DecompressAmount): trailing decimal zeros factored out,
  so 50 BTC is the single byte 0x32.
- scripts (compressor.h ScriptCompression): six special sizes stand for P2PKH (0), P2SH (1),
  P2PK with a compressed key (2, 3: the key's prefix) and P2PK with an uncompressed key (4, 5: the
  parity of y, which must be recomputed from x on secp256k1); any other script is stored as
  VARINT(length + 6) followed by its bytes.
"""

from __future__ import annotations

from minerwatch.errors import ParseError

SPECIAL_SCRIPTS = 6
MAX_COMPACT_SIZE = 0x02000000      # Core's MAX_SIZE: ReadCompactSize refuses more
MAX_SCRIPT_BYTES = 10_000          # Core's MAX_SCRIPT_SIZE
MAX_MONEY_SAT = 21_000_000 * 100_000_000
_HASH160_BYTES = 20
_KEY_X_BYTES = 32
# The scripts codes 0 and 1 stand for, around their 20-byte hash (revwrite.py compresses by them).
P2PKH_HEAD, P2PKH_TAIL = b"\x76\xa9\x14", b"\x88\xac"    # OP_DUP OP_HASH160 20 … OP_EQUALVERIFY OP_CHECKSIG
P2SH_HEAD, P2SH_TAIL = b"\xa9\x14", b"\x87"                # OP_HASH160 20 … OP_EQUAL
# Core reads an over-long script as this one-byte unspendable script (compressor.h); such coins are
# never in the UTXO set, so a real undo file never holds one, but reading it Core's way keeps the
# reader's answer equal to Core's.
_OVERLONG_SCRIPT = b"\x6a"

# secp256k1: y² = x³ + 7 over the prime field P. P ≡ 3 (mod 4), so a square root of a is
# a^((P + 1) / 4) when a has one.
SECP256K1_P = 2**256 - 2**32 - 977


def read_varint(data: bytes, pos: int, end: int, max_bits: int, what: str, source: str, base: int) -> tuple[int, int]:
    """(value, next position) of the Core VARINT at `pos`, for a C++ integer of `max_bits` bits.

    Rejects what Core's ReadVarInt rejects ("size too large"); `base` is the file offset of data[0].
    """
    if pos < end and data[pos] < 0x80:      # one byte: most heights' codes, versions and sizes
        return data[pos], pos + 1
    limit = (1 << max_bits) - 1
    n = 0
    start = pos
    while True:
        if pos >= end:
            raise ParseError(f"{what} cut short", source, base + start)
        byte = data[pos]
        pos += 1
        if n > limit >> 7:
            raise ParseError(f"{what} does not fit {max_bits} bits", source, base + start)
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return n, pos
        if n == limit:
            raise ParseError(f"{what} does not fit {max_bits} bits", source, base + start)
        n += 1


def read_compact_size(data: bytes, pos: int, end: int, what: str, source: str, base: int) -> tuple[int, int]:
    """(value, next position) of a canonical CompactSize, as Core's ReadCompactSize accepts it."""
    if pos >= end:
        raise ParseError(f"{what} cut short", source, base + pos)
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    if pos + 1 + width > end:
        raise ParseError(f"{what} cut short", source, base + pos)
    n = int.from_bytes(data[pos + 1:pos + 1 + width], "little")
    if n < {2: 0xFD, 4: 0x10000, 8: 0x100000000}[width]:
        raise ParseError(f"{what} is not canonically encoded", source, base + pos)
    if n > MAX_COMPACT_SIZE:
        raise ParseError(f"{what} {n} is too large", source, base + pos)
    return n, pos + 1 + width


def decompress_amount(x: int) -> int:
    """Core's DecompressAmount: x = 0, or 1 + 10·(9·n + d − 1) + e, or 1 + 10·(n − 1) + 9 → satoshis."""
    if x == 0:
        return 0
    x -= 1
    e = x % 10
    x //= 10
    if e < 9:
        d = x % 9 + 1
        n = (x // 9) * 10 + d
    else:
        n = x + 1
    return n * 10**e


def decompress_pubkey(parity: int, x: bytes) -> bytes | None:
    """The 65-byte uncompressed key 04‖x‖y whose y has `parity` (0 even, 1 odd); None off the curve."""
    xi = int.from_bytes(x, "big")
    if xi >= SECP256K1_P:
        return None
    y2 = (pow(xi, 3, SECP256K1_P) + 7) % SECP256K1_P
    y = pow(y2, (SECP256K1_P + 1) // 4, SECP256K1_P)
    if y * y % SECP256K1_P != y2:
        return None
    if y & 1 != parity:
        y = SECP256K1_P - y
    return b"\x04" + x + y.to_bytes(32, "big")


def decompress_script(n_size: int, payload: bytes) -> bytes | None:
    """The script that special code `n_size` (0–5) and its payload stand for; None for a
    code 4/5 payload that is no point's x coordinate (Core never writes one)."""
    if n_size == 0:
        return P2PKH_HEAD + payload + P2PKH_TAIL
    if n_size == 1:
        return P2SH_HEAD + payload + P2SH_TAIL
    if n_size < 4:
        return b"\x21" + bytes((n_size,)) + payload + b"\xac"     # P2PK, compressed key 02/03
    key = decompress_pubkey(n_size - 4, payload)                   # 4: even y, 5: odd y
    return None if key is None else b"\x41" + key + b"\xac"


def read_txout(data: bytes, pos: int, end: int, source: str, base: int) -> tuple[int, bytes, int]:
    """(value_sat, script, next position) of a compressed output (Core's TxOutCompression)."""
    code, pos = read_varint(data, pos, end, 64, "compressed amount", source, base)
    value_sat = decompress_amount(code)
    if value_sat > MAX_MONEY_SAT:
        raise ParseError(f"amount {value_sat} sat exceeds 21 million BTC", source, base + pos)
    script_at = pos
    n_size, pos = read_varint(data, pos, end, 32, "script size", source, base)
    if n_size < 2:                          # P2PKH, P2SH: the most common scripts, inlined
        if pos + _HASH160_BYTES > end:
            raise ParseError(f"compressed script (type {n_size}) cut short", source, base + script_at)
        h = data[pos:pos + _HASH160_BYTES]
        script = P2PKH_HEAD + h + P2PKH_TAIL if n_size == 0 else P2SH_HEAD + h + P2SH_TAIL
        return value_sat, script, pos + _HASH160_BYTES
    if n_size < SPECIAL_SCRIPTS:
        n = _KEY_X_BYTES
        if pos + n > end:
            raise ParseError(f"compressed script (type {n_size}) cut short", source, base + script_at)
        script = decompress_script(n_size, data[pos:pos + n])
        if script is None:
            raise ParseError("compressed public key is not a point on secp256k1", source, base + script_at)
        return value_sat, script, pos + n
    n = n_size - SPECIAL_SCRIPTS
    if pos + n > end:
        raise ParseError(f"script of {n} bytes cut short", source, base + script_at)
    if n > MAX_SCRIPT_BYTES:
        return value_sat, _OVERLONG_SCRIPT, pos + n
    return value_sat, bytes(data[pos:pos + n]), pos + n
