"""Write undo data as Bitcoin Core does (blocks/rev*.dat): the encodings and one record.

The inverse of compress.py and undo.py, for generated chains (the rehearsal, the simulator, the
tests): a node's own blocks directory already has its rev files. Each piece follows Core's source:
- VARINT (serialize.h WriteVarInt): big-endian base-128, each continuation digit one less;
- CompressAmount (compressor.cpp): trailing decimal zeros (at most 9) into the exponent;
- CompressScript (compressor.cpp): P2PKH → 0, P2SH → 1, P2PK with a compressed key → its prefix
  (2, 3) and x, P2PK with an uncompressed key → 4 + parity of y and x, but only when the key is a
  point of secp256k1 (CPubKey::IsFullyValid), else the script is stored raw as VARINT(size + 6);
- TxInUndoFormatter (undo.h): VARINT(height·2 + coinbase), a 0 byte when height > 0, the output;
- the record (node/blockstorage.cpp WriteBlockUndo): magic ‖ uint32 LE size ‖ CBlockUndo ‖
  SHA256d(parent hash ‖ CBlockUndo), which revchain.py XORs with xor.dat at its file offset.
"""

from __future__ import annotations

from minerwatch.chain.block import sha256d
from minerwatch.chain.compress import P2PKH_HEAD, P2PKH_TAIL, P2SH_HEAD, P2SH_TAIL, SPECIAL_SCRIPTS, decompress_pubkey
from minerwatch.chain.txbuild import varint as compact_size  # the CompactSize of blocks, also CBlockUndo's counts
from minerwatch.errors import UsageError

_OP_CHECKSIG = 0xAC
# The one-byte encodings, made once: most amounts' codes, script sizes and counts are one byte.
_SMALL_VARINTS = tuple(bytes((n,)) for n in range(0x80))


def varint(n: int) -> bytes:
    """Core's VARINT of a non-negative integer (not the CompactSize of blocks)."""
    if 0 <= n < 0x80:
        return _SMALL_VARINTS[n]
    if n < 0:
        raise UsageError(f"VARINT of a negative number ({n})", "undo data holds only amounts, heights and sizes")
    digits = [n & 0x7F]
    while n > 0x7F:
        n = (n >> 7) - 1
        digits.append((n & 0x7F) | 0x80)
    return bytes(reversed(digits))


def compress_amount(sat: int) -> int:
    """Core's CompressAmount: 0, or 1 + 10·(9·n + d − 1) + e, or 1 + 10·(n − 1) + 9 (e = 9)."""
    if sat == 0:
        return 0
    e = 0
    while sat % 10 == 0 and e < 9:
        sat //= 10
        e += 1
    if e < 9:
        d = sat % 10
        return 1 + (sat // 10 * 9 + d - 1) * 10 + e
    return 1 + (sat - 1) * 10 + 9


def compress_script(script: bytes) -> bytes:
    """Core's ScriptCompression: a special code and its 20 or 32 bytes, or VARINT(size + 6) ‖ script."""
    n = len(script)
    if n == 25 and script[:3] == P2PKH_HEAD and script[23:] == P2PKH_TAIL:
        return b"\x00" + script[3:23]
    if n == 23 and script[:2] == P2SH_HEAD and script[22:] == P2SH_TAIL:
        return b"\x01" + script[2:22]
    if n == 35 and script[0] == 33 and script[34] == _OP_CHECKSIG and script[1] in (2, 3):
        return script[1:34]                       # Core does not check that a compressed key is a point
    if n == 67 and script[0] == 65 and script[66] == _OP_CHECKSIG and script[1] == 4:
        parity = script[65] & 1
        # IsFullyValid: the key must be a point; the reader recomputes y from x, so only then is x
        # enough. decompress_pubkey is that recomputation: a valid key comes back unchanged.
        if decompress_pubkey(parity, script[2:34]) == script[1:66]:
            return bytes((4 | parity,)) + script[2:34]
    return varint(n + SPECIAL_SCRIPTS) + script


def compress_txout(value_sat: int, script: bytes) -> bytes:
    """Core's TxOutCompression: VARINT(CompressAmount(value)) ‖ compressed script."""
    return varint(compress_amount(value_sat)) + compress_script(script)


def coin_prefix(height: int, is_coinbase: bool) -> bytes:
    """The bytes TxInUndoFormatter writes before a spent output: VARINT(height·2 + coinbase), then a
    0 byte for heights above 0 (room once kept for the transaction's version)."""
    code = varint(height * 2 + is_coinbase)
    return code + b"\x00" if height > 0 else code


def spent_coin(value_sat: int, script: bytes, height: int, is_coinbase: bool) -> bytes:
    """One spent output as a CTxUndo holds it."""
    return coin_prefix(height, is_coinbase) + compress_txout(value_sat, script)


def undo_record(magic: bytes, parent_hash: bytes, undo: bytes) -> bytes:
    """One rev-file record, unobfuscated: magic ‖ size ‖ CBlockUndo ‖ SHA256d(parent hash ‖ CBlockUndo).
    `parent_hash` in internal byte order: the checksum names the block's parent, not the block."""
    return magic + len(undo).to_bytes(4, "little") + undo + sha256d(parent_hash + undo)

