"""Addresses: output scripts as the strings wallets and explorers show, and back.

Base58check (P2PKH, P2SH), bech32 (BIP173, witness v0) and bech32m (BIP350, witness v1..16), with
each network's prefixes. Payloads are the ones `chain.script.classify` returns, so that
`decode_address(encode_address(t, p, net), net) == (t, p)` for every type that has an address.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from hashlib import sha256

from minerwatch.chain.script import ScriptType
from minerwatch.errors import UsageError
from minerwatch.networks import NETWORKS, Network

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_B32_INDEX = {c: i for i, c in enumerate(_B32)}
_BECH32_CONST = 1            # BIP173 checksum constant (witness v0)
_BECH32M_CONST = 0x2BC830A3  # BIP350 checksum constant (witness v1..16)
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


# ---- base58check ----------------------------------------------------------------------------

def _checksum4(data: bytes) -> bytes:
    return sha256(sha256(data).digest()).digest()[:4]


def base58_encode(data: bytes) -> str:
    """Plain base58 (no checksum): leading zero bytes become '1'."""
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def base58_decode(text: str) -> bytes:
    """Plain base58 back to bytes; ValueError on a character outside the alphabet."""
    n = 0
    for c in text:
        i = _B58_INDEX.get(c)
        if i is None:
            raise ValueError(f"{c!r} is not a base58 character")
        n = n * 58 + i
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body


def base58check_encode(version: int, payload: bytes) -> str:
    """Version byte + payload + the first 4 bytes of its double SHA-256, in base58."""
    data = bytes((version,)) + payload
    return base58_encode(data + _checksum4(data))


# ---- bech32 / bech32m -----------------------------------------------------------------------

# polymod step with the five generator XORs folded into one table lookup per character; with the
# integer regrouping in _segwit_address it takes a P2WPKH address from ~40 to ~10 us
# (benchmarks/bench_address.py)
_GEN_TABLE = [0] * 32
for _top in range(32):
    for _i in range(5):
        if (_top >> _i) & 1:
            _GEN_TABLE[_top] ^= _GEN[_i]


def _polymod(values: list[int], chk: int = 1) -> int:
    table = _GEN_TABLE
    for v in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


@lru_cache(maxsize=64)
def _hrp_state(hrp: str) -> int:
    return _polymod(_hrp_expand(hrp))


def _five_to_eight(data5: list[int]) -> bytes | None:
    """5-bit groups back to bytes; None for more than 4 padding bits or padding that is not
    zero (both invalid under BIP173)."""
    acc = bits = 0
    out = bytearray()
    for v in data5:
        acc = (acc << 5) | v
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):
        return None
    return bytes(out)


def bech32_encode(hrp: str, data5: list[int], const: int) -> str:
    """hrp + '1' + data + 6 checksum characters; `const` selects bech32 (1) or bech32m."""
    poly = _polymod(data5 + [0, 0, 0, 0, 0, 0], _hrp_state(hrp)) ^ const
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join([_B32[d] for d in data5 + checksum])


def bech32_decode(text: str) -> tuple[str, list[int], int] | None:
    """(hrp, 5-bit data without checksum, checksum constant) of a valid bech32/bech32m string,
    None when the string breaks any rule of BIP173 (characters, case, length, checksum)."""
    if not (text.isascii() and text.isprintable()) or " " in text:
        return None  # characters outside 33..126
    if text.lower() != text and text.upper() != text:
        return None
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        return None
    try:
        data = [_B32_INDEX[c] for c in text[pos + 1:]]
    except KeyError:
        return None
    hrp = text[:pos]
    const = _polymod(data, _hrp_state(hrp))
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        return None
    return hrp, data[:-6], const


def _segwit_address(hrp: str, version: int, program: bytes) -> str:
    # 8-to-5 bit regrouping through one integer: zero-pad to a multiple of 5 bits, then slice
    nbits = len(program) * 8
    pad = -nbits % 5
    n = int.from_bytes(program, "big") << pad
    count = (nbits + pad) // 5
    data5 = [version] + [(n >> 5 * (count - 1 - i)) & 31 for i in range(count)]
    return bech32_encode(hrp, data5, _BECH32_CONST if version == 0 else _BECH32M_CONST)


# ---- script type + payload <-> address ------------------------------------------------------

_NO_ADDRESS = frozenset((ScriptType.OTHER, ScriptType.P2PK, ScriptType.MULTISIG, ScriptType.OP_RETURN))


@lru_cache(maxsize=4096)
def _encode(script_type: int, payload: bytes, p2pkh: int, p2sh: int, hrp: str) -> str | None:
    # Cached: pools pay their coinbases to a few hundred scripts at a time, so during a sync most
    # calls repeat one of those: 0.13 us per cached call against 4-12 us to encode
    # (benchmarks/bench_address.py). 4,096 entries of ~250 bytes keep it near 1 MB.
    if script_type == ScriptType.P2PKH:
        return base58check_encode(p2pkh, payload)
    if script_type == ScriptType.P2SH:
        return base58check_encode(p2sh, payload)
    if script_type == ScriptType.P2WPKH or script_type == ScriptType.P2WSH:
        return _segwit_address(hrp, 0, payload)
    if script_type == ScriptType.P2TR:
        return _segwit_address(hrp, 1, payload)
    if script_type == ScriptType.WITNESS_UNKNOWN:
        # payload is the whole script: OP_1..OP_16, then one direct push of 2..40 bytes. Version 0
        # with a program of another length than 20 or 32 has no address (BIP141, BIP173).
        if len(payload) >= 4 and 0x51 <= payload[0] <= 0x60 and payload[1] == len(payload) - 2 <= 40:
            return _segwit_address(hrp, payload[0] - 0x50, payload[2:])
    return None


def encode_address(script_type: int, payload: bytes, network: Network) -> str | None:
    """The address of an output script (type and payload from `classify`) on `network`; None
    for scripts that have no address (P2PK, bare multisig, OP_RETURN, non-standard)."""
    if script_type in _NO_ADDRESS:
        return None  # before the cache: 2009-2012 coinbases pay unique bare keys and would evict it
    return _encode(script_type, payload, network.p2pkh_prefix, network.p2sh_prefix, network.bech32_hrp)


def owner_label(script_type: int, payload: bytes, network: Network) -> str | None:
    """What a person calls the owner of an output: its address, or "pk:<hex>" for a bare public
    key (P2PK: most coinbases of 2009-2010 pay to one); None when the script names no owner."""
    if script_type == ScriptType.P2PK:
        return "pk:" + payload.hex()
    return encode_address(script_type, payload, network)


def _networks_with(pred: Callable[[Network], bool]) -> list[str]:
    return [n.name for n in NETWORKS.values() if pred(n)]


def _mismatch(address: str, network: Network, owners: list[str]) -> UsageError:
    if owners:
        return UsageError(
            f"address {address} belongs to {' / '.join(owners)}, not {network.name}",
            f"pass --network {owners[0]}, or an address of {network.name}" if len(owners) == 1
            else f"pass --network with one of {', '.join(owners)}, or an address of {network.name}",
        )
    return UsageError(
        f"address {address} belongs to no network minerwatch knows (checked against {network.name})",
        "check that the address was copied whole and is a Bitcoin address",
    )


def decode_address(address: str, network: Network) -> tuple[int, bytes]:
    """(script type, payload) as `classify` returns them for the script an address pays to;
    UsageError for a bad checksum, an invalid address or one of another network."""
    address = address.strip()
    decoded = bech32_decode(address)
    if decoded is not None:
        return _decode_segwit(address, decoded, network)
    sep = address.rfind("1")
    if sep > 0 and address[:sep].lower() in {n.bech32_hrp for n in NETWORKS.values()}:
        raise UsageError(
            f"address {address} is not valid bech32/bech32m (bad checksum, mixed case or character)",
            "a typo changes the checksum: copy the address again from its source",
        )
    return _decode_base58(address, network)


def _decode_segwit(address: str, decoded: tuple[str, list[int], int], network: Network) -> tuple[int, bytes]:
    hrp, data5, const = decoded
    if hrp != network.bech32_hrp:
        raise _mismatch(address, network, _networks_with(lambda n: n.bech32_hrp == hrp))
    if not data5 or data5[0] > 16:
        raise UsageError(f"address {address} has no valid witness version", "segwit versions are 0..16")
    version = data5[0]
    prog = _five_to_eight(data5[1:])
    if prog is None or not 2 <= len(prog) <= 40:
        raise UsageError(f"address {address} has an invalid witness program", "programs are 2..40 bytes")
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    if const != expected:
        raise UsageError(
            f"address {address} uses the wrong checksum for witness version {version}",
            "version 0 uses bech32 (BIP173), versions 1-16 bech32m (BIP350)",
        )
    if version == 0:
        if len(prog) == 20:
            return ScriptType.P2WPKH, prog
        if len(prog) == 32:
            return ScriptType.P2WSH, prog
        raise UsageError(
            f"address {address} has a {len(prog)}-byte version-0 program", "version 0 takes 20 or 32 bytes"
        )
    if version == 1 and len(prog) == 32:
        return ScriptType.P2TR, prog
    return ScriptType.WITNESS_UNKNOWN, bytes((0x50 + version, len(prog))) + prog


def _decode_base58(address: str, network: Network) -> tuple[int, bytes]:
    try:
        raw = base58_decode(address)
    except ValueError as e:
        raise UsageError(f"address {address} is not base58 or bech32: {e}",
                         "addresses start with 1, 3, m, n, 2, bc1, tb1 or bcrt1") from e
    if len(raw) != 25 or _checksum4(raw[:21]) != raw[21:]:
        raise UsageError(
            f"address {address} has a bad base58check checksum or length",
            "a typo changes the checksum: copy the address again from its source",
        )
    version, payload = raw[0], raw[1:21]
    if version == network.p2pkh_prefix:
        return ScriptType.P2PKH, payload
    if version == network.p2sh_prefix:
        return ScriptType.P2SH, payload
    raise _mismatch(address, network,
                    _networks_with(lambda n: version in (n.p2pkh_prefix, n.p2sh_prefix)))
