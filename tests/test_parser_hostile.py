"""A CompactSize of 2^64 − 1 where a real block holds a script length: a ParseError naming the file
and the byte, through the parser, `block --file`, `sync --blocks-dir` (1 and 2 parser processes) and
`sync --rpc` from a node that sends such a block.

Before the parser checked every count and length against the bytes left, this mutation carried the
read position past what C can index and leaked OverflowError (a traceback) on all of these paths.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from block_layout import MAX_COMPACT_SIZE, CompactSize, layout, with_compact_size
from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.block import parse_block
from minerwatch.errors import ParseError
from minerwatch.networks import get_network

DATA = Path(__file__).parent / "data"
HINT = "hint: the file is truncated or corrupt; re-copy it from the node or re-download the block"


def _field(raw: bytes, kind: str, index: int) -> CompactSize:
    return [f for f in layout(raw).fields if f.kind == kind][index]


def _real_blk_blocks(count: int) -> list[bytes]:
    """The first `count` blocks of the real blk file (heights 0, 1, …), split by magic and size."""
    data = (DATA / "blkfiles" / "mainnet-heights-0-438.dat").read_bytes()
    blocks, pos = [], 0
    while len(blocks) < count:
        (size,) = struct.unpack_from("<I", data, pos + 4)
        blocks.append(data[pos + 8:pos + 8 + size])
        pos += 8 + size
    return blocks


@pytest.mark.parametrize(("name", "kind", "index", "offset", "left"), [
    # the coinbase's first output (of 3) in a 2012 block: the next output is read past the limit
    ("mainnet-169482.bin", "output script length", 0, 138, 18_539),
    # the first input that spends something, in a segwit block of 2024
    ("mainnet-830000.bin", "input script length", 1, 518, 1_711_508),
])
def test_max_compact_size_script_length_is_a_parse_error(name: str, kind: str, index: int, offset: int,
                                                         left: int) -> None:
    raw = (DATA / "blocks" / name).read_bytes()
    f = _field(raw, kind, index)
    assert f.offset == offset and f.width == 1
    with pytest.raises(ParseError) as e:
        parse_block(with_compact_size(raw, f, MAX_COMPACT_SIZE), source=name, base_offset=1000)
    assert (e.value.source, e.value.offset) == (name, 1000 + offset)
    script = "input script length" if kind == "input script length" else "output script length"
    assert e.value.detail == f"absurd {script} 18446744073709551615: only {left} bytes follow"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minerwatch", *args], capture_output=True, text=True,
                          timeout=120)


def test_block_file_with_max_compact_size_is_a_clear_error(tmp_path: Path) -> None:
    raw = (DATA / "blocks" / "mainnet-169482.bin").read_bytes()
    path = tmp_path / "hostile.bin"
    path.write_bytes(with_compact_size(raw, _field(raw, "output script length", 0), MAX_COMPACT_SIZE))
    proc = _run("block", "--file", str(path), "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"error: {path}: byte 138: absurd output script length 18446744073709551615: only 18539 bytes follow",
        HINT,
    ]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sync_of_blk_file_with_max_compact_size_is_a_clear_error(tmp_path: Path, workers: str) -> None:
    blocks = _real_blk_blocks(201)
    # Height 170: Satoshi's payment to Hal Finney; the script length of the 10 BTC paid to Hal,
    # the first of two outputs, becomes 2^64 − 1.
    f = _field(blocks[170], "output script length", 1)
    assert (f.offset, f.value) == (342, 67)
    blocks[170] = with_compact_size(blocks[170], f, MAX_COMPACT_SIZE)
    write_blk_files(tmp_path / "blocks", get_network("mainnet"), blocks)
    record_offset = sum(8 + len(b) for b in blocks[:170]) + 8
    proc = _run("sync", "--blocks-dir", str(tmp_path / "blocks"), "--db", str(tmp_path / "m.duckdb"),
                "--workers", workers)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"error: blk00000.dat: byte {record_offset + 342}: absurd output script length " \
           "18446744073709551615: only 147 bytes follow\n" in proc.stderr
    assert "hint: the file is truncated or corrupt" in proc.stderr


def test_a_field_past_the_end_is_reported_where_the_data_ends() -> None:
    # Found by the fuzzer: block 713126 (trimmed) with one bit of the coinbase's input count
    # flipped (1 → 33 inputs). A later input's script length would start past the end of the
    # 2,095 bytes; the error once named that byte (2,111), now the end of the data.
    path = DATA / "fuzz" / "parser" / "coinbase-script-length-past-the-end-713126.bin"
    raw = path.read_bytes()
    assert len(raw) == 2_095 and raw[87] == 33
    with pytest.raises(ParseError) as e:
        parse_block(raw, source=path.name, base_offset=10_000)
    assert (e.value.offset, e.value.detail) == (12_095, "truncated: coinbase script length")


def test_sync_from_a_node_sending_max_compact_size_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from fake_node import FakeNode, block_hash   # a real HTTP JSON-RPC server on loopback
    from minerwatch.cli import main

    blocks = _real_blk_blocks(201)
    f = _field(blocks[170], "output script length", 1)
    blocks[170] = with_compact_size(blocks[170], f, MAX_COMPACT_SIZE)
    node = FakeNode(blocks)
    monkeypatch.setenv("MINERWATCH_RPC_PASSWORD", "x")
    try:
        capsys.readouterr()
        code = main(["sync", "--rpc", node.url, "--network", "mainnet", "--db", str(tmp_path / "m.duckdb")])
    finally:
        node.stop()
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"error: block {block_hash(blocks[170])} from the node: byte 342: absurd output script length " \
           "18446744073709551615: only 147 bytes follow\n" in err
