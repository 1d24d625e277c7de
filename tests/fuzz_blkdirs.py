"""Deterministic mutations of real blocks directories: the blk scanner's fuzz corpus.

The seeds are the real blk files of tests/data/blkfiles, as they are and rewritten as a node of
today would hold them (split into several files, obfuscated with xor.dat, preallocated with zeros,
holding stale copies and unconnected blocks). Each case changes one file (or xor.dat, or the set
of files) where damage happens: record magics and sizes, record boundaries, headers, a block's
CompactSize fields, whole records moved, duplicated or lost. Like fuzz_cases, case `i` of seed `s`
depends on `random.Random(f"{s}:{i}")` alone.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from block_layout import encode_compact_size, layout

DATA = Path(__file__).parent / "data"
KEPT = DATA / "fuzz" / "blkdirs"
MAGIC = bytes.fromhex("f9beb4d9")
OTHER_MAGICS = (bytes.fromhex("0b110907"), bytes.fromhex("fabfb5da"), bytes(4))  # testnet3, regtest, zero
KEY = bytes.fromhex("5c3a91e07d24b8f6")
MAX_BLOCK_BYTES = 4_000_000  # Core's MAX_BLOCK_SERIALIZED_SIZE
SIZE_VALUES = (0, 1, 80, 81, MAX_BLOCK_BYTES, MAX_BLOCK_BYTES + 1, 0x7FFF_FFFF, 0xFFFF_FFFF)


@dataclass(slots=True)
class BlkDir:
    """A blocks directory in memory: file name → plain (not obfuscated) bytes, and the XOR key."""

    files: dict[str, bytes]
    key: bytes | None = None        # the files are obfuscated with it
    # Other files, written as they are: xor.dat (normally the key), stray blk or rev files.
    extra: dict[str, bytes] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        """Write the directory to `path` (emptied first), obfuscating the blk files with the key."""
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        for name, data in self.files.items():
            (path / name).write_bytes(obfuscate(data, self.key) if self.key else data)
        for name, data in self.extra.items():
            (path / name).write_bytes(data)


def obfuscate(data: bytes, key: bytes) -> bytes:
    """Core 28's obfuscation (XOR with key[offset % 8]); written here, not taken from minerwatch."""
    stream = (key * (len(data) // 8 + 1))[:len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(len(data), "little")


def _records(data: bytes) -> list[tuple[int, int]]:
    """(offset of the record's magic, block size) of each record of a well-formed plain blk file."""
    out, pos = [], 0
    while pos + 8 <= len(data) and data[pos:pos + 4] == MAGIC:
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        out.append((pos, size))
        pos += 8 + size
    return out


def _frame(blocks: list[bytes]) -> bytes:
    return b"".join(MAGIC + len(b).to_bytes(4, "little") + b for b in blocks)


def _split(data: bytes) -> list[bytes]:
    return [data[p + 8:p + 8 + n] for p, n in _records(data)]


@cache
def seeds() -> tuple[tuple[str, BlkDir], ...]:
    """The seed directories, named."""
    real = (DATA / "blkfiles" / "mainnet-heights-0-438.dat").read_bytes()
    early = (DATA / "blkfiles" / "mainnet-heights-1-255.dat").read_bytes()
    lone = (DATA / "blkfiles" / "mainnet-height-277647.dat").read_bytes()
    blocks = _split(real)
    # Blocks in arrival order over four files of ~30 kB, as a node that downloaded them in
    # parallel would store them; obfuscated.
    shuffled = blocks[:]
    random.Random(438).shuffle(shuffled)
    split = {f"blk{n:05d}.dat": _frame(shuffled[n * 110:(n + 1) * 110]) for n in range(4)}
    return (
        ("real 0-438", BlkDir({"blk00000.dat": real})),
        ("real 0-438 shuffled over 4 obfuscated files", BlkDir(split, KEY, {"xor.dat": KEY})),
        ("1-255 then 0-438 (255 stale copies)", BlkDir({"blk00000.dat": early, "blk00001.dat": real})),
        ("0-438 and an unconnected block 277647, preallocated",
         BlkDir({"blk00000.dat": real + bytes(28_000), "blk00001.dat": lone + bytes(11_000)})),
    )


def _set(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new):]


def _mutate_file(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One damage to one plain blk file."""
    recs = _records(data)
    pos, size = rng.choice(recs)
    op = rng.randrange(11)
    if op == 0:
        flips = []
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(out)) if rng.random() < 0.5 else rng.choice(recs)[0] + rng.randrange(88)
            out[at] ^= 1 << (bit := rng.randrange(8))
            flips.append(f"{at}.{bit}")
        return f"bits flipped {', '.join(flips)}", bytes(out)
    if op == 1:
        new = rng.choice(SIZE_VALUES + (size - 1, size + 1, size + 8, size + 88))
        return f"size of the record at {pos}: {size} → {new}", _set(data, pos + 4, new.to_bytes(4, "little"))
    if op == 2:
        new = rng.choice(OTHER_MAGICS) if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in range(4))
        return f"magic of the record at {pos} → {new.hex()}", _set(data, pos, new)
    if op == 3:
        junk = bytes(rng.choice((1, 4, 7, 8, 64, 4096))) if rng.random() < 0.6 else \
            bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        return f"{len(junk)} bytes inserted before the record at {pos}", data[:pos] + junk + data[pos:]
    if op == 4:
        at = min(len(data), max(1, pos + rng.choice((0, 1, 4, 7, 8, 9, 40, 87, 88, 89, size + 7))))
        return f"file cut at byte {at}", data[:at]
    if op == 5:
        end = pos + 8 + size
        other, osize = rng.choice(recs)
        return f"record at {pos} copied to {other}", data[:other] + data[pos:end] + data[other:]
    if op == 6:
        return f"record at {pos} removed", data[:pos] + data[pos + 8 + size:]
    if op == 7:
        (other, osize) = rng.choice(recs)
        a, b = sorted(((pos, size), (other, osize)))
        if a == b:
            return "nothing", data
        ra, rb = data[a[0]:a[0] + 8 + a[1]], data[b[0]:b[0] + 8 + b[1]]
        return f"records at {a[0]} and {b[0]} swapped", \
            data[:a[0]] + rb + data[a[0] + 8 + a[1]:b[0]] + ra + data[b[0] + 8 + b[1]:]
    if op == 8:
        # A header field: version, previous hash, merkle root, time, bits or nonce.
        name, at, width = rng.choice((("version", 0, 4), ("prev hash", 4, 32), ("merkle root", 36, 32),
                                      ("time", 68, 4), ("bits", 72, 4), ("nonce", 76, 4)))
        new = bytes(rng.randrange(256) for _ in range(width)) if rng.random() < 0.5 else bytes(width)
        return f"header {name} of the record at {pos} → {new.hex()}", _set(data, pos + 8 + at, new)
    if op == 9:
        # A CompactSize inside the block, the record size kept right so that only the parser sees it.
        block = data[pos + 8:pos + 8 + size]
        try:
            fields = layout(block).fields
        except (IndexError, KeyError, ValueError):   # damaged by an earlier mutation of this case
            return f"zeros from the record at {pos} on", data[:pos] + bytes(len(data) - pos)
        f = rng.choice(fields)
        enc = encode_compact_size(rng.choice((0, 0xFD, 0xFFFF_FFFF, 2**63, 2**64 - 1, f.value + 1)))
        block = block[:f.offset] + enc + block[f.offset + f.width:]
        return f"{f.kind} at byte {f.offset} of the block at {pos} → {enc.hex()}", \
            data[:pos] + MAGIC + len(block).to_bytes(4, "little") + block + data[pos + 8 + size:]
    return f"zeros from the record at {pos} on", data[:pos] + bytes(len(data) - pos)


def mutated_dir(seed: int, i: int) -> tuple[str, BlkDir]:
    """Case `i` of run `seed`: a seed directory with one (in 1 case of 4, two) damages."""
    rng = random.Random(f"{seed}:{i}")
    name, base = rng.choice(seeds())
    d = BlkDir(dict(base.files), base.key, dict(base.extra))
    what = []
    for _ in range(2 if rng.random() < 0.25 else 1):
        r = rng.random()
        if r < 0.85:
            target = rng.choice(sorted(d.files))
            if not _records(d.files[target]):
                continue
            change, d.files[target] = _mutate_file(rng, d.files[target])
            what.append(f"{target}: {change}")
        elif r < 0.92:
            key = rng.choice((None, KEY, KEY[:7], bytes(8), bytes.fromhex("0123456789abcdef"), KEY + b"\x00"))
            if key is None:
                d.extra.pop("xor.dat", None)
            else:
                d.extra["xor.dat"] = key
            what.append(f"xor.dat {'removed' if key is None else key.hex()}")
        else:
            extra = rng.choice((("blk00009.dat", b""), ("blk00007.dat", bytes(4096)),
                                ("blk00008.dat", bytes(rng.randrange(256) for _ in range(300))),
                                ("rev00000.dat", bytes(100)), ("blk0001.dat", MAGIC)))
            d.extra[extra[0]] = extra[1]
            what.append(f"{extra[0]} of {len(extra[1])} bytes added")
    return f"{name}: {'; '.join(what) or 'unchanged'}", d


def kept_dirs() -> list[Path]:
    """The kept crashers: blocks directories that once failed otherwise than with a MinerwatchError."""
    return sorted(p for p in KEPT.iterdir() if p.is_dir()) if KEPT.is_dir() else []
