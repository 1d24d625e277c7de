"""The undo-file writer (revwrite, revchain): Core's encodings, and rev files equal to Core's own.

Expected values come from Bitcoin Core: serialize.h's VARINT table and compress_tests.cpp's amounts
(the same vectors the reader is tested on), bytes worked out by hand from Core's format, and, for a
whole chain, the rev files Core itself wrote (py-bitcoinkernel, tests/kernel_chain.py) while it
validated every block: the writer, given only Core's blk files, must write the same records.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_chain import KernelChain, build
from minerwatch.chain.blkscan import xor_at
from minerwatch.chain.blkwrite import write_blk_files
from minerwatch.chain.block import parse_block, sha256d
from minerwatch.chain.builder import ChainBuilder, Coin, OutPoint, h20, key, key65, op_return, p2pk, p2pkh, p2wpkh
from minerwatch.chain.compress import decompress_amount, read_txout, read_varint
from minerwatch.chain.revchain import MissingCoinError, write_rev_files
from minerwatch.chain.revwrite import compress_amount, compress_script, compress_txout, spent_coin, varint
from minerwatch.chain.script import classify
from minerwatch.chain.undo import UndoReader, scan_undo
from minerwatch.errors import MinerwatchError
from minerwatch.networks import get_network
from minerwatch.simulate.files import write_demo
from minerwatch.simulate.generate import SimConfig, generate

REGTEST = get_network("regtest")
COIN = 100_000_000
# SEC 2, secp256k1 generator G (y even).
GX = bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
GY = bytes.fromhex("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")

# serialize.h's table of VARINT encodings.
VARINT_TABLE = [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8000"), (255, "807f"), (256, "8100"), (16383, "fe7f"),
    (16384, "ff00"), (16511, "ff7f"), (65535, "82fe7f"), (2**32, "8efefeff00"),
]


@pytest.mark.parametrize(("value", "hex_"), VARINT_TABLE)
def test_varint_writes_cores_table(value: int, hex_: str) -> None:
    assert varint(value).hex() == hex_
    assert read_varint(varint(value), 0, len(hex_) // 2, 64, "n", "t", 0) == (value, len(hex_) // 2)


@pytest.mark.parametrize(("sat", "code"), [
    (0, 0x0), (1, 0x1), (1_000_000, 0x7), (COIN, 0x9), (50 * COIN, 0x32), (21_000_000 * COIN, 0x1406F40),
])
def test_amounts_compress_to_cores_vectors(sat: int, code: int) -> None:
    # The pairs of Bitcoin Core's compress_tests.cpp (CENT = 1,000,000 sat).
    assert compress_amount(sat) == code and decompress_amount(code) == sat


def test_every_amount_near_the_edges_round_trips() -> None:
    # 10^9 sat: 9 trailing zeros, the e = 9 branch; 123,456,789: none; the largest amount.
    for sat in [*range(0, 2_000), 10**9, 3 * 10**9, 123_456_789, 21_000_000 * COIN, 2**63 - 1]:
        assert decompress_amount(compress_amount(sat)) == sat


def test_scripts_compress_as_core_does() -> None:
    h = bytes(range(20))
    # P2PKH and P2SH: code 0 / 1 and the 20-byte hash.
    assert compress_script(b"\x76\xa9\x14" + h + b"\x88\xac") == b"\x00" + h
    assert compress_script(b"\xa9\x14" + h + b"\x87") == b"\x01" + h
    # P2PK, compressed key: its prefix byte and x; Core does not check that it is a point.
    k33 = key("any")
    assert compress_script(p2pk(k33)) == k33
    # P2PK, uncompressed G: 4 + parity of y (even) and x.
    assert compress_script(b"\x41\x04" + GX + GY + b"\xac") == b"\x04" + GX
    # An uncompressed "key" that is no point (as early coinbases in the rehearsal pay): raw, with
    # VARINT(67 + 6) = 0x49 first, since the reader could not recompute its y.
    off_curve = p2pk(key65("rh:p2pk:1"))
    assert compress_script(off_curve) == b"\x49" + off_curve
    # Anything else raw: P2WPKH (22 bytes → 0x1c), and a 124-byte script → VARINT(130) = 80 02.
    wpkh = p2wpkh(h)
    assert compress_script(wpkh) == b"\x1c" + wpkh
    long_script = b"\x4c\x78" + bytes(120) + b"\x75\x51"
    assert compress_script(long_script) == b"\x80\x02" + long_script


def test_spent_outputs_are_written_as_txinundoformatter_does() -> None:
    # 50 BTC coinbase output of height 1 to P2PKH: VARINT(1·2 + 1) = 03, the legacy 00, amount code
    # 0x32, script code 00 and the hash.
    h = bytes(range(20))
    assert spent_coin(50 * COIN, p2pkh(h), 1, True) == bytes.fromhex("030032") + b"\x00" + h
    # height 0 (a coin funded outside the chain): no legacy byte.
    assert spent_coin(0, p2pkh(h), 0, False) == bytes.fromhex("0000") + b"\x00" + h
    # The reader decodes what was written.
    data = compress_txout(123_456_789, p2wpkh(h))
    assert read_txout(data, 0, len(data), "t", 0) == (123_456_789, p2wpkh(h), len(data))


# --- against the rev files Core wrote -------------------------------------------------------------


@pytest.fixture(scope="module", params=["obfuscated", "plain"])
def core(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> KernelChain:
    """The kernel_chain scenario written by Core with its random XOR key, or with a zero key."""
    datadir = tmp_path_factory.mktemp(request.param)
    if request.param == "plain":
        (datadir / "blocks").mkdir()
        (datadir / "blocks" / "xor.dat").write_bytes(bytes(8))
    return build(datadir)


def _copy_blk_files(core: KernelChain, to: Path) -> Path:
    to.mkdir()
    for p in [*core.blocks_dir.glob("blk*.dat"), core.blocks_dir / "xor.dat"]:
        shutil.copy(p, to)
    return to


def _records(blocks_dir: Path) -> list[bytes]:
    """Every record of rev00000.dat, de-obfuscated: magic ‖ size ‖ CBlockUndo ‖ checksum."""
    index = scan_undo(blocks_dir, REGTEST)
    data = index.files[0].read_bytes()
    out = []
    for rec in index.records[0]:
        start, end = rec.offset - 8, rec.offset + rec.size_bytes + 32
        out.append(xor_at(data[start:end], index.xor_key, start))
    return out


def test_written_records_are_byte_identical_to_cores(core: KernelChain, tmp_path: Path) -> None:
    mine_dir = _copy_blk_files(core, tmp_path / "blocks")
    written = write_rev_files(mine_dir, REGTEST)
    assert written.records == 108 and written.tip_height == 108
    assert [p.name for p in written.files] == ["rev00000.dat"]      # every block is in blk00000.dat
    mine, cores = _records(mine_dir), _records(core.blocks_dir)
    # Core's file holds a record for every block it connected: heights 1–108 and the 7 stale blocks
    # of the race at 104. Mine, one per best-chain block in chain order, must be a subsequence of
    # Core's, and what is left over must be the stale blocks' records (checksum over their parent).
    assert len(mine) == 108 and len(cores) == 115
    left, i = [], 0
    for rec in cores:
        if i < len(mine) and rec == mine[i]:
            i += 1
        else:
            left.append(rec)
    assert i == len(mine)
    stale_parents = [parse_block(core.raw[h]).header.prev_hash for h in core.stale]
    parents_of_left = [p for r in left for p in set(stale_parents) if sha256d(p + r[8:-32]) == r[-32:]]
    assert sorted(parents_of_left) == sorted(stale_parents)
    # Up to Core's first stale record (after A105) the files agree byte for byte, obfuscation included.
    n = sum(len(r) for r in mine[:105])
    assert (mine_dir / "rev00000.dat").read_bytes()[:n] == (core.blocks_dir / "rev00000.dat").read_bytes()[:n]


def test_the_reader_reads_back_the_spent_outputs_the_builder_recorded(core: KernelChain, tmp_path: Path) -> None:
    mine_dir = _copy_blk_files(core, tmp_path / "blocks")
    write_rev_files(mine_dir, REGTEST)
    with UndoReader(scan_undo(mine_dir, REGTEST)) as reader:
        for h in core.builder.hashes[1:]:
            got = reader.block_spent_outputs(parse_block(core.raw[h]), file_number=0)
            assert got is not None
            assert [[tuple(c) for c in tx] for tx in got] == [[tuple(c) for c in tx] for tx in core.expected[h]]


# --- chains written by write_blk_files ------------------------------------------------------------


def _builder_chain() -> tuple[ChainBuilder, dict[bytes, list[list[Coin]]]]:
    """A regtest chain with a coin funded from outside it, an OP_RETURN output, an output spent in
    its own block, and the coins each transaction spent, recorded as it was made."""
    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    expected: dict[bytes, list[list[Coin]]] = {}
    wallet = p2wpkh(h20("wallet"))
    funded = b.fund(wallet, 7 * COIN, "outside")
    pending: list[list[Coin]] = []
    for k in range(101):
        b.mine(tag=f"/{k}/", payouts=[(p2pkh(h20(f"miner-{k % 3}")), None)])
        expected[b.tip_hash] = []

    def spend(ops: list[OutPoint], outs: list[tuple[bytes, int]], fee: int) -> object:
        coins = [b.utxos[op] for op in ops]
        tx = b.spend(ops, outs, fee)
        pending.append(coins)
        return tx

    for k in range(3):
        pending.clear()
        tx = spend([b.coinbase_outpoint(1 + k)], [(p2wpkh(h20(f"pay-{k}")), COIN), (op_return(b"note"), 0)], 1_000)
        spend([tx.outpoint(0)], [(p2pk(key(f"pk-{k}")), COIN // 2)], 500)   # spent in its own block
        if k == 1:
            spend([funded], [(p2pkh(h20("from-outside")), 6 * COIN)], 2_000)
        b.mine(tag=f"/spend-{k}/")
        expected[b.tip_hash] = list(pending)
    return b, expected


def test_write_blk_files_writes_rev_files_beside_them(tmp_path: Path) -> None:
    b, expected = _builder_chain()
    blocks_dir = tmp_path / "blocks"
    # Small blk files and a shuffled order: records go to the rev file numbered like each block's
    # blk file, in chain order, whatever order the blocks were stored in.
    files = write_blk_files(blocks_dir, REGTEST, b.blocks, max_file_bytes=8_000, xor_key=bytes.fromhex(
        "0102030405060708"), shuffle_seed=7, rev_files=True, outside_coins=b.funded_coins.items())
    assert len(files) > 2
    index = scan_undo(blocks_dir, REGTEST)
    assert sum(len(r) for r in index.records.values()) == b.height
    with UndoReader(index) as reader:
        for h, raw in zip(b.hashes[1:], b.blocks[1:]):
            got = reader.block_spent_outputs(parse_block(raw))
            assert got is not None
            assert [[tuple(c) for c in tx] for tx in got] == [[tuple(c) for c in tx] for tx in expected[h]]
    # the coin from outside is read back as the builder funded it: height 0, not a coinbase
    with UndoReader(index) as reader:
        spent = reader.block_spent_outputs(parse_block(b.blocks[103]))
    assert tuple(spent[-1][0]) == (7 * COIN, p2wpkh(h20("wallet")), 0, False)


def test_a_spend_of_an_unknown_output_names_the_block(tmp_path: Path) -> None:
    b, _ = _builder_chain()
    blocks_dir = tmp_path / "blocks"
    write_blk_files(blocks_dir, REGTEST, b.blocks)
    # Without the coin funded outside the chain, block 103 spends an output no block created.
    with pytest.raises(MissingCoinError) as e:
        write_rev_files(blocks_dir, REGTEST)
    assert f"block {b.hashes[103][::-1].hex()} at height 103 spends" in str(e.value)
    assert "outside coins" in e.value.hint
    assert not list(blocks_dir.glob("rev*.dat"))       # no half-written rev file is left behind
    # A directory that already has rev files is refused, and nothing is overwritten.
    write_rev_files(blocks_dir, REGTEST, b.funded_coins.items())
    before = (blocks_dir / "rev00000.dat").read_bytes()
    with pytest.raises(MinerwatchError, match="already holds rev files"):
        write_rev_files(blocks_dir, REGTEST, b.funded_coins.items())
    assert (blocks_dir / "rev00000.dat").read_bytes() == before


# --- the rehearsal chain (benchmarks/rehearsal.py) --------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path) -> str:
    done = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_rehearsal_appends_held_back_blocks_records_as_a_full_write_would(tmp_path: Path) -> None:
    out = tmp_path / "r"
    # 1,500 blocks: the economy's funded coins are spent from the first blocks, coinbases from 101 on.
    _run("benchmarks/rehearsal.py", "--out", out, "--blocks", "1500", "--thin", "50", "--hold-back", "2")
    assert sorted(p.name for p in (out / "tail").iterdir()) == ["0001498.blk", "0001498.undo", "0001499.blk",
                                                                "0001499.undo"]
    assert _run("benchmarks/rehearsal.py", "--out", out, "--append").strip() == "1498"
    assert _run("benchmarks/rehearsal.py", "--out", out, "--append").strip() == "1499"
    assert not list((out / "tail").iterdir())
    # The same blk files given rev files from scratch: the appended records are what a full write gives.
    fresh = tmp_path / "fresh"
    (fresh / "tail").mkdir(parents=True)
    shutil.copy(out / "rehearsal.json", fresh)
    shutil.copytree(out / "blocks", fresh / "blocks", ignore=shutil.ignore_patterns("rev*.dat"))
    rev = json.loads(_run("benchmarks/rehearsal.py", "--out", fresh, "--rev-only"))
    assert rev["rev_records"] == 1499 and rev["rev_tip_height"] == 1499
    assert (fresh / "blocks" / "rev00000.dat").read_bytes() == (out / "blocks" / "rev00000.dat").read_bytes()
    # The reader finds every block's record, and each spent output is the output its input names.
    check = json.loads(_run("benchmarks/check_rev.py", out / "blocks", "--sample", "1500"))
    assert check["blocks"] == 1499 and check["spent_outputs"] > check["from_outside"] > 0
    # Writing them again is refused, with the way out.
    done = subprocess.run([sys.executable, "benchmarks/rehearsal.py", "--out", str(fresh), "--rev-only"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "already holds rev files" in done.stderr and "Traceback" not in done.stderr


def test_the_demo_chain_comes_with_rev_files_the_reader_reads(tmp_path: Path) -> None:
    chain = generate(SimConfig(seed=7, days=48))
    files = write_demo(tmp_path, chain=chain, rev_files=True)
    simnet = get_network("simnet")
    # What each input spends, from the block parser alone (not the writer): every output the chain
    # created, by outpoint, as (value, script type and owner, height, coinbase), and the funded coins.
    created = {(op.txid, op.vout): (c.value_sat, classify(c.script), 0, False) for op, c in chain.funded_coins.items()}
    blocks = [parse_block(raw) for raw in chain.raw_blocks]
    for height, block in enumerate(blocks[1:], start=1):
        for tx, vout, value, kind, payload in zip(block.out_tx, block.out_vout, block.out_value_sat, block.out_type,
                                                  block.out_payload):
            created[(block.txids[tx], vout)] = (value, (kind, payload), height, tx == 0)
    index = scan_undo(files.blocks_dir, simnet)
    assert sum(len(r) for r in index.records.values()) == files.tip_height
    spent_from_outside = 0
    with UndoReader(index) as reader:
        for block in blocks[1:]:
            got = reader.block_spent_outputs(block)
            assert got is not None
            flat = [(c.value_sat, classify(c.script), c.height, c.is_coinbase) for tx in got for c in tx]
            assert flat == [created[op] for op in zip(block.in_prev_txid, block.in_prev_vout)]
            spent_from_outside += sum(1 for c in flat if c[2] == 0)
    assert spent_from_outside > 0
