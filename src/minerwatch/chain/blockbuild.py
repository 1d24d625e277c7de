"""Building blocks for constructed chains: coinbase (BIP34, tag, segwit commitment), header, genesis."""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from struct import pack
from typing import Sequence

from minerwatch.chain.block import merkle_root, sha256d
from minerwatch.chain.txbuild import OutPoint, Tx, TxIn, TxOut, make_tx, op_return, p2pk, push, push_int, varint
from minerwatch.consensus import bits_to_target
from minerwatch.errors import UsageError
from minerwatch.networks import Network

NULL_HASH = b"\x00" * 32
# Core's witness commitment: OP_RETURN push(36) aa21a9ed <sha256d(witness root ‖ reserved value)>.
WITNESS_COMMITMENT_HEADER = bytes.fromhex("aa21a9ed")
WITNESS_RESERVED_VALUE = b"\x00" * 32
# Grind nonces only where a block takes few hashes (regtest's 0x207fffff needs ~2); a demo chain at
# mainnet difficulty would need ~6e23 hashes, so its proof of work is left unmet (it is labelled simulated).
_GRIND_MIN_TARGET = 1 << 240
DEFAULT_VERSION = 0x20000000  # BIP9 version bits, no deployment signalled


def coinbase_script_sig(height: int, tag: bytes, extra_nonce: bytes = b"") -> bytes:
    """BIP34 height push, then the pool tag as one push, then an optional extra nonce push."""
    script = push_int(height) + (push(tag) if tag else b"") + (push(extra_nonce) if extra_nonce else b"")
    if len(script) < 2:  # consensus: a coinbase scriptSig is 2 to 100 bytes
        script += b"\x00"
    if len(script) > 100:
        raise UsageError(f"coinbase scriptSig of {len(script)} bytes", "keep the tag under ~90 bytes")
    return script


def witness_commitment_script(wtxids: Sequence[bytes]) -> bytes:
    """The coinbase's segwit commitment output script for a block whose non-coinbase wtxids are given."""
    root = merkle_root([NULL_HASH, *wtxids])  # the coinbase's wtxid counts as all zeros (BIP141)
    return b"\x6a\x24" + WITNESS_COMMITMENT_HEADER + sha256d(root + WITNESS_RESERVED_VALUE)


def coinbase_tx(
    height: int,
    tag: bytes,
    payouts: Sequence[tuple[bytes, int]],
    segwit_wtxids: Sequence[bytes] | None = None,
    extra_nonce: bytes = b"",
) -> Tx:
    """A coinbase paying `payouts` [(script, value_sat)]; with `segwit_wtxids` (the block's other
    transactions' wtxids, when any is segwit) it carries the witness reserved value and commitment."""
    witness: tuple[bytes, ...] = ()
    outputs = [TxOut(v, s) for s, v in payouts]
    if segwit_wtxids is not None:
        witness = (WITNESS_RESERVED_VALUE,)
        outputs.append(TxOut(0, witness_commitment_script(segwit_wtxids)))
    cb_in = TxIn(OutPoint(NULL_HASH, 0xFFFFFFFF), coinbase_script_sig(height, tag, extra_nonce), witness)
    return make_tx([cb_in], outputs, version=2 if height else 1)


def header_bytes(version: int, prev_hash: bytes, merkle: bytes, time_s: int, bits: int, nonce: int) -> bytes:
    """The 80-byte header."""
    return pack("<i32s32sIII", version, prev_hash, merkle, time_s, bits, nonce)


@dataclass(frozen=True, slots=True)
class BuiltBlock:
    raw: bytes
    hash: bytes       # internal byte order
    time_s: int
    bits: int
    txs: tuple[Tx, ...]


def assemble_block(
    txs: Sequence[Tx], prev_hash: bytes, time_s: int, bits: int, version: int = DEFAULT_VERSION, nonce: int = 0,
) -> BuiltBlock:
    """Header over `txs` (coinbase first). Grinds the nonce when the target is easy (regtest)."""
    merkle = merkle_root([t.txid for t in txs])
    head = header_bytes(version, prev_hash, merkle, time_s, bits, nonce)
    target = bits_to_target(bits)
    if target >= _GRIND_MIN_TARGET:
        while int.from_bytes(sha256d(head), "little") > target:
            nonce += 1
            head = head[:76] + pack("<I", nonce)
    raw = head + varint(len(txs)) + b"".join(t.raw for t in txs)
    return BuiltBlock(raw, sha256d(head), time_s, bits, tuple(txs))


# --- genesis blocks --------------------------------------------------------------------------------

_SATOSHI_KEY = bytes.fromhex(
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb6"
    "49f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
)
_TIMES = b"The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"
_TESTNET4 = b"03/May/2024 000000000000000000001ebd58c244970b3aa9d783bb001011fbe8ea8e98e00e"
# name: (message, output key, time, bits, nonce) exactly as Bitcoin Core's chainparams.cpp
_GENESIS = {
    "mainnet": (_TIMES, _SATOSHI_KEY, 1231006505, 0x1D00FFFF, 2083236893),
    "testnet3": (_TIMES, _SATOSHI_KEY, 1296688602, 0x1D00FFFF, 414098458),
    "testnet4": (_TESTNET4, b"\x00" * 33, 1714777860, 0x1D00FFFF, 393743547),
    "signet": (_TIMES, _SATOSHI_KEY, 1598918400, 0x1E0377AE, 52613770),
    "regtest": (_TIMES, _SATOSHI_KEY, 1296688602, 0x207FFFFF, 2),
    # rehearsal: the mainnet-shaped benchmark chain (benchmarks/rehearsal.py). Mainnet's genesis time
    # and bits, its own message and key so that its hash is its own; not mined (simulated).
    "rehearsal": (b"minerwatch rehearsal: a mainnet-shaped chain for benchmarks, not Bitcoin",
                  b"\x02" + sha256(b"minerwatch rehearsal genesis").digest(), 1231006505, 0x1D00FFFF, 0),
}
# simnet: minerwatch's simulated demo chain. It opens on 2025-01-01T00:00:00Z at a mainnet-like
# difficulty of 1.1e14 (bits 0x17028f0f ≈ 1.10000e14), so the demo never needs the ~24 fourfold retargets a
# chain starting at difficulty 1 would take. Its output pays today's 3.125 BTC subsidy.
SIMNET_GENESIS_TIME_S = 1_735_689_600
SIMNET_GENESIS_BITS = 0x17028F0F
_SIMNET_MESSAGE = b"minerwatch simnet 2025-01-01: a simulated chain for the demo, not Bitcoin"
_SIMNET_KEY = b"\x02" + sha256(b"minerwatch simnet genesis").digest()


def genesis_block(network: Network) -> BuiltBlock:
    """The genesis block of `network`, byte for byte (its hash equals network.genesis_hash)."""
    if network.name == "simnet":
        message, pubkey, time_s, bits, nonce = _SIMNET_MESSAGE, _SIMNET_KEY, SIMNET_GENESIS_TIME_S, \
            SIMNET_GENESIS_BITS, 0
    elif network.name in _GENESIS:
        message, pubkey, time_s, bits, nonce = _GENESIS[network.name]
    else:
        raise UsageError(f"no genesis block known for {network.name!r}", "use one of: " + ", ".join(_GENESIS))
    # scriptSig as Core writes it: CScript() << 486604799 << CScriptNum(4) << message
    script_sig = push(pack("<I", 486604799)) + push(b"\x04") + push(message)
    tx = make_tx([TxIn(OutPoint(NULL_HASH, 0xFFFFFFFF), script_sig)],
                 [TxOut(network.initial_subsidy_sat, p2pk(pubkey))], version=1)
    raw_header = header_bytes(1, NULL_HASH, tx.txid, time_s, bits, nonce)
    return BuiltBlock(raw_header + b"\x01" + tx.raw, sha256d(raw_header), time_s, bits, (tx,))


__all__ = [
    "BuiltBlock", "DEFAULT_VERSION", "SIMNET_GENESIS_BITS", "SIMNET_GENESIS_TIME_S", "assemble_block",
    "coinbase_script_sig", "coinbase_tx", "genesis_block", "header_bytes", "op_return", "witness_commitment_script",
]
