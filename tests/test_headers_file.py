"""`sync --headers-file` on real mainnet headers: what it refuses (and says why), and headers that
continue stored blocks."""

from __future__ import annotations

import shutil
import struct
from datetime import date
from pathlib import Path

import duckdb
import pytest

from minerwatch.cli import main
from minerwatch.metrics.registry import Query, read

DATA = Path(__file__).parent / "data"
EARLY = DATA / "headers" / "mainnet-headers-0-8999.bin"
RECENT = DATA / "headers" / "mainnet-headers-822528-830592.bin"


def _sync(db: Path, *args: str) -> int:
    return main(["sync", "--db", str(db), *args])


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def test_a_file_above_genesis_needs_its_first_height(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sync(tmp_path / "a.duckdb", "--headers-file", str(RECENT)) == 1
    err = _error(capsys)
    assert "the first header is 000000000000000000001daacd23f9cb40c69ba923085618a5f9dbdd4d97e93a, not mainnet's " \
           "genesis block" in err
    assert "hint: if the file starts above genesis, give its first height with --first-height" in err


def test_a_wrong_first_height_breaks_the_retarget_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # One too high: the file's retarget at its real height 824,544 (2,016 headers in) then sits at
    # 824,545, which is not a multiple of 2,016.
    assert _sync(tmp_path / "b.duckdb", "--headers-file", str(RECENT), "--first-height", "822529") == 1
    err = _error(capsys)
    assert "the bits change at height 824,545" in err and "not a retarget height" in err
    assert "--first-height is probably wrong" in err
    # Nothing of a chain that failed a check is kept past the last whole, checked batch: here none.
    con = duckdb.connect(str(tmp_path / "b.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM headers").fetchone()[0] == 0


def test_headers_that_do_not_link_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(EARLY.read_bytes())
    data[100 * 80:101 * 80], data[101 * 80:102 * 80] = data[101 * 80:102 * 80], data[100 * 80:101 * 80]
    bad = tmp_path / "swapped.bin"
    bad.write_bytes(bytes(data))
    assert _sync(tmp_path / "c.duckdb", "--headers-file", str(bad)) == 1
    err = _error(capsys)
    # Header 101 now sits at height 100; its parent is block 100, not block 99.
    assert "the header at height 100 (" in err and "does not build on the one at height 99" in err


def test_a_header_without_its_proof_of_work_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(EARLY.read_bytes()[:10 * 80])
    struct.pack_into("<I", data, 5 * 80 + 76, 0)   # header 5's nonce: its hash no longer meets the target
    bad = tmp_path / "nonce.bin"
    bad.write_bytes(bytes(data))
    assert _sync(tmp_path / "d.duckdb", "--headers-file", str(bad)) == 1
    assert "the header at height 5 (" in _error(capsys)


def test_cut_file_and_gap_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes(EARLY.read_bytes()[:1000 * 80 + 7])
    assert _sync(tmp_path / "e.duckdb", "--headers-file", str(cut)) == 1
    assert "holds 80,007 bytes, not a whole number of 80-byte headers (1,000 headers and 7 bytes over)" in _error(capsys)
    db = tmp_path / "f.duckdb"
    assert _sync(db, "--headers-file", str(EARLY)) == 0
    capsys.readouterr()
    assert _sync(db, "--headers-file", str(RECENT), "--first-height", "822528") == 1
    err = _error(capsys)
    assert "starts at height 822,528 but the database ends at 8,999" in err
    assert "load the headers from height 9,000 first" in err


def test_first_height_without_a_headers_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sync(tmp_path / "g.duckdb", "--rpc", "http://127.0.0.1:1", "--first-height", "5") == 1
    assert "--first-height is the height of the first header in --headers-file" in _error(capsys)


def test_headers_continue_stored_blocks(tmp_path: Path) -> None:
    # The real blocks 0–438 from a blk file, then the headers 0–8,999: heights 439–8,999 come from
    # their headers alone. Loading the file twice changes nothing.
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(DATA / "blkfiles" / "mainnet-heights-0-438.dat", blocks / "blk00000.dat")
    db = tmp_path / "h.duckdb"
    assert _sync(db, "--blocks-dir", str(blocks), "--workers", "1") == 0
    assert _sync(db, "--headers-file", str(EARLY)) == 0
    assert _sync(db, "--headers-file", str(EARLY)) == 0
    con = duckdb.connect(str(db), read_only=True)
    # The headers of the stored blocks are dropped at the refresh: the table keeps 439–8,999.
    assert con.execute("SELECT min(height), max(height), count(*) FROM headers").fetchone() == (439, 8_999, 8_561)
    assert con.execute("SELECT max(height) FROM block_network").fetchone()[0] == 8_999
    blocks_per_day = dict(read(con, "blocks", Query()).points)
    revenue = dict(read(con, "revenue_btc", Query()).points)
    # 2009-01-12 holds blocks of heights below 300 (all stored): 50 BTC each, its revenue is there. Block 438 is
    # of 2009-01-14, whose later blocks are headers only: a gap, not the stored blocks' sum.
    day = date(2009, 1, 12)
    assert revenue[day] == pytest.approx(50 * blocks_per_day[day])
    assert revenue[date(2009, 1, 14)] is None
    assert revenue[date(2009, 2, 1)] is None
    assert blocks_per_day[date(2009, 2, 1)] > 0


def test_the_dashboard_shows_a_database_of_headers_alone(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from minerwatch.web.app import create_app

    db = tmp_path / "headers.duckdb"
    assert _sync(db, "--headers-file", str(RECENT), "--first-height", "822528") == 0
    client = TestClient(create_app(db))
    page = client.get("/hashrate?interval=all")
    assert page.status_code == 200 and 'data-empty="true"' not in page.text
    doc = client.get("/hashrate.json?interval=all").json()
    # The tip is the last header's; no block is stored.
    assert doc["tip"]["height"] == 830_592 and not doc["empty"]
    charts = {c["id"]: c for c in doc["charts"]}
    # The 8,065 headers' UTC days 2023-12-23 … 2024-02-15: 55 days of difficulty, each the value
    # `minerwatch metrics difficulty` reads (the truth test checks those against the raw bytes).
    con = duckdb.connect(str(db), read_only=True)
    want = [v for _, v in read(con, "difficulty", Query()).points]
    difficulty = charts["difficulty"]["series"][0]
    assert difficulty["metric"] == "difficulty" and difficulty["values"] == pytest.approx(want)
    assert len(want) == 55
    hashrate = charts["hashrate"]["series"][0]
    assert sum(v is not None for v in hashrate["values"]) >= 48     # the 7-day average: from its 7th day
    status = client.get("/api/v1/status").json()
    assert status["blocks"] == 0 and status["series"]["headers"]["from_height"] == 822_528


def _regtest_headers(n: int, seed: int, spacing_s: int = 600) -> bytes:
    """n regtest headers from its genesis, each mined (nonce ground to regtest's target) on the last;
    `seed` varies the merkle roots, so two seeds give two branches from height 1."""
    import hashlib
    import random

    genesis = bytes.fromhex(
        "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617f"
        "c81bc3888a51323a9fb8aa4b1e5e4adae5494dffff7f2002000000")
    target = 0x7FFFFF << (8 * (0x20 - 3))
    rng = random.Random(seed)
    out, prev = bytearray(genesis), hashlib.sha256(hashlib.sha256(genesis).digest()).digest()
    for h in range(1, n):
        merkle, nonce = rng.randbytes(32), 0
        while True:
            raw = struct.pack("<i32s32sIII", 0x20000000, prev, merkle, 1_704_067_200 + h * spacing_s, 0x207FFFFF, nonce)
            digest = hashlib.sha256(hashlib.sha256(raw).digest()).digest()
            if int.from_bytes(digest, "little") <= target:
                break
            nonce += 1
        out += raw
        prev = digest
    return bytes(out)


def test_a_file_of_another_branch_replaces_the_stored_headers_and_their_series(tmp_path: Path) -> None:
    # Branch A: 400 headers 600 s apart (2024-01-01 on); branch B: 300 headers 300 s apart, another
    # chain from height 1. Loading A then B leaves exactly what loading B alone gives: A's headers
    # above B's tip are gone and every derived row is B's.
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(_regtest_headers(400, seed=1))
    b.write_bytes(_regtest_headers(300, seed=2, spacing_s=300))
    both, alone = tmp_path / "both.duckdb", tmp_path / "alone.duckdb"
    assert _sync(both, "--network", "regtest", "--headers-file", str(a)) == 0
    assert _sync(both, "--network", "regtest", "--headers-file", str(b)) == 0
    assert _sync(alone, "--network", "regtest", "--headers-file", str(b)) == 0
    rows = {}
    for db in (both, alone):
        con = duckdb.connect(str(db), read_only=True)
        rows[db] = [con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                    for t in ("headers", "block_network", "daily_network", "daily_signals")]
        con.close()
    assert rows[both][0][-1][0] == 299
    assert rows[both] == rows[alone]


@pytest.mark.parametrize("case", ["over blocks", "another branch"])
def test_a_headers_load_resumes_from_a_crash_at_every_commit(tmp_path: Path, case: str) -> None:
    # The headers' transaction and the refresh's, each crashed just ahead of and just behind its
    # COMMIT, then the same command again: the database equals an uninterrupted load's.
    from crash_support import crash_at_every_commit
    from db_dump import dump

    prepared = tmp_path / "prepared.duckdb"
    if case == "over blocks":        # the real blocks 0–438 stored, then the headers 0–8,999
        blocks = tmp_path / "blocks"
        blocks.mkdir()
        shutil.copy(DATA / "blkfiles" / "mainnet-heights-0-438.dat", blocks / "blk00000.dat")
        assert _sync(prepared, "--blocks-dir", str(blocks), "--workers", "1") == 0
        args_for = lambda db: ["sync", "--db", str(db), "--headers-file", str(EARLY)]  # noqa: E731
    else:                            # regtest branch A stored, then branch B replaces it from height 1
        a, b = tmp_path / "a.bin", tmp_path / "b.bin"
        a.write_bytes(_regtest_headers(400, seed=1))
        b.write_bytes(_regtest_headers(300, seed=2, spacing_s=300))
        assert _sync(prepared, "--network", "regtest", "--headers-file", str(a)) == 0
        args_for = lambda db: ["sync", "--db", str(db), "--network", "regtest", "--headers-file", str(b)]  # noqa: E731
    reference = tmp_path / "reference.duckdb"
    shutil.copy(prepared, reference)
    from minerwatch.cli import main as run
    assert run(args_for(reference)) == 0
    # Two commit points (the headers, the refresh), each ahead of and behind its COMMIT.
    assert crash_at_every_commit(args_for, prepared, tmp_path, dump(reference)) == 4


def test_progress_counts_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sync(tmp_path / "p.duckdb", "--headers-file", str(EARLY)) == 0
    err = capsys.readouterr().err
    assert "headers 8,999/8,999" in err and "headers/s" in err and "blocks/s" not in err
    assert "headers 0–8,999 stored" in err


def test_headers_then_blocks_equals_blocks_then_headers(tmp_path: Path) -> None:
    # Headers 0–8,999 first, then the real blocks 0–438 from a blk file: the blocks take their
    # heights over (the refresh starts again at 0 for their fees and revenue, and drops the headers
    # they cover), ending as the database loaded in the other order.
    from db_dump import dump

    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(DATA / "blkfiles" / "mainnet-heights-0-438.dat", blocks / "blk00000.dat")
    first, second = tmp_path / "headers-first.duckdb", tmp_path / "blocks-first.duckdb"
    assert _sync(first, "--headers-file", str(EARLY)) == 0
    assert _sync(first, "--blocks-dir", str(blocks), "--workers", "1") == 0
    assert _sync(second, "--blocks-dir", str(blocks), "--workers", "1") == 0
    assert _sync(second, "--headers-file", str(EARLY)) == 0
    a, b = dump(first), dump(second)
    assert min(r[0] for r in a["headers"]) == 439 and len(a["blocks"]) == 439
    assert a == b
