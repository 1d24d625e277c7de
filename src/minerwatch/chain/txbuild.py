"""Building transactions for constructed chains: fake keys from labels, output scripts, serialization.

Nothing here signs anything. Unlocking data (signatures, public keys) is dummy bytes of the real
sizes (72-byte DER signature, 33-byte key, 64-byte Schnorr signature), so sizes and weights are those
of real transactions while nothing is spendable on a real network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from hashlib import new as hashlib_new
from hashlib import sha256
from struct import Struct, pack
from typing import NamedTuple, Sequence

from minerwatch.chain.block import sha256d
from minerwatch.chain.script import ScriptType, classify
from minerwatch.errors import UsageError

# --- fake keys and hashes, deterministic from a label -------------------------------------------


def _digest(kind: str, label: str) -> bytes:
    return sha256(f"minerwatch:{kind}:{label}".encode()).digest()


def key(label: str) -> bytes:
    """A 33-byte compressed public key (02/03 prefix) derived from `label`; not on the curve, never spendable."""
    d = _digest("key", label)
    return bytes((2 + (d[0] & 1),)) + d[1:] + _digest("key2", label)[:1]


def key65(label: str) -> bytes:
    """A 65-byte uncompressed public key (04 prefix) derived from `label`, as early coinbases used."""
    return b"\x04" + _digest("key65a", label) + _digest("key65b", label)


def h20(label: str) -> bytes:
    """A 20-byte hash (a P2PKH/P2WPKH/P2SH payload) derived from `label`."""
    return _digest("h20", label)[:20]


def h32(label: str) -> bytes:
    """A 32-byte hash (a P2WSH payload or a taproot x-only key) derived from `label`."""
    return _digest("h32", label)


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256 (the real one, for tests that want a key's true address payload)."""
    return hashlib_new("ripemd160", sha256(data).digest()).digest()


# --- script pieces ---------------------------------------------------------------------------------


def push(data: bytes) -> bytes:
    """Minimal push of `data` (direct, OP_PUSHDATA1/2)."""
    n = len(data)
    if n < 0x4C:
        return bytes((n,)) + data
    if n <= 0xFF:
        return b"\x4c" + bytes((n,)) + data
    if n <= 0xFFFF:
        return b"\x4d" + pack("<H", n) + data
    raise UsageError(f"push of {n} bytes is too large", "keep script pushes under 65,536 bytes")


def push_int(n: int) -> bytes:
    """A number as Bitcoin Core's `CScript() << n` writes it: OP_0, OP_1…OP_16, else a minimal push."""
    if n == 0:
        return b"\x00"
    if 1 <= n <= 16:
        return bytes((0x50 + n,))
    if n < 0:
        raise UsageError(f"negative script number {n}", "heights and counts are non-negative")
    body = n.to_bytes((n.bit_length() + 7) // 8, "little")
    if body[-1] & 0x80:  # keep the sign bit clear
        body += b"\x00"
    return push(body)


def p2pk(pubkey: bytes) -> bytes:
    """Bare public key: <33 or 65-byte key> OP_CHECKSIG."""
    if len(pubkey) not in (33, 65):
        raise UsageError(f"public key of {len(pubkey)} bytes", "use 33 (compressed) or 65 (uncompressed) bytes")
    return push(pubkey) + b"\xac"


def _need(data: bytes, size: int, what: str) -> bytes:
    if len(data) != size:
        raise UsageError(f"{what} needs {size} bytes, got {len(data)}", "derive one with h20()/h32()/key()")
    return data


def p2pkh(hash20: bytes) -> bytes:
    """OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG."""
    return b"\x76\xa9\x14" + _need(hash20, 20, "p2pkh") + b"\x88\xac"


def p2sh(hash20: bytes) -> bytes:
    """OP_HASH160 <20> OP_EQUAL."""
    return b"\xa9\x14" + _need(hash20, 20, "p2sh") + b"\x87"


def p2wpkh(hash20: bytes) -> bytes:
    """OP_0 <20>."""
    return b"\x00\x14" + _need(hash20, 20, "p2wpkh")


def p2wsh(hash32: bytes) -> bytes:
    """OP_0 <32>."""
    return b"\x00\x20" + _need(hash32, 32, "p2wsh")


def p2tr(xonly32: bytes) -> bytes:
    """OP_1 <32-byte x-only key>."""
    return b"\x51\x20" + _need(xonly32, 32, "p2tr")


def multisig(m: int, pubkeys: Sequence[bytes]) -> bytes:
    """Bare m-of-n multisig: OP_m <keys…> OP_n OP_CHECKMULTISIG."""
    if not 1 <= m <= len(pubkeys) <= 16:
        raise UsageError(f"{m}-of-{len(pubkeys)} multisig", "need 1 ≤ m ≤ n ≤ 16")
    return push_int(m) + b"".join(push(k) for k in pubkeys) + push_int(len(pubkeys)) + b"\xae"


def op_return(data: bytes) -> bytes:
    """OP_RETURN <data>: an unspendable data carrier."""
    return b"\x6a" + push(data)


# --- transactions ----------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    """Bitcoin's CompactSize."""
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + pack("<I", n)
    return b"\xff" + pack("<Q", n)


_MAX_MONEY_SAT = 21_000_000 * 100_000_000
_U32 = Struct("<I").pack
_I64 = Struct("<q").pack


class OutPoint(NamedTuple):
    txid: bytes   # internal byte order
    vout: int


# TxIn and TxOut are named tuples, not frozen dataclasses: the demo chain creates ~10^6 of them and
# a frozen dataclass's __init__ (object.__setattr__ per field) costs ~3× as much.
class TxIn(NamedTuple):
    prev: OutPoint
    script_sig: bytes = b""
    witness: tuple[bytes, ...] = ()
    sequence: int = 0xFFFFFFFF


class TxOut(NamedTuple):
    value_sat: int
    script: bytes


@dataclass(frozen=True, slots=True)
class Tx:
    """A serialized transaction with its identities. Build it with make_tx()."""

    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]
    version: int
    lock_time: int
    raw: bytes        # with witness data when any input has some (BIP144)
    stripped: bytes   # without witness data: what the txid hashes
    txid: bytes       # internal byte order
    wtxid: bytes

    @property
    def is_segwit(self) -> bool:
        return len(self.raw) != len(self.stripped)

    @property
    def size_bytes(self) -> int:
        return len(self.raw)

    @property
    def weight(self) -> int:
        """3 × stripped size + full size (BIP141)."""
        return 3 * len(self.stripped) + len(self.raw)

    @property
    def vsize(self) -> int:
        return (self.weight + 3) // 4

    def outpoint(self, vout: int) -> OutPoint:
        return OutPoint(self.txid, vout)


def make_tx(
    inputs: Sequence[TxIn], outputs: Sequence[TxOut | tuple[bytes, int]], version: int = 2, lock_time: int = 0,
) -> Tx:
    """Serialize a transaction; segwit serialization when any input carries witness items."""
    outs = tuple(o if type(o) is TxOut else TxOut(o[1], o[0]) for o in outputs)  # type: ignore[union-attr]
    ins = tuple(inputs)
    parts = [varint(len(ins))]
    for prev, sig, _, sequence in ins:
        n = len(sig)
        parts += (prev[0], _U32(prev[1]), bytes((n,)) if n < 0xFD else varint(n), sig, _U32(sequence))
    parts.append(varint(len(outs)))
    for value, script in outs:
        if not 0 <= value <= _MAX_MONEY_SAT:
            raise UsageError(f"output value {value} sat out of range", "values are 0 … 21 million BTC in sat")
        n = len(script)
        parts += (_I64(value), bytes((n,)) if n < 0xFD else varint(n), script)
    body = b"".join(parts)
    head, tail = pack("<i", version), _U32(lock_time)
    stripped = head + body + tail
    if any(i.witness for i in ins):
        wit = bytearray()
        for i in ins:
            wit += varint(len(i.witness))
            for item in i.witness:
                wit += varint(len(item)) + item
        raw = head + b"\x00\x01" + body + bytes(wit) + tail
    else:
        raw = stripped
    txid = sha256d(stripped)
    return Tx(ins, outs, version, lock_time, raw, stripped, txid, sha256d(raw) if raw is not stripped else txid)


def dummy_signature(seed: bytes) -> bytes:
    """72 bytes shaped like a DER ECDSA signature with SIGHASH_ALL (the common size on mainnet)."""
    r = sha256(b"r" + seed).digest()
    s = sha256(b"s" + seed).digest()
    return b"\x30\x45\x02\x21\x00" + r + b"\x02\x20" + s + b"\x01"


@lru_cache(maxsize=1 << 16)
def dummy_unlock(script: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    """(scriptSig, witness) of realistic size for spending an output locked by `script`.

    P2SH is spent as P2SH-wrapped P2WPKH (the usual P2SH output today); P2WSH as a 2-of-2 multisig.
    One script always gets the same dummy data (cached: the demo spends ~10^5 coins of ~10^3 scripts).
    """
    stype, payload = classify(script)
    sig = dummy_signature(script)
    pub = b"\x02" + sha256(b"pub" + script).digest()
    if stype == ScriptType.P2PK:
        return push(sig), ()
    if stype == ScriptType.P2PKH:
        return push(sig) + push(pub), ()
    if stype == ScriptType.P2SH:
        return push(b"\x00\x14" + payload), (sig, pub)
    if stype == ScriptType.P2WPKH:
        return b"", (sig, pub)
    if stype == ScriptType.P2WSH:
        ws = multisig(2, [pub, b"\x03" + pub[1:]])
        return b"", (b"", sig, sig, ws)
    if stype == ScriptType.P2TR:
        return b"", (sig[5:37] + sig[39:71],)  # 64-byte Schnorr signature, default sighash
    if stype == ScriptType.MULTISIG:
        return b"\x00" + push(sig) * (script[0] - 0x50), ()
    if stype == ScriptType.OP_RETURN:
        raise UsageError("an OP_RETURN output cannot be spent", "spend a payment output instead")
    return b"\x51", ()  # OP_TRUE: anything else is unlocked by a dummy push
