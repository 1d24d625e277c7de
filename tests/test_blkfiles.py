"""The blk-file reader on real mainnet blk files, and on the same blocks rewritten as a node would.

Expected hashes are well-known mainnet values (block explorers; the first 9,000 headers published
by bitcoin-s agree). The rewritten directories are built from the real blocks, split out of
tests/data/blkfiles/mainnet-heights-0-438.dat by the small loop in `_real_blocks`, which shares no
code with the reader.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from concurrent.futures import Future
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from minerwatch.chain.blkfiles import (
    BestChain,
    ParserPool,
    best_chain,
    iter_blocks,
    iter_parsed,
    iter_raw_blocks,
    scan,
    write_blk_files,
    xor_at,
)
from minerwatch.chain.builder import ChainBuilder
from minerwatch.errors import MinerwatchError, NetworkMismatchError, ParseError, UsageError
from minerwatch.networks import get_network

DATA = Path(__file__).parent / "data" / "blkfiles"
MAINNET = get_network("mainnet")
REGTEST = get_network("regtest")
GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
KNOWN = {
    0: GENESIS,
    1: "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048",
    2: "000000006a625f06636b8bb6ac7b960a8d03705d1ace08b1a19da3fdcc99ddbd",
    100: "000000007bc154e0fa7ea32218a72fe2c1bb9f86cf8c9ebf9a715ed27fdb229a",
    170: "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee",
    438: "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a",
}
# The first bitcoin payment between two people: Satoshi → Hal Finney in block 170.
HAL_TXID = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
XOR_KEY = bytes.fromhex("a3f01c5e9b2d7c48")


def _sha256d(b: bytes) -> bytes:
    return sha256(sha256(b).digest()).digest()


def _display(h: bytes) -> str:
    return h[::-1].hex()


def _real_blocks(name: str = "mainnet-heights-0-438.dat") -> list[bytes]:
    """The serialized blocks of a real blk file, in file order (magic, LE size, block)."""
    data = (DATA / name).read_bytes()
    blocks, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 4] == bytes.fromhex("f9beb4d9")
        (size,) = struct.unpack_from("<I", data, pos + 4)
        blocks.append(data[pos + 8:pos + 8 + size])
        pos += 8 + size
    return blocks


REAL = _real_blocks()
REAL_HASHES = [_display(_sha256d(b[:80])) for b in REAL]


def _with_nonce(raw: bytes, nonce: int) -> bytes:
    """The same block with another header nonce: same prev and merkle root, another hash."""
    return raw[:76] + struct.pack("<I", nonce) + raw[80:]


def _with_prev(raw: bytes, prev_display: str) -> bytes:
    return raw[:4] + bytes.fromhex(prev_display)[::-1] + raw[36:]


def _hash_of(raw: bytes) -> str:
    return _display(_sha256d(raw[:80]))


def _chain_hashes(chain: BestChain) -> list[str]:
    return [_display(r.hash) for r in chain.records]


def _copy_real(tmp_path: Path, name: str) -> Path:
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(DATA / name, blocks / "blk00000.dat")
    return blocks


def _chain_of(blocks: Path) -> BestChain:
    return best_chain(scan(blocks, MAINNET), MAINNET)


# --- the real files ------------------------------------------------------------------------------

def test_real_file_0_438_gives_heights_0_to_438(tmp_path: Path) -> None:
    chain = _chain_of(_copy_real(tmp_path, "mainnet-heights-0-438.dat"))
    assert (chain.start_height, chain.tip_height, len(chain)) == (0, 438, 439)
    hashes = _chain_hashes(chain)
    for height, expected in KNOWN.items():
        assert hashes[height] == expected, height
    for height in range(438):
        assert chain.records[height + 1].prev_hash == chain.records[height].hash
    assert (chain.stale_count, chain.orphan_count, chain.duplicate_count) == (0, 0, 0)
    assert _display(chain.at(170).hash) == KNOWN[170]
    with pytest.raises(IndexError):
        chain.at(439)


def test_block_170_holds_the_payment_to_hal_finney(tmp_path: Path) -> None:
    blocks = _copy_real(tmp_path, "mainnet-heights-0-438.dat")
    [(height, record, block)] = list(iter_blocks(blocks, MAINNET, start_height=170, stop_height=170))
    assert height == 170 and _display(record.hash) == KNOWN[170] == _display(block.hash)
    assert [_display(t) for t in block.txids][1] == HAL_TXID
    # 10 BTC to Hal Finney, 40 BTC back to Satoshi.
    paid = sorted(v for t, v in zip(block.out_tx, block.out_value_sat) if t == 1)
    assert paid == [10 * 100_000_000, 40 * 100_000_000]


def test_file_1_255_alone_starts_at_height_1(tmp_path: Path) -> None:
    # Its first block builds on the genesis block, which is not in the file.
    chain = _chain_of(_copy_real(tmp_path, "mainnet-heights-1-255.dat"))
    assert (chain.start_height, chain.tip_height, len(chain)) == (1, 255, 255)
    assert _chain_hashes(chain)[0] == KNOWN[1]
    assert chain.records[0].prev_hash[::-1].hex() == GENESIS
    # Two independent sources (bitcoinj's file and btcd's) agree on every height.
    assert _chain_hashes(chain) == REAL_HASHES[1:256]


def test_block_277647_alone_needs_the_nodes_hashes(tmp_path: Path) -> None:
    blocks = _copy_real(tmp_path, "mainnet-height-277647.dat")
    index = scan(blocks, MAINNET)
    with pytest.raises(MinerwatchError, match="connects to the mainnet genesis"):
        best_chain(index, MAINNET)
    only = _display(index.records[0].hash)
    [(height, _, block)] = list(iter_blocks(blocks, MAINNET, canonical_hashes={277647: only}))
    # The coinbase states its own height (BIP34), independently of the hash we were given.
    assert height == 277647 == block.bip34_height


def test_iter_raw_blocks_returns_the_stored_bytes(tmp_path: Path) -> None:
    blocks = _copy_real(tmp_path, "mainnet-heights-0-438.dat")
    got = list(iter_raw_blocks(blocks, MAINNET, start_height=100, stop_height=102))
    assert [(h, raw) for h, _, raw in got] == [(100, REAL[100]), (101, REAL[101]), (102, REAL[102])]


# --- rewritten like a node ---------------------------------------------------------------------

def test_split_over_several_files(tmp_path: Path) -> None:
    paths = write_blk_files(tmp_path / "blocks", MAINNET, REAL, max_file_bytes=20_000)
    # 99,969 bytes of records cannot fit in fewer than 5 files of under 20,000 bytes.
    assert len(paths) >= 5
    assert all(0 < p.stat().st_size < 20_000 for p in paths)
    # Core's rule: a file ends only when the next record would bring it to the limit or past it.
    for done, following in zip(paths, paths[1:]):
        (next_size,) = struct.unpack_from("<I", following.read_bytes(), 4)
        assert done.stat().st_size + 8 + next_size >= 20_000
    assert _chain_hashes(_chain_of(tmp_path / "blocks")) == REAL_HASHES


def test_shuffled_order(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, shuffle_seed=7)
    index = scan(blocks, MAINNET)
    assert [_display(r.hash) for r in index.records] != REAL_HASHES   # really out of order
    chain = best_chain(index, MAINNET)
    assert _chain_hashes(chain) == REAL_HASHES and chain.stale_count == 0


def test_xor_obfuscated_files(tmp_path: Path) -> None:
    plain, obf = tmp_path / "plain", tmp_path / "obf"
    write_blk_files(plain, MAINNET, REAL, max_file_bytes=30_000)
    paths = write_blk_files(obf, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    assert (obf / "xor.dat").read_bytes() == XOR_KEY
    # Byte p of every file is the plain byte XOR key[p % 8] (the offset within the file picks the key byte).
    for p in paths:
        raw, clear = p.read_bytes(), (plain / p.name).read_bytes()
        assert raw[:4] != MAINNET.magic
        assert bytes(b ^ XOR_KEY[i % 8] for i, b in enumerate(raw)) == clear
    assert _chain_hashes(_chain_of(obf)) == REAL_HASHES
    assert [(h, raw) for h, _, raw in iter_raw_blocks(obf, MAINNET)] == list(enumerate(REAL))


def test_obfuscated_files_without_xor_dat_say_so(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL, xor_key=XOR_KEY)
    (blocks / "xor.dat").unlink()
    with pytest.raises(ParseError) as e:
        scan(blocks, MAINNET)
    assert (e.value.source, e.value.offset) == ("blk00000.dat", 0)
    assert "xor.dat" in e.value.hint


@pytest.mark.parametrize("key", [None, XOR_KEY])
def test_zero_padding_ends_a_file(tmp_path: Path, key: bytes | None) -> None:
    blocks = tmp_path / "blocks"
    paths = write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=key, preallocate_bytes=16_384)
    assert all(p.stat().st_size % 16_384 == 0 for p in paths)
    assert all(p.read_bytes().endswith(bytes(100)) for p in paths)
    index = scan(blocks, MAINNET)
    assert len(index.records) == 439 and index.incomplete_tail is None
    assert _chain_hashes(best_chain(index, MAINNET)) == REAL_HASHES


# What is on disk of the last record: part of its magic and size; the size and most of the header;
# all but its last 10 bytes; only the magic, then the zeros of preallocated space.
@pytest.mark.parametrize(("keep_of_last", "zeros_after"), [(5, 0), (8 + 80 - 1, 0), (-10, 0), (4, 4096)])
def test_block_still_being_written_ends_the_scan(tmp_path: Path, keep_of_last: int, zeros_after: int) -> None:
    blocks = tmp_path / "blocks"
    paths = write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    last = paths[-1]
    data = last.read_bytes()
    # Written in height order, the last record holds block 438: it starts 8 + its size before the end.
    start = len(data) - 8 - len(REAL[438])
    kept = data[:start + keep_of_last] if keep_of_last > 0 else data[:keep_of_last]
    last.write_bytes(kept + bytes(zeros_after))
    index = scan(blocks, MAINNET)
    assert index.incomplete_tail == (len(paths) - 1, start)
    chain = best_chain(index, MAINNET)
    assert (chain.tip_height, _chain_hashes(chain)[-1]) == (437, REAL_HASHES[437])


def test_cut_short_earlier_file_is_stepped_over_and_reported(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000)
    middle = blocks / "blk00001.dat"
    data = middle.read_bytes()
    (first_size,) = struct.unpack_from("<I", data, 4)
    middle.write_bytes(data[:8 + first_size + 50])     # the second record loses its end
    index = scan(blocks, MAINNET)
    # The 50 bytes left of that record are stepped over; the files after it are still read.
    assert [(k.file_name, k.offset, k.size_bytes) for k in index.skipped] == [("blk00001.dat", 8 + first_size, 50)]
    assert "past the end of the file" in index.skipped[0].reason
    chain = best_chain(index, MAINNET)
    lost = len(_real_blocks_in(blocks / "blk00000.dat")) + 1     # the first file's blocks, then one more
    later = sum(len(_real_blocks_in(blocks / f"blk0000{n}.dat")) for n in (2, 3))
    # The chain stops below the lost block; every block of the later files is kept, as an orphan.
    assert chain.tip_height == lost - 1 and chain.orphan_count == later == 439 - 126 - 134


def _real_blocks_in(path: Path) -> list[bytes]:
    data, out, pos = path.read_bytes(), [], 0
    while pos < len(data):
        (size,) = struct.unpack_from("<I", data, pos + 4)
        out.append(data[pos + 8:pos + 8 + size])
        pos += 8 + size
    return out


@pytest.mark.parametrize("damage", [b"\xde\xad\xbe\xef", b"\xf9\xbe\xb4\xd9\xff\xff\xff\xff", bytes(4)])
def test_damaged_record_in_a_middle_file_is_stepped_over(tmp_path: Path, damage: bytes) -> None:
    blocks = tmp_path / "blocks"
    paths = write_blk_files(blocks, MAINNET, REAL, max_file_bytes=30_000, xor_key=XOR_KEY)
    assert len(paths) >= 3
    middle = blocks / "blk00001.dat"
    data = bytearray(middle.read_bytes())
    (first_size,) = struct.unpack("<I", bytes(b ^ XOR_KEY[4 + i] for i, b in enumerate(data[4:8])))
    at = 8 + first_size                                  # the second record of the file
    (second_size,) = struct.unpack("<I", bytes(b ^ XOR_KEY[(at + 4 + i) % 8] for i, b in enumerate(data[at + 4:at + 8])))
    data[at:at + len(damage)] = bytes(b ^ XOR_KEY[(at + i) % 8] for i, b in enumerate(damage))
    middle.write_bytes(bytes(data))
    index = scan(blocks, MAINNET)
    # Everything up to the third record's magic is stepped over: the damaged record, whole.
    assert [(k.file_name, k.offset, k.size_bytes) for k in index.skipped] == [("blk00001.dat", at, 8 + second_size)]
    assert index.skipped[0].describe().startswith(f"blk00001.dat: {8 + second_size:,} bytes at byte {at:,} (")
    assert len(index.records) == 438                     # every other block of every file
    chain = best_chain(index, MAINNET)
    # The first file holds heights 0–133 (30,000-byte files), the middle one's first record is 134,
    # its second (135) is the damaged one: the chain ends at 134, and 136–438 cannot connect.
    assert chain.tip_height == 134 and chain.orphan_count == 438 - 135


def test_zero_bytes_between_records_do_not_end_the_file(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    records = [bytes.fromhex("f9beb4d9") + struct.pack("<I", len(b)) + b for b in REAL]
    # 64 zero bytes after block 199: before, the scan took them for preallocated space and ended.
    (blocks / "blk00000.dat").write_bytes(b"".join(records[:200]) + bytes(64) + b"".join(records[200:]))
    index = scan(blocks, MAINNET)
    assert [(k.offset, k.size_bytes) for k in index.skipped] == [(sum(map(len, records[:200])), 64)]
    assert _chain_hashes(best_chain(index, MAINNET)) == REAL_HASHES


def test_a_damaged_header_never_becomes_the_tip(tmp_path: Path) -> None:
    damaged = list(REAL)
    damaged[200] = damaged[200][:40] + bytes([damaged[200][40] ^ 1]) + damaged[200][41:]   # one bit of its merkle root
    write_blk_files(tmp_path / "blocks", MAINNET, damaged)
    chain = _chain_of(tmp_path / "blocks")
    # Its hash no longer meets its target, so it is invalid, and 201–438 cannot connect.
    assert chain.tip_height == 199 and (chain.invalid_count, chain.orphan_count) == (1, 238)


@pytest.mark.parametrize("workers", [1, 2])
def test_corrupt_block_body_names_file_and_offset(tmp_path: Path, workers: int) -> None:
    blocks = tmp_path / "blocks"
    damaged = list(REAL)
    # Flip a byte inside block 300's coinbase script: the merkle root no longer matches.
    damaged[300] = damaged[300][:90] + bytes([damaged[300][90] ^ 1]) + damaged[300][91:]
    write_blk_files(blocks, MAINNET, damaged)
    body_300 = sum(8 + len(b) for b in REAL[:300]) + 8
    with pytest.raises(ParseError) as e:
        list(iter_blocks(blocks, MAINNET, workers=workers, chunk_bytes=10_000))
    # The header's merkle root field starts 36 bytes into the block.
    assert (e.value.source, e.value.offset) == ("blk00000.dat", body_300 + 36)
    assert "merkle" in e.value.message
    # blk00000.dat is the last file here: the node may be writing into it right now.
    assert "still be writing" in e.value.hint


def test_corrupt_block_body_in_an_earlier_file_is_not_blamed_on_the_node(tmp_path: Path) -> None:
    damaged = list(REAL)
    damaged[300] = damaged[300][:90] + bytes([damaged[300][90] ^ 1]) + damaged[300][91:]
    paths = write_blk_files(tmp_path / "blocks", MAINNET, damaged, max_file_bytes=30_000)
    with pytest.raises(ParseError) as e:
        list(iter_blocks(tmp_path / "blocks", MAINNET))
    assert e.value.source != paths[-1].name and "merkle" in e.value.message
    assert "still be writing" not in e.value.hint


def _regtest_fork() -> tuple[list[bytes], list[bytes]]:
    """A regtest chain of heights 0–12 and a branch of 13 blocks off its height 9 (10'–13'): regtest
    blocks meet their proof of work, which no rewritten mainnet block can."""
    main_chain = ChainBuilder("regtest", start_time_s=1_700_000_000)
    for _ in range(12):
        main_chain.mine()
    branch = main_chain.fork(9)
    for _ in range(4):
        branch.mine(tag="/branch/")
    return main_chain.blocks, branch.blocks[10:]


def test_equal_work_competitor_first_seen_wins(tmp_path: Path) -> None:
    main_chain, branch = _regtest_fork()
    rival = branch[:3]                       # 10'–12': as much work as 10–12
    write_blk_files(tmp_path / "a", REGTEST, main_chain + rival)
    write_blk_files(tmp_path / "b", REGTEST, main_chain[:10] + rival + main_chain[10:])
    a, b = best_chain(scan(tmp_path / "a", REGTEST), REGTEST), best_chain(scan(tmp_path / "b", REGTEST), REGTEST)
    assert _chain_hashes(a) == [_hash_of(x) for x in main_chain] and a.stale_count == 3
    assert _chain_hashes(b) == [_hash_of(x) for x in main_chain[:10] + rival] and b.stale_count == 3


def test_longer_competing_branch_wins_by_work(tmp_path: Path) -> None:
    main_chain, branch = _regtest_fork()
    # The branch comes first in the files, but the main chain's blocks come first too in a second layout.
    write_blk_files(tmp_path / "blocks", REGTEST, main_chain + branch, max_file_bytes=1_000, shuffle_seed=3)
    chain = best_chain(scan(tmp_path / "blocks", REGTEST), REGTEST)
    # Every regtest block has bits 0x207fffff (the same work), so four branch blocks beat three.
    assert (chain.start_height, chain.tip_height) == (0, 13)
    assert _chain_hashes(chain) == [_hash_of(b) for b in main_chain[:10] + branch]
    assert (chain.stale_count, chain.orphan_count, chain.invalid_count) == (3, 0, 0)


def _longer_fork() -> list[bytes]:
    """Three blocks 437', 438', 439' forking off the real block 436 (real bodies, another nonce)."""
    f437 = _with_nonce(REAL[437], 1)
    f438 = _with_nonce(_with_prev(REAL[438], _hash_of(f437)), 2)
    f439 = _with_nonce(_with_prev(REAL[438], _hash_of(f438)), 3)
    return [f437, f438, f439]


def test_a_longer_branch_without_proof_of_work_loses(tmp_path: Path) -> None:
    fork = _longer_fork()   # real blocks with another nonce: their hashes miss the target
    write_blk_files(tmp_path / "blocks", MAINNET, REAL + fork, max_file_bytes=30_000, shuffle_seed=3)
    chain = _chain_of(tmp_path / "blocks")
    assert _chain_hashes(chain) == REAL_HASHES
    assert (chain.stale_count, chain.orphan_count, chain.invalid_count) == (0, 0, 3)


def test_nodes_canonical_hashes_are_followed(tmp_path: Path) -> None:
    main_chain, branch = _regtest_fork()
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, REGTEST, main_chain + branch, shuffle_seed=5)
    index = scan(blocks, REGTEST)
    hashes = [_hash_of(b) for b in main_chain]
    node = dict(enumerate(hashes))
    chain = best_chain(index, REGTEST, canonical_hashes=node)
    assert chain.followed_node and _chain_hashes(chain) == hashes
    assert (chain.stale_count, chain.missing_heights) == (4, [])
    # The node is one block ahead of its files: that height is named as missing.
    ahead = best_chain(index, REGTEST, canonical_hashes=node | {13: "00" * 32})
    assert ahead.tip_height == 12 and ahead.missing_heights == [13]


def test_orphans_and_duplicates_are_counted(tmp_path: Path) -> None:
    without_200 = REAL[:200] + REAL[201:]
    write_blk_files(tmp_path / "blocks", MAINNET, without_200 + [REAL[5]])
    chain = _chain_of(tmp_path / "blocks")
    assert chain.tip_height == 199
    assert (chain.orphan_count, chain.duplicate_count, chain.stale_count) == (438 - 200, 1, 0)


def test_another_networks_magic(tmp_path: Path) -> None:
    write_blk_files(tmp_path / "blocks", get_network("testnet3"), REAL[:3])
    with pytest.raises(NetworkMismatchError) as e:
        scan(tmp_path / "blocks", MAINNET)
    assert "testnet3" in e.value.message and "--network testnet3" in e.value.hint


def test_unusable_directories_explain_themselves(tmp_path: Path) -> None:
    with pytest.raises(MinerwatchError, match="does not exist") as e:
        scan(tmp_path / "nowhere", MAINNET)
    assert "--blocks-dir" in e.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(MinerwatchError, match="no blk"):
        scan(tmp_path / "empty", MAINNET)
    (tmp_path / "odd" / "blk00000.dat").mkdir(parents=True)   # a directory where a file should be
    with pytest.raises(MinerwatchError, match="blk00000.dat"):
        scan(tmp_path / "odd", MAINNET)


def test_xor_at_any_offset_length_and_key() -> None:
    """De-obfuscation from a cached key stream equals XOR byte by byte: lengths from 1 byte past
    the cache's first size, every offset modulo 8, two keys taking turns (the cache follows)."""
    other_key = bytes.fromhex("0102030405060708")
    data = bytes(range(256)) * 1100
    for n in (1, 7, 80, 65_536, 65_543, 200_000, 281_600):
        for offset in (0, 1, 5, 7, 8 + 3, 1 << 40):
            for key in (XOR_KEY, other_key):
                want = bytes(b ^ key[(offset + i) % 8] for i, b in enumerate(data[:n]))
                assert xor_at(data[:n], key, offset) == want, (n, offset, key.hex())
    assert xor_at(b"", XOR_KEY, 3) == b"" and xor_at(b"abc", bytes(8), 3) == b"abc"


def test_two_workers_give_exactly_what_one_gives(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL + _longer_fork(), max_file_bytes=25_000, xor_key=XOR_KEY,
                    shuffle_seed=11, preallocate_bytes=4096)
    one = list(iter_blocks(blocks, MAINNET, workers=1))
    two = list(iter_blocks(blocks, MAINNET, workers=2, chunk_bytes=3_000))
    assert len(one) == 439 and [h for h, _, _ in one] == list(range(439))
    assert one == two
    # A consumer that stops early gets the same prefix and leaves no work behind.
    assert list(iter_blocks(blocks, MAINNET, start_height=50, stop_height=60, workers=2, chunk_bytes=500)) \
        == one[50:61]


def test_blocks_for_the_ingest_are_the_same_from_packing_workers(tmp_path: Path) -> None:
    """iter_parsed's workers compute the facts and send the columns packed; the parent rebuilds them."""
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL + _longer_fork(), max_file_bytes=25_000, xor_key=XOR_KEY,
                    shuffle_seed=11, preallocate_bytes=4096)
    columns = ("txids", "out_tx", "out_vout", "out_value_sat", "out_type", "out_payload", "in_tx", "in_prev_txid",
               "in_prev_vout")

    def plain(stream: list) -> list:
        return [(h, rec, p.facts, [list(getattr(p.columns, c)) for c in columns]) for h, rec, p in stream]

    one = list(iter_parsed(blocks, MAINNET, workers=1))
    two = list(iter_parsed(blocks, MAINNET, workers=2, chunk_bytes=3_000))
    assert [h for h, _, _ in one] == list(range(439)) and [p.facts.height for _, _, p in one] == list(range(439))
    assert plain(one) == plain(two)
    # The facts are the block's own (heights, hashes) and the columns are the parser's, row for row.
    for (h, _, parsed), (_, _, block) in zip(one, iter_blocks(blocks, MAINNET, workers=1)):
        assert parsed.facts.hash_hex == KNOWN.get(h, parsed.facts.hash_hex) == block.hash[::-1].hex()
        assert [list(getattr(parsed.columns, c)) for c in columns] == [list(getattr(block, c)) for c in columns]
    assert plain(list(iter_parsed(blocks, MAINNET, start_height=50, stop_height=60, workers=2, chunk_bytes=500))) \
        == plain(one[50:61])
    # Workers started ahead of the read (as a sync starts them before scanning) give the same.
    parsers = ParserPool(2)
    assert plain(list(iter_parsed(blocks, MAINNET, workers=2, chunk_bytes=3_000, parsers=parsers))) == plain(one)
    parsers.close()   # closed by the read already: harmless
    other = ParserPool(2)
    with pytest.raises(UsageError, match="a pool of 2 parsers for 3 workers"):
        next(iter_parsed(blocks, MAINNET, workers=3, parsers=other))
    other.close()


class _LateFuture(Future):  # type: ignore[type-arg]
    """A worker's chunk that is not done the first time the reader looks, so the reader parses a
    chunk itself while it waits; it is parsed (here, as a worker would) when looked at again."""

    def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
        super().__init__()
        self.call, self.looks = (fn, args), 0

    def done(self) -> bool:
        self.looks += 1
        if self.looks > 1 and not super().done():
            self.set_result(self.call[0](*self.call[1]))
        return super().done()

    def result(self, timeout: float | None = None) -> Any:
        self.done()
        self.done()
        return super().result(timeout)


class _LateWorkers:
    """A ParserPool stand-in whose workers are always a step behind the reader."""

    workers = 2

    def __init__(self) -> None:
        self.executor = self

    def submit(self, fn: Callable[..., Any], *args: Any) -> _LateFuture:
        return _LateFuture(fn, args)

    def close(self) -> None:
        pass


def test_the_reader_parses_chunks_itself_while_it_waits(tmp_path: Path) -> None:
    """Chunks the reading process parses (unpacked) and chunks from workers (packed, rebuilt) give the
    same blocks, in order; an error in a chunk parsed ahead is raised only after every block before it."""
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL, xor_key=XOR_KEY)
    columns = ("txids", "out_tx", "out_vout", "out_value_sat", "out_type", "out_payload", "in_tx", "in_prev_txid",
               "in_prev_vout")
    one = list(iter_parsed(blocks, MAINNET, workers=1))
    mixed = list(iter_parsed(blocks, MAINNET, workers=2, chunk_bytes=2_000, parsers=_LateWorkers()))  # type: ignore[arg-type]
    assert [(h, p.facts, [list(getattr(p.columns, c)) for c in columns]) for h, _, p in mixed] \
        == [(h, p.facts, [list(getattr(p.columns, c)) for c in columns]) for h, _, p in one]
    # Some chunks came from the stand-in workers (packed, then rebuilt), others were parsed here.
    assert {type(p.columns).__name__ for _, _, p in mixed} == {"TrackerColumns", "Block"}
    damaged = list(REAL)
    damaged[300] = damaged[300][:90] + bytes([damaged[300][90] ^ 1]) + damaged[300][91:]
    write_blk_files(tmp_path / "damaged", MAINNET, damaged)
    got: dict[int, list[int]] = {1: [], 2: []}
    for workers in (1, 2):
        with pytest.raises(ParseError, match="merkle"):
            for h, _, _ in iter_parsed(tmp_path / "damaged", MAINNET, workers=workers, chunk_bytes=2_000,
                                       parsers=_LateWorkers() if workers == 2 else None):  # type: ignore[arg-type]
                got[workers].append(h)
    # Every chunk before the damaged one's (chunks of ~9 blocks here; the one from 300 holds it).
    assert got[2] == got[1] == list(range(300))
