"""Output-script classification and a stable identity for the script's owner."""

from __future__ import annotations

from enum import IntEnum
from hashlib import blake2b
from struct import Struct


class ScriptType(IntEnum):
    OTHER = 0
    P2PK = 1
    P2PKH = 2
    P2SH = 3
    P2WPKH = 4
    P2WSH = 5
    P2TR = 6
    MULTISIG = 7
    OP_RETURN = 8
    WITNESS_UNKNOWN = 9  # a segwit version/length with no standard meaning yet


SCRIPT_TYPE_NAMES = {t.value: t.name.lower() for t in ScriptType}

_OP_CHECKSIG = 0xAC
_OP_CHECKMULTISIG = 0xAE


def classify(script: bytes) -> tuple[int, bytes]:
    """(script type, owner payload). The payload identifies who can spend: the public key for
    P2PK, the 20/32-byte hash or key for the hash and witness types, the whole script otherwise."""
    n = len(script)
    if n == 25 and script[0] == 0x76 and script[1] == 0xA9 and script[2] == 20 and script[23] == 0x88 \
            and script[24] == _OP_CHECKSIG:
        return 2, script[3:23]
    if n == 22 and script[0] == 0 and script[1] == 20:
        return 4, script[2:]
    if n == 34 and script[1] == 32:
        if script[0] == 0x51:
            return 6, script[2:]
        if script[0] == 0:
            return 5, script[2:]
    if n == 23 and script[0] == 0xA9 and script[1] == 20 and script[22] == 0x87:
        return 3, script[2:22]
    if n and script[0] == 0x6A:
        return 8, b""
    if (n == 35 and script[0] == 33 and script[34] == _OP_CHECKSIG) or (
        n == 67 and script[0] == 65 and script[66] == _OP_CHECKSIG
    ):
        return 1, script[1:-1]
    if n >= 4 and 0x51 <= script[-2] <= 0x60 and script[-1] == _OP_CHECKMULTISIG and 0x51 <= script[0] <= 0x60:
        return 7, script
    if 4 <= n <= 42 and (script[0] == 0 or 0x51 <= script[0] <= 0x60) and script[1] == n - 2:
        return 9, script
    return 0, script


# BLAKE2b states that have already absorbed the type byte: copying one and feeding it the payload
# takes 0.33 µs per output instead of 0.65 µs for hashing `bytes((type,)) + payload` from scratch
# (the digest is the same).
_TYPE_STATES = {t.value: blake2b(bytes((t.value,)), digest_size=8) for t in ScriptType}
_unpack_int64 = Struct("<q").unpack


def script_id(script_type: int, payload: bytes) -> int:
    """64-bit signed identity of an owner (type + payload). P2PKH and P2WPKH of one key stay apart,
    as they are different addresses. Collisions: ~2.7 % chance of any among 1e9 scripts; a collision
    would merge two owners' balances, never lose value."""
    state = _TYPE_STATES.get(script_type)
    h = state.copy() if state is not None else blake2b(bytes((script_type,)), digest_size=8)
    h.update(payload)
    return _unpack_int64(h.digest())[0]
