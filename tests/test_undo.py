"""The undo-file reader (rev*.dat): Core's encodings, hand-built records, and files Core itself wrote.

Expected values come from three places, none of them the reader: Bitcoin Core's own published
vectors (serialize.h's VARINT table, compress_tests.cpp's amounts, SEC 2's generator point), bytes
worked out by hand from Core's format (commented byte by byte below), and, for a whole chain,
Bitcoin Core's libbitcoinkernel (py-bitcoinkernel) — which validated every block, wrote the blk and
rev files, and decodes the spent outputs with Core's code — together with the coins the chain
builder recorded as each transaction was made.
"""

from __future__ import annotations

import struct
from hashlib import sha256
from pathlib import Path

import pytest

from kernel_chain import LONG_NONSTANDARD, NONSTANDARD, KernelChain, build
from minerwatch.chain.blkfiles import best_chain, iter_blocks, iter_raw_blocks, scan
from minerwatch.chain.block import parse_block
from minerwatch.chain.compress import decompress_amount, decompress_pubkey, read_varint
from minerwatch.chain.undo import (
    spent_columns,
    AmbiguousUndoError,
    BlockShape,
    SpentOutput,
    UndoReader,
    contested_parents,
    parse_block_undo,
    scan_undo,
)
from minerwatch.chain.script import classify
from minerwatch.errors import NetworkMismatchError, ParseError
from minerwatch.networks import get_network

REGTEST = get_network("regtest")
COIN = 100_000_000
# SEC 2, secp256k1 generator G; its y is even. -G has the same x and y' = p - y (odd).
P = 2**256 - 2**32 - 977
GX = bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
GY = bytes.fromhex("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
NEG_GY = (P - int.from_bytes(GY, "big")).to_bytes(32, "big")


def _sha256d(b: bytes) -> bytes:
    return sha256(sha256(b).digest()).digest()


# --- Core's encodings -----------------------------------------------------------------------------

# serialize.h's own table of VARINT encodings.
VARINT_TABLE = [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8000"), (255, "807f"), (256, "8100"), (16383, "fe7f"),
    (16384, "ff00"), (16511, "ff7f"), (65535, "82fe7f"), (2**32, "8efefeff00"),
]


@pytest.mark.parametrize(("value", "hex_"), VARINT_TABLE)
def test_varint_reads_cores_table(value: int, hex_: str) -> None:
    data = bytes.fromhex(hex_)
    assert read_varint(data, 0, len(data), 64, "n", "t", 0) == (value, len(data))


def test_varint_refuses_what_core_refuses() -> None:
    big = bytes.fromhex("8efefeff00")                      # 2^32: one more than a uint32 holds
    with pytest.raises(ParseError, match="does not fit 32 bits"):
        read_varint(big, 0, 5, 32, "height code", "rev00000.dat", 100)
    with pytest.raises(ParseError, match="cut short") as e:  # a continuation bit, then nothing
        read_varint(b"\x80", 0, 1, 32, "height code", "rev00000.dat", 100)
    assert e.value.offset == 100 and e.value.source == "rev00000.dat"


@pytest.mark.parametrize(("sat", "code"), [
    (0, 0x0), (1, 0x1), (1_000_000, 0x7), (COIN, 0x9), (50 * COIN, 0x32), (21_000_000 * COIN, 0x1406F40),
])
def test_amounts_decompress_to_cores_vectors(sat: int, code: int) -> None:
    # The pairs of Bitcoin Core's compress_tests.cpp (CENT = 1,000,000 sat).
    assert decompress_amount(code) == sat


def test_uncompressed_keys_are_recomputed_from_x() -> None:
    assert decompress_pubkey(0, GX) == b"\x04" + GX + GY
    assert decompress_pubkey(1, GX) == b"\x04" + GX + NEG_GY
    # 7 is not a square mod p (Euler's criterion: 7^((p-1)/2) ≠ 1), so no point has x = 0; and
    # x ≥ p is no field element at all.
    assert decompress_pubkey(0, bytes(32)) is None
    assert decompress_pubkey(0, P.to_bytes(32, "big")) is None


# --- hand-built undo data -------------------------------------------------------------------------

H20_A, H20_B, X33 = b"\x11" * 20, b"\x22" * 20, b"\x33" * 32
# A CBlockUndo for a block with two non-coinbase transactions, worked out from undo.h,
# compressor.cpp and serialize.h:
HAND_UNDO = bytes.fromhex(
    "02"                      # CompactSize: 2 CTxUndo
    "02"                      # tx 1: 2 coins
    "03" "00"                 #   VARINT(1·2 + 1): height 1, coinbase; legacy version 0
    "32"                      #   VARINT(0x32): CompressAmount(50 BTC) = 1 + 10·(5 − 1) + 9 = 50
    "00" + H20_A.hex() +      #   script type 0: P2PKH of 1111…11
    "8210" "00"               #   VARINT(400) = 82 10 (0x02+1 = 3; 3·128 + 0x10 = 400): height 200
    "04"                      #   CompressAmount(1,000 sat): e = 3, n = 1, d = 1: 1 + 10·0 + 3 = 4
    "08" "5287"               #   script of 2 bytes, stored as VARINT(2 + 6) and the bytes: OP_2 OP_EQUAL
    "03"                      # tx 2: 3 coins
    "00"                      #   VARINT(0): height 0, not coinbase, so no version field
    "01"                      #   CompressAmount(1 sat) = 1
    "04" + GX.hex() +         #   script type 4: P2PK, uncompressed key with even y, x = G's x
    "807e" "00"               #   VARINT(254) = 80 7e (0x00+1 = 1; 1·128 + 0x7e): height 127
    "8980dd40"                #   VARINT(21,000,000): CompressAmount(21 M BTC) = 0x1406f40 (Core's vector)
    "01" + H20_B.hex() +      #   script type 1: P2SH of 2222…22
    "8001" "00"               #   VARINT(129): height 64, coinbase
    "09"                      #   CompressAmount(1 BTC) = 9
    "03" + X33.hex()          #   script type 3: P2PK, compressed key 03‖3333…33
)
HAND_SPENT = [
    (SpentOutput(50 * COIN, b"\x76\xa9\x14" + H20_A + b"\x88\xac", 1, True),
     SpentOutput(1_000, b"\x52\x87", 200, False)),
    (SpentOutput(1, b"\x41\x04" + GX + GY + b"\xac", 0, False),
     SpentOutput(21_000_000 * COIN, b"\xa9\x14" + H20_B + b"\x87", 127, False),
     SpentOutput(COIN, b"\x21\x03" + X33 + b"\xac", 64, True)),
]


def test_hand_built_undo_decodes_to_what_the_bytes_say() -> None:
    assert parse_block_undo(HAND_UNDO) == HAND_SPENT
    assert parse_block_undo(b"\x00") == []                 # a block with only its coinbase


def test_the_column_decoder_reads_the_hand_built_undo_and_refuses_damage() -> None:
    from minerwatch.chain.undo import _decode_columns

    counts, values, heights, types, payloads = _decode_columns(HAND_UNDO, "x", 0)
    flat = [c for tx in HAND_SPENT for c in tx]
    assert counts == tuple(len(tx) for tx in HAND_SPENT)
    assert (list(values), list(heights)) == ([c.value_sat for c in flat], [c.height for c in flat])
    assert list(zip(types, payloads)) == [classify(c.script) for c in flat]
    for cut in (1, 5, len(HAND_UNDO) - 1):
        with pytest.raises(ParseError):
            _decode_columns(HAND_UNDO[:cut], "rev00007.dat", 1000)
    with pytest.raises(ParseError, match="1 bytes left"):
        _decode_columns(HAND_UNDO + b"\x00", "rev00007.dat", 1000)
    with pytest.raises(ParseError, match="not a point on secp256k1"):
        _decode_columns(bytes.fromhex("0101" "00" "01" "04") + bytes(32), "x", 0)


def test_undo_parsing_is_strict() -> None:
    with pytest.raises(ParseError, match="1 bytes left") as e:
        parse_block_undo(HAND_UNDO + b"\x00", "rev00007.dat", 1000)
    assert (e.value.source, e.value.offset) == ("rev00007.dat", 1000 + len(HAND_UNDO))
    for cut in (1, 5, len(HAND_UNDO) - 1):
        with pytest.raises(ParseError, match="cut short"):
            parse_block_undo(HAND_UNDO[:cut], "rev00007.dat", 1000)
    # type 4 with x = 0: no point on secp256k1 (see above)
    with pytest.raises(ParseError, match="not a point on secp256k1"):
        parse_block_undo(bytes.fromhex("0101" "00" "01" "04") + bytes(32))
    # VARINT 89 80 dd 4a = amount code 21,000,010 = 1 + 10·(2,100,001 − 1) + 9: 2,100,001 × 10^9 sat,
    # 10^9 sat more than 21 million BTC
    with pytest.raises(ParseError, match="exceeds 21 million BTC"):
        parse_block_undo(bytes.fromhex("0101" "00" "8980dd4a" "00") + H20_A)
    with pytest.raises(ParseError, match="not canonically encoded"):
        parse_block_undo(bytes.fromhex("fd0100"))          # 1 written in three bytes


# --- hand-built rev files -------------------------------------------------------------------------

PARENT, OTHER_PARENT = b"\xaa" * 32, b"\xbb" * 32


def _record(undo: bytes, parent: bytes, magic: bytes = REGTEST.magic) -> bytes:
    """One rev-file record as Core writes it: magic, LE size, CBlockUndo, SHA256d(parent ‖ CBlockUndo)."""
    return magic + struct.pack("<I", len(undo)) + undo + _sha256d(parent + undo)


def _xor(data: bytes, key: bytes, offset: int = 0) -> bytes:
    return bytes(b ^ key[(offset + i) % 8] for i, b in enumerate(data))


def _write(blocks_dir: Path, files: list[bytes], key: bytes | None = None, pad_bytes: int = 0) -> None:
    """rev00000.dat, rev00001.dat, … holding `files`, XORed with `key`, followed by zero padding."""
    blocks_dir.mkdir(parents=True, exist_ok=True)
    if key is not None:
        (blocks_dir / "xor.dat").write_bytes(key)
    for n, data in enumerate(files):
        body = _xor(data, key) if key is not None else data
        (blocks_dir / f"rev{n:05d}.dat").write_bytes(body + bytes(pad_bytes))


# Two coins of the same shape as a one-transaction, one-input block, for sibling tests.
ONE_COIN_50 = bytes.fromhex("0101" "0300" "32" "00") + H20_A    # 50 BTC, height 1, coinbase
ONE_COIN_1K = bytes.fromhex("0101" "8210" "00" "04" "085287")     # 1,000 sat, height 200


def _shape(counts: tuple[int, ...], out_sat: tuple[int, ...], parent: bytes = PARENT) -> BlockShape:
    return BlockShape(b"\x01" * 32, parent, counts, out_sat)


@pytest.mark.parametrize("key", [None, bytes.fromhex("a3f01c5e9b2d7c48")])
def test_scan_indexes_records_and_the_reader_matches_by_parent(tmp_path: Path, key: bytes | None) -> None:
    recs = [_record(b"\x00", OTHER_PARENT), _record(HAND_UNDO, PARENT), _record(ONE_COIN_1K, OTHER_PARENT)]
    _write(tmp_path, [b"".join(recs[:2]), recs[2]], key, pad_bytes=4096)
    index = scan_undo(tmp_path, REGTEST)
    # record 0 at 8, 1 byte + 32; record 1 at 41 + 8 = 49; record 2 opens rev00001.dat
    assert [(r.offset, r.size_bytes, r.tx_count) for r in index.records[0]] == [(8, 1, 0), (49, len(HAND_UNDO), 2)]
    assert [(r.offset, r.tx_count) for r in index.records[1]] == [(8, 1)]
    assert index.incomplete_tail is None
    with UndoReader(index) as reader:
        assert reader.spent_outputs(_shape((2, 3), (0, 0)), file_number=0) == HAND_SPENT
        assert reader.spent_outputs(_shape((2, 3), (0, 0))) == HAND_SPENT          # every file searched
        assert reader.spent_outputs(_shape((), ()), file_number=0) is None         # its parent is another
        assert reader.spent_outputs(_shape((), (), OTHER_PARENT)) == []
        assert reader.spent_outputs(_shape((2, 2), (0, 0))) is None                # other input counts
        assert reader.spent_outputs(_shape((1,), (999,), OTHER_PARENT), file_number=1) == [
            (SpentOutput(1_000, b"\x52\x87", 200, False),)]


def test_siblings_identical_records_answer_and_different_ones_are_refused(tmp_path: Path) -> None:
    # Three children of PARENT with one transaction of one input each: two spent the same coin
    # (byte-identical records), one another coin.
    _write(tmp_path, [_record(ONE_COIN_50, PARENT) + _record(ONE_COIN_1K, PARENT) + _record(ONE_COIN_50, PARENT)
                      + _record(b"\x00", OTHER_PARENT)])
    fifty = [(SpentOutput(50 * COIN, b"\x76\xa9\x14" + H20_A + b"\x88\xac", 1, True),)]
    with UndoReader(scan_undo(tmp_path, REGTEST)) as reader:
        # Paying out more than 1,000 sat rules out the 1,000-sat record; the identical two agree.
        assert reader.spent_outputs(_shape((1,), (40 * COIN,)), contested=True) == fifty
        with pytest.raises(AmbiguousUndoError) as e:
            reader.spent_outputs(_shape((1,), (900,)), contested=True)
    assert "2 different undo records fit block 0101" in e.value.message
    assert "getblock HASH 3" in e.value.hint


def test_a_record_being_written_is_tolerated_anywhere_else_damage_is_an_error(tmp_path: Path) -> None:
    good = _record(HAND_UNDO, PARENT)
    # The last file ends in a record whose body is not all there yet.
    _write(tmp_path / "a", [good, good + good[:-10]])
    index = scan_undo(tmp_path / "a", REGTEST)
    assert index.incomplete_tail == (1, len(good)) and len(index.records[1]) == 1
    # The same cut in a file that is not the last is damage.
    _write(tmp_path / "b", [good[:-10], good])
    with pytest.raises(ParseError, match="runs 10 bytes past the end of the file") as e:
        scan_undo(tmp_path / "b", REGTEST)
    assert (e.value.source, e.value.offset) == ("rev00000.dat", 0)
    # A record whose bytes were damaged no longer matches its block: the lookup reports the damage
    # (offset of the bad byte) instead of calling the record missing; as the last record of its file
    # it is exempt (Core may be writing it).
    bad = bytearray(good)
    bad[8 + 1] = 0x05                     # tx 1's coin count: 5 where 2 were written
    _write(tmp_path / "c", [bytes(bad) + _record(b"\x00", OTHER_PARENT)])
    with UndoReader(scan_undo(tmp_path / "c", REGTEST)) as reader, pytest.raises(ParseError, match="cut short"):
        reader.spent_outputs(_shape((2, 3), (0, 0)))
    _write(tmp_path / "d", [bytes(bad)])
    with UndoReader(scan_undo(tmp_path / "d", REGTEST)) as reader:
        assert reader.spent_outputs(_shape((2, 3), (0, 0))) is None


def test_wrong_network_and_wrong_key_are_named(tmp_path: Path) -> None:
    mainnet = get_network("mainnet")
    _write(tmp_path / "m", [_record(b"\x00", PARENT, mainnet.magic)])
    with pytest.raises(NetworkMismatchError, match="mainnet data, not regtest"):
        scan_undo(tmp_path / "m", REGTEST)
    _write(tmp_path / "k", [_record(b"\x00", PARENT)], key=bytes.fromhex("a3f01c5e9b2d7c48"))
    (tmp_path / "k" / "xor.dat").write_bytes(bytes.fromhex("0102030405060708"))
    with pytest.raises(ParseError, match="no network magic") as e:
        scan_undo(tmp_path / "k", REGTEST)
    assert "xor.dat" in e.value.hint
    assert scan_undo(tmp_path, REGTEST).records == {}      # a directory without rev files


# --- files Bitcoin Core wrote ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=["obfuscated", "plain"])
def core(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> KernelChain:
    """The kernel_chain scenario, written by Core with its random XOR key or (an xor.dat of zeros
    placed first, as a datadir from before Core 28 has) without obfuscation. Core stays open: the
    readers read while the node runs."""
    datadir = tmp_path_factory.mktemp(request.param)
    if request.param == "plain":
        (datadir / "blocks").mkdir()
        (datadir / "blocks" / "xor.dat").write_bytes(bytes(8))
    return build(datadir)


def _plain(txs: list) -> list[list[tuple]]:
    return [[(c.value_sat, c.script, c.height, c.is_coinbase) for c in tx] for tx in txs]


def test_core_obfuscates_unless_told_not_to(core: KernelChain) -> None:
    key = (core.blocks_dir / "xor.dat").read_bytes()
    assert len(key) == 8 and (key == bytes(8)) == (core.datadir.name.startswith("plain"))


def test_blk_reader_reads_back_exactly_the_blocks_core_accepted(core: KernelChain) -> None:
    index = scan(core.blocks_dir, REGTEST)
    chain = best_chain(index, REGTEST)
    assert [r.hash for r in chain] == core.active_hashes() == core.builder.hashes
    assert chain.tip_height == 108 and chain.stale_count == 7
    assert {r.hash for r in index.records} - set(core.builder.hashes) == set(core.stale)
    for h, _, raw in iter_raw_blocks(core.blocks_dir, REGTEST):
        assert raw == core.builder.blocks[h]
    assert [b.hash for _, _, b in iter_blocks(core.blocks_dir, REGTEST)] == core.builder.hashes


def test_spent_outputs_equal_cores_and_the_builders(core: KernelChain) -> None:
    blk_index = scan(core.blocks_dir, REGTEST)
    undo_index = scan_undo(core.blocks_dir, REGTEST)
    # one record per connected block: heights 1–108 of the chain and the 7 stale blocks
    assert sum(len(r) for r in undo_index.records.values()) == 108 + 7
    assert undo_index.incomplete_tail is None
    contested = contested_parents(blk_index)
    assert contested == {core.builder.hashes[103]}            # the race at 104
    spent_scripts: set[bytes] = set()
    with UndoReader(undo_index) as reader:
        for h, rec, block in iter_blocks(core.blocks_dir, REGTEST, start_height=1):
            got = reader.block_spent_outputs(block, rec.file_number, block.header.prev_hash in contested)
            assert got is not None, f"no undo record found for height {h}"
            assert _plain(got) == _plain(core.core_spent_outputs(block.hash)) == _plain(core.expected[block.hash])
            spent_scripts.update(c.script for tx in got for c in tx)
            # The sync's decoder (straight from the bytes to the tracker's columns) gives what
            # SpentOutput and classify give, for every kind of script below.
            fast = reader.spent_columns(block, rec.file_number, block.header.prev_hash in contested)
            slow = spent_columns(got, block)
            assert fast is not None and (list(fast.value_sat), list(fast.height), fast.script_type, fast.payload,
                                         fast.fees_paid_sat) == (list(slow.value_sat), list(slow.height),
                                                                 slow.script_type, slow.payload, slow.fees_paid_sat)
    kinds = {_kind(s) for s in spent_scripts}
    assert kinds == {"p2pkh", "p2sh", "p2pk-02", "p2pk-03", "p2pk-04-even", "p2pk-04-odd", "p2wpkh", "p2wsh",
                     "p2tr", "nonstandard", "long-nonstandard"}


def _kind(script: bytes) -> str:
    """Which undo encoding a script takes (worked out from the script's bytes alone)."""
    if len(script) == 25 and script[:3] == b"\x76\xa9\x14":
        return "p2pkh"
    if len(script) == 23 and script[:2] == b"\xa9\x14":
        return "p2sh"
    if len(script) == 35 and script[0] == 0x21:
        return f"p2pk-{script[1]:02x}"
    if len(script) == 67 and script[0] == 0x41:
        return "p2pk-04-" + ("odd" if script[65] & 1 else "even")
    if script[:2] == b"\x00\x14":
        return "p2wpkh"
    if script[:2] == b"\x00\x20":
        return "p2wsh"
    if script[:2] == b"\x51\x20":
        return "p2tr"
    return {NONSTANDARD: "nonstandard", LONG_NONSTANDARD: "long-nonstandard"}[script]


def test_stale_blocks_records_are_kept_apart(core: KernelChain) -> None:
    contested = contested_parents(scan(core.blocks_dir, REGTEST))
    b104, b105, b106, c104, c105, c106, c107 = core.stale
    with UndoReader(scan_undo(core.blocks_dir, REGTEST)) as reader:
        for h in (b104, b105, b106, c105, c106, c107):
            block = parse_block(core.raw[h])
            got = reader.block_spent_outputs(block, contested=block.header.prev_hash in contested)
            assert got is not None
            assert _plain(got) == _plain(core.core_spent_outputs(h)) == _plain(core.expected[h])
        # B104 spent the coin A104 spent: its record is A104's, byte for byte.
        a104 = parse_block(core.raw[core.builder.hashes[104]])
        assert reader.block_spent_outputs(a104, contested=True) == reader.block_spent_outputs(
            parse_block(core.raw[b104]), contested=True)
        # C104 spent another coin in A104's shape, and A104's coin covers C104's outputs too: both
        # records fit C104, and the reader says so rather than guess.
        with pytest.raises(AmbiguousUndoError):
            reader.block_spent_outputs(parse_block(core.raw[c104]), contested=True)
