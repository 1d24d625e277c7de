"""Real signatures for test transactions: secp256k1 keys, ECDSA, BIP340 Schnorr, and the three
signature hashes (legacy, BIP143 segwit v0, BIP341 taproot key path), in pure Python.

Only for tests that hand blocks to Bitcoin Core's own validation (py-bitcoinkernel), which checks
every signature. Nonces are derived from the key and message (deterministic, not RFC 6979): fine
for throwaway regtest keys, never for real coins. Speed: ~10 ms per scalar multiplication.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from struct import pack

from minerwatch.chain.block import sha256d
from minerwatch.chain.txbuild import OutPoint, Tx, TxIn, hash160, make_tx, push, varint

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
Point = tuple[int, int] | None

SIGHASH_ALL = 0x01
SIGHASH_DEFAULT = 0x00   # taproot: ALL, with no byte appended to the signature


def _add(a: Point, b: Point) -> Point:
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], -1, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return x, (lam * (a[0] - x) - a[1]) % P


def mul(k: int, pt: Point = G) -> Point:
    """k · pt by double-and-add."""
    out: Point = None
    while k:
        if k & 1:
            out = _add(out, pt)
        pt = _add(pt, pt)
        k >>= 1
    return out


def tagged_hash(tag: str, data: bytes) -> bytes:
    t = sha256(tag.encode()).digest()
    return sha256(t + t + data).digest()


@dataclass(frozen=True)
class Key:
    """A private key and its public point, derived from a label."""

    secret: int
    point: tuple[int, int]

    @classmethod
    def from_label(cls, label: str) -> Key:
        secret = int.from_bytes(sha256(f"minerwatch-test-key:{label}".encode()).digest(), "big") % N
        pt = mul(secret)
        assert pt is not None
        return cls(secret, pt)

    @property
    def compressed(self) -> bytes:
        return bytes((2 + (self.point[1] & 1),)) + self.point[0].to_bytes(32, "big")

    @property
    def uncompressed(self) -> bytes:
        return b"\x04" + self.point[0].to_bytes(32, "big") + self.point[1].to_bytes(32, "big")

    @property
    def xonly(self) -> bytes:
        return self.point[0].to_bytes(32, "big")

    def sign_ecdsa(self, msg32: bytes) -> bytes:
        """Strict-DER ECDSA signature with low S (BIP62/BIP146), without the sighash byte."""
        k = int.from_bytes(sha256d(self.secret.to_bytes(32, "big") + msg32), "big") % N or 1
        r_pt = mul(k)
        assert r_pt is not None
        r = r_pt[0] % N
        s = pow(k, -1, N) * (int.from_bytes(msg32, "big") + r * self.secret) % N
        if s > N // 2:
            s = N - s
        return _der(r, s)

    def taproot_output_key(self) -> tuple[bytes, int]:
        """(x-only output key Q, tweaked secret) for a key-path-only taproot output (BIP341, BIP86)."""
        d = self.secret if self.point[1] % 2 == 0 else N - self.secret
        t = int.from_bytes(tagged_hash("TapTweak", self.xonly), "big")
        q = mul((d + t) % N)
        assert q is not None
        dq = (d + t) % N
        return q[0].to_bytes(32, "big"), dq


def _der(r: int, s: int) -> bytes:
    def enc(v: int) -> bytes:
        b = v.to_bytes(32, "big").lstrip(b"\x00")
        if b[0] & 0x80:
            b = b"\x00" + b
        return b"\x02" + bytes((len(b),)) + b

    body = enc(r) + enc(s)
    return b"\x30" + bytes((len(body),)) + body


def schnorr_sign(secret: int, msg32: bytes) -> bytes:
    """BIP340 signature with the secret `secret` (auxiliary randomness: 32 zero bytes)."""
    pt = mul(secret)
    assert pt is not None
    d = secret if pt[1] % 2 == 0 else N - secret
    px = pt[0].to_bytes(32, "big")
    t = (d ^ int.from_bytes(tagged_hash("BIP0340/aux", bytes(32)), "big")).to_bytes(32, "big")
    k0 = int.from_bytes(tagged_hash("BIP0340/nonce", t + px + msg32), "big") % N
    r_pt = mul(k0)
    assert r_pt is not None
    k = k0 if r_pt[1] % 2 == 0 else N - k0
    rx = r_pt[0].to_bytes(32, "big")
    e = int.from_bytes(tagged_hash("BIP0340/challenge", rx + px + msg32), "big") % N
    return rx + ((k + e * d) % N).to_bytes(32, "big")


# --- signature hashes -----------------------------------------------------------------------------

def _ser_outputs(tx: Tx) -> bytes:
    return b"".join(pack("<q", o.value_sat) + varint(len(o.script)) + o.script for o in tx.outputs)


def sighash_legacy(tx: Tx, index: int, script_code: bytes) -> bytes:
    """SIGHASH_ALL of a pre-segwit input: every scriptSig emptied but this input's, which is
    the spent script (it holds no OP_CODESEPARATOR here)."""
    parts = [pack("<i", tx.version), varint(len(tx.inputs))]
    for i, txin in enumerate(tx.inputs):
        sig = script_code if i == index else b""
        parts += [txin.prev.txid, pack("<I", txin.prev.vout), varint(len(sig)), sig, pack("<I", txin.sequence)]
    parts += [varint(len(tx.outputs)), _ser_outputs(tx), pack("<I", tx.lock_time), pack("<I", SIGHASH_ALL)]
    return sha256d(b"".join(parts))


def sighash_segwit_v0(tx: Tx, index: int, script_code: bytes, value_sat: int) -> bytes:
    """BIP143 SIGHASH_ALL."""
    txin = tx.inputs[index]
    prevouts = sha256d(b"".join(i.prev.txid + pack("<I", i.prev.vout) for i in tx.inputs))
    sequences = sha256d(b"".join(pack("<I", i.sequence) for i in tx.inputs))
    pre = (pack("<i", tx.version) + prevouts + sequences + txin.prev.txid + pack("<I", txin.prev.vout)
           + varint(len(script_code)) + script_code + pack("<q", value_sat) + pack("<I", txin.sequence)
           + sha256d(_ser_outputs(tx)) + pack("<I", tx.lock_time) + pack("<I", SIGHASH_ALL))
    return sha256d(pre)


def sighash_taproot(tx: Tx, index: int, spent: list[tuple[int, bytes]]) -> bytes:
    """BIP341 SIGHASH_DEFAULT for a key-path spend; `spent` = (value_sat, script) of every input."""
    msg = (b"\x00" + bytes((SIGHASH_DEFAULT,)) + pack("<i", tx.version) + pack("<I", tx.lock_time)
           + sha256(b"".join(i.prev.txid + pack("<I", i.prev.vout) for i in tx.inputs)).digest()
           + sha256(b"".join(pack("<q", v) for v, _ in spent)).digest()
           + sha256(b"".join(varint(len(s)) + s for _, s in spent)).digest()
           + sha256(b"".join(pack("<I", i.sequence) for i in tx.inputs)).digest()
           + sha256(_ser_outputs(tx)).digest()
           + b"\x00" + pack("<I", index))
    return tagged_hash("TapSighash", msg)


# --- spending -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spendable:
    """A coin and how to unlock it. kind: p2pkh, p2pk, p2pk65, p2wpkh, p2tr, or a raw unlock
    (script_sig, witness) for scripts that need no signature."""

    outpoint: OutPoint
    value_sat: int
    script: bytes
    kind: str
    key: Key | None = None
    unlock: tuple[bytes, tuple[bytes, ...]] = (b"", ())


def sign_tx(coins: list[Spendable], outputs: list[tuple[bytes, int]]) -> Tx:
    """A transaction spending `coins` to `outputs` [(script, value_sat)], every input signed."""
    unsigned = make_tx([TxIn(c.outpoint) for c in coins], outputs)
    spent = [(c.value_sat, c.script) for c in coins]
    inputs = []
    for i, c in enumerate(coins):
        script_sig, witness = c.unlock
        if c.kind in ("p2pkh", "p2pk", "p2pk65"):
            assert c.key is not None
            sig = c.key.sign_ecdsa(sighash_legacy(unsigned, i, c.script)) + bytes((SIGHASH_ALL,))
            script_sig = push(sig) + (push(c.key.compressed) if c.kind == "p2pkh" else b"")
        elif c.kind == "p2wpkh":
            assert c.key is not None
            code = b"\x76\xa9\x14" + hash160(c.key.compressed) + b"\x88\xac"
            sig = c.key.sign_ecdsa(sighash_segwit_v0(unsigned, i, code, c.value_sat)) + bytes((SIGHASH_ALL,))
            witness = (sig, c.key.compressed)
        elif c.kind == "p2tr":
            assert c.key is not None
            _, secret = c.key.taproot_output_key()
            witness = (schnorr_sign(secret, sighash_taproot(unsigned, i, spent)),)
        inputs.append(TxIn(c.outpoint, script_sig, witness))
    return make_tx(inputs, outputs)
