"""Bad input through the real command line: every case ends in a clear message on stderr (what
happened, then a hint), a non-zero exit status, no traceback, and a database left as it was.

The good chain is Bitcoin's first 439 mainnet blocks (tests/data/blkfiles/mainnet-heights-0-438.dat,
heights 0–438, 2009-01-03 … 2009-01-14), synced once per module and copied where a test writes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

import db_dump
from minerwatch.cli import main
from minerwatch.cli.chain_cmds import EXIT_DAMAGED_FILES
from minerwatch.networks import get_network

DATA = Path(__file__).parent / "data"
BLK_0_438 = DATA / "blkfiles" / "mainnet-heights-0-438.dat"
BLK_1_255 = DATA / "blkfiles" / "mainnet-heights-1-255.dat"
BLOCK_1 = DATA / "blocks" / "mainnet-1.bin"   # 215 bytes: header, one coinbase transaction
GENESIS_ADDRESS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `minerwatch ARGS` (argparse's exit 2 included)."""
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse rejects a malformed argument before any command runs
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every table, for "the database did not change": the record of what the last blocks directory
    held (for `status`) is allowed to follow the files."""
    return db_dump.dump(db, ignore_meta=("blocks_dir_report",))


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("synced")
    blocks = base / "blocks"
    blocks.mkdir()
    shutil.copyfile(BLK_0_438, blocks / "blk00000.dat")
    db = base / "good.duckdb"
    assert main(["sync", "--blocks-dir", str(blocks), "--db", str(db), "--workers", "1"]) == 0
    return db


@pytest.fixture
def db(synced: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(synced, copy)
    return copy


def blocks_dir_with(tmp_path: Path, data: bytes, name: str = "blk00000.dat") -> Path:
    d = tmp_path / "blocks"
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(data)
    return d


# --- block --file ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "phrase"), [
    (b"", "byte 0: truncated: 0 bytes is less than a header and a transaction count"),
    (b"hello world\n", "byte 0: truncated: 12 bytes is less than a header"),
    # Block 1 cut after 100 of its 215 bytes: the header (80) and the count byte say one
    # transaction, and 19 bytes cannot hold it.
    (BLOCK_1.read_bytes()[:100], "byte 80: absurd transaction count"),
    # Two bytes past the end of block 1's only transaction.
    (BLOCK_1.read_bytes() + b"\x00\x01", "byte 215: 2 trailing bytes after the last transaction"),
    (b"abc", "looks like hex but is not valid hex"),
])
def test_block_file_that_is_not_a_block(content: bytes, phrase: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(content)
    code, out, err = run(capsys, "block", "--file", str(f), "--json")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and phrase in err and "\nhint: " in err


def test_block_file_hex_wrapped_over_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Block 1 as hex in lines of 64 characters (and CRLF line ends), as copied from a web page.
    hex_text = BLOCK_1.read_bytes().hex()
    f = tmp_path / "wrapped.hex"
    f.write_text("\r\n".join(hex_text[i:i + 64] for i in range(0, len(hex_text), 64)) + "\r\n")
    code, out, _ = run(capsys, "block", "--file", str(f), "--json")
    assert code == 0 and '"hash": "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"' in out


def test_block_file_missing_or_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "block", "--file", str(tmp_path / "nope.bin"))
    assert code == 1 and "cannot read" in err and "No such file or directory" in err and "hint: check the path" in err
    code, _, err = run(capsys, "block", "--file", str(tmp_path))
    assert code == 1 and "Is a directory" in err


def test_block_file_given_a_whole_blk_file(capsys: pytest.CaptureFixture[str]) -> None:
    # The file's first record is block 1 (215 bytes); 255 records follow one another, 58,731 bytes
    # in all, so 58,723 bytes follow the first 8-byte record header.
    code, _, err = run(capsys, "block", "--file", str(BLK_1_255))
    assert code == 1
    assert "starts like a mainnet blk file record of 215 bytes but holds 58,723 bytes" in err
    assert "minerwatch sync --blocks-dir DIR" in err


def test_block_file_blk_record_of_another_network(capsys: pytest.CaptureFixture[str]) -> None:
    one = DATA / "blkfiles" / "mainnet-height-277647.dat"   # one mainnet record
    code, _, err = run(capsys, "block", "--file", str(one), "--network", "testnet3")
    assert code == 1 and "is a mainnet blk record, not testnet3" in err and "hint: add --network mainnet" in err


# --- sync --blocks-dir ----------------------------------------------------------------------------

def test_blocks_dir_missing_empty_or_without_blk_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.duckdb"
    code, _, err = run(capsys, "sync", "--blocks-dir", str(tmp_path / "nope"), "--db", str(db))
    assert code == 1 and f"blocks directory {tmp_path / 'nope'} does not exist" in err and "--blocks-dir" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a blk file")
    code, _, err = run(capsys, "sync", "--blocks-dir", str(empty), "--db", str(db))
    assert code == 1 and "holds no blk*.dat files" in err and "'blocks' folder" in err


@pytest.mark.parametrize(("content", "phrase"), [
    # An empty blk file: no record, so nothing reaches back to the genesis block.
    (b"", "no block in"),
    # Bytes 1, 2, 3, … where a record must start: no network magic (zeros would read as Bitcoin
    # Core's preallocated, not yet written, tail of a file).
    (bytes(range(1, 256)) * 40, "no network magic at a record start (found 01020304, expected f9beb4d9)"),
])
def test_blk_file_that_holds_no_blocks(content: bytes, phrase: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    d = blocks_dir_with(tmp_path, content)
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(tmp_path / "m.duckdb"))
    assert code == 1 and phrase in err and "hint:" in err


def test_corrupt_blk_file_stores_nothing_wrong_and_resumes(tmp_path: Path, db: Path, synced: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(BLK_0_438.read_bytes())
    # Eight 0xff bytes at offset 20,000 land inside a transaction of one of the first hundred
    # blocks (215–300 bytes each with its 8-byte record header): its merkle root no longer matches.
    data[20_000:20_008] = b"\xff" * 8
    d = blocks_dir_with(tmp_path, bytes(data))
    # The bytes change block 89's header (its merkle root), so its hash, which then misses its
    # target: block 89 is invalid, and 90–438 (349 blocks) cannot connect. Into the full database
    # nothing changes (it once rolled back to height 88); the exit code says the files are damaged.
    before = dump(db)
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(db), "--workers", "1")
    assert code == EXIT_DAMAGED_FILES
    assert "note: the database (tip 438) is ahead of these files (tip 88); kept" in err
    assert "349 orphan and 1 invalid blocks set aside" in err
    # Only the record of what the last blocks directory held (for `status`) changes.
    assert dump(db) == before
    # Into a new database: every valid block (0–88), never the altered one, then the error.
    fresh = tmp_path / "fresh.duckdb"
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(fresh), "--workers", "1",
                       "--batch-blocks", "10")
    assert code == EXIT_DAMAGED_FILES and "synced 89 blocks; tip 88" in err
    assert "error: the blocks directory is damaged" in err and "hint: re-copy the damaged blk files" in err
    con = duckdb.connect(str(fresh), read_only=True)
    heights = [h for (h,) in con.execute("SELECT height FROM blocks ORDER BY height").fetchall()]
    con.close()
    assert heights == list(range(89))
    (d / "blk00000.dat").write_bytes(BLK_0_438.read_bytes())
    code, _, _ = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(fresh), "--workers", "1")
    assert code == 0
    assert dump(fresh)["blocks"] == dump(synced)["blocks"]


def test_older_shorter_blocks_dir_deletes_nothing(tmp_path: Path, db: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # The first 30,000 bytes of the file: blocks 0–133 whole (the run that stops there stores 134
    # blocks, tip 133), then a record cut short. The database already holds 0–438.
    d = blocks_dir_with(tmp_path, BLK_0_438.read_bytes()[:30_000])
    before = dump(db)
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(db), "--workers", "1")
    assert code == 0 and "note: the database (tip 438) is ahead of these files (tip 133); kept" in err
    assert dump(db) == before


def test_wrong_network_for_blk_files_then_the_right_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = blocks_dir_with(tmp_path, BLK_0_438.read_bytes())
    db = tmp_path / "m.duckdb"
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(db), "--network", "testnet3")
    assert code == 1 and "these blk files are mainnet blocks, not testnet3" in err
    assert "hint: run with --network mainnet" in err
    # The failed run stored nothing, so the database must not stay bound to testnet3: following
    # the hint works.
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(db), "--network", "mainnet",
                       "--workers", "1")
    assert code == 0 and "synced 439 blocks; tip 438" in err


def test_wrong_network_for_a_database_with_blocks(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)
    d = blocks_dir_with(tmp_path, BLK_0_438.read_bytes())
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(db), "--network", "testnet3")
    assert code == 1 and f"{db} holds mainnet data, not testnet3" in err
    assert "hint: use --network mainnet, or another --db for testnet3" in err
    assert dump(db) == before


@pytest.mark.parametrize(("flag", "value", "phrase"), [
    ("--batch-blocks", "0", "argument --batch-blocks: 0 is below the least allowed value, 1"),
    ("--batch-blocks", "x", "argument --batch-blocks: not a whole number: 'x'"),
    ("--workers", "0", "argument --workers: 0 is below the least allowed value, 1"),
    ("--stop-height", "-5", "argument --stop-height: -5 is below the least allowed value, 0"),
    ("--poll-seconds", "0", "argument --poll-seconds: 0 is below the least allowed value, 0.1"),
    # "nan" passed every bound (no comparison is true of it), "inf" is no time either.
    ("--poll-seconds", "nan", "argument --poll-seconds: not a finite number: 'nan'"),
    ("--rpc-timeout", "inf", "argument --rpc-timeout: not a finite number: 'inf'"),
    ("--rpc-timeout", "0.5", "argument --rpc-timeout: 0.5 is below the least allowed value, 1.0"),
])
def test_sync_numbers_out_of_range(flag: str, value: str, phrase: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "sync", "--blocks-dir", str(tmp_path), "--db", str(tmp_path / "m.duckdb"), flag, value)
    assert code == 2 and phrase in err
    assert not (tmp_path / "m.duckdb").exists()


def test_follow_without_a_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "sync", "--follow", "--blocks-dir", str(tmp_path), "--db", str(tmp_path / "m.duckdb"))
    assert code == 1 and "error: --follow needs a node" in err and "hint: add --rpc URL" in err
    assert not (tmp_path / "m.duckdb").exists()


def test_rpc_port_where_nothing_listens(tmp_path: Path) -> None:
    # A port just bound and released: nothing listens there. The client retries 6 times with
    # backoff 0.5, 1, 2, 4, 8 s (about 16 s), then gives up with the node's address and a hint.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    password = "pw-that-must-not-leak-4711"
    proc = subprocess.run(
        [sys.executable, "-m", "minerwatch", "sync", "--rpc", f"http://127.0.0.1:{port}", "--rpc-user", "alice",
         "--network", "regtest", "--db", str(tmp_path / "r.duckdb")],
        capture_output=True, text=True, timeout=120, env={"MINERWATCH_RPC_PASSWORD": password, "PATH": "/usr/bin:/bin",
                                                         "HOME": str(tmp_path)})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"error: the node at 127.0.0.1:{port} did not answer after 6 attempts (connection refused)" in proc.stderr
    assert "attempt 2 of 6 in 0.5 s" in proc.stderr and "hint: is bitcoind running?" in proc.stderr
    assert password not in proc.stderr + proc.stdout


# --- the database file ----------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"not a db\n", b"", bytes(range(256)) * 64])
def test_database_that_is_not_duckdb_is_left_alone(content: bytes, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x.duckdb"
    f.write_bytes(content)
    d = blocks_dir_with(tmp_path, BLK_0_438.read_bytes())
    for args in (["status"], ["sync", "--blocks-dir", str(d)], ["metrics", "hashprice_usd_per_ph_day"],
                 ["miners", "reserve"]):
        code, _, err = run(capsys, *args, "--db", str(f))
        assert code == 1 and f"error: {f} is not a DuckDB database" in err, args
        assert "hint: pass --db with a minerwatch database" in err
    assert f.read_bytes() == content


def test_database_locked_by_another_writer(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
                               "sys.stdin.read()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        d = blocks_dir_with(tmp_path, BLK_0_438.read_bytes())
        for args in (["status"], ["sync", "--blocks-dir", str(d)], ["miners", "reserve"]):
            code, _, err = run(capsys, *args, "--db", str(db))
            assert code == 1 and f"error: the database {db} is in use by another process" in err, args
            assert f"(pid {holder.pid}, " in err and "hint: stop that process or use another --db" in err
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert dump(db) == before


def test_db_path_that_cannot_be_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    d = blocks_dir_with(tmp_path, BLK_0_438.read_bytes())
    code, _, err = run(capsys, "sync", "--blocks-dir", str(d), "--db", str(a_file / "sub" / "m.duckdb"))
    assert code == 1 and "cannot create the folder of the database" in err and "a file is in the way" in err
    assert "hint: pass --db with a path in a folder you can write to" in err
    code, _, err = run(capsys, "status", "--db", str(tmp_path))
    assert code == 1 and f"{tmp_path} is a directory, not a database file" in err
    code, _, err = run(capsys, "status", "--db", str(tmp_path / "missing" / "m.duckdb"))
    assert code == 1 and "no database at" in err and "run `minerwatch sync`" in err
    assert not (tmp_path / "missing").exists()
    code, _, err = run(capsys, "demo", "--no-serve", "--db", str(a_file / "demo.duckdb"))
    assert code == 1 and "cannot create the folder of the demo database" in err and "a file is in the way" in err


# --- dates, metrics, cohorts ----------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["metrics", "hashprice_usd_per_ph_day", "--from", "2024-13-01"],
    ["miners", "outflow", "--from", "2024-13-01"],
    ["miners", "outflow", "--from", "yesterday"],
    ["miners", "reserve", "--as-of", "2009-02-30"],
])
def test_bad_date(args: list[str], db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *args, "--db", str(db))
    assert code == 2 and "not a date: '" in err and "(use YYYY-MM-DD)" in err


def test_outflow_from_after_to(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "miners", "outflow", "--from", "2009-01-20", "--to", "2009-01-01", "--db", str(db))
    assert code == 1 and "error: --from 2009-01-20 is after --to 2009-01-01" in err


@pytest.mark.parametrize("days", ["0", "-5", "x"])
def test_reserve_window_must_be_a_day_or_more(days: str, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "miners", "reserve", "--days", days, "--db", str(db))
    assert code == 2 and "argument --days:" in err


def test_days_outside_the_stored_ones(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The stored blocks are 2009-01-03 (genesis) … 2009-01-14 (block 438).
    code, out, err = run(capsys, "miners", "outflow", "--from", "2001-01-01", "--to", "2002-01-01", "--db", str(db))
    assert code == 1 and out == "" and "no stored block between 2001-01-01 and 2002-01-01" in err
    assert "hint: the stored blocks run from 2009-01-03 to 2009-01-14" in err
    code, out, err = run(capsys, "miners", "reserve", "--as-of", "2001-01-01", "--db", str(db))
    assert code == 1 and "no miner reserve on or before 2001-01-01" in err and "first stored day is 2009-01-03" in err


def test_unknown_metric(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "metrics", "hashprice", "--db", str(db))
    assert code == 1 and "error: no metric named 'hashprice'" in err
    assert "did you mean: hashprice_usd_per_ph_day" in err


@pytest.mark.parametrize(("cohort", "phrase"), [
    ("5hop", "unknown cohort '5hop'"),
    ("pool:nosuchpool", "no stored block is attributed to pool 'nosuchpool'"),
    ("label:Nobody", "no label names the entity 'Nobody'"),
])
def test_unknown_cohort(cohort: str, phrase: str, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["miners", "reserve"], ["miners", "outflow", "--from", "2009-01-03"]):
        code, out, err = run(capsys, *args, "--cohort", cohort, "--db", str(db))
        assert code == 1 and out == "" and phrase in err and "hint:" in err, args
    code, _, err = run(capsys, "metrics", "miner_reserve_btc", "--cohort", "5hop", "--db", str(db))
    assert code == 1 and "unknown cohort '5hop'" in err


# --- labels and prices CSV ------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "phrase"), [
    (b"addr,entity\nfoo,bar\n", "missing column(s) address, category"),
    (b"", "missing column(s) address, category, entity"),
    (f"address,entity,category\n{GENESIS_ADDRESS},Binance\n".encode(), "line 2: only 2 of 3 fields"),
    (b"address,entity,category\nnotanaddress,Binance,exchange\n", "line 2: address notanaddress"),
    (b"\xff\xfe\x00garbage", "is not a UTF-8 text file (byte 0 is 0xff)"),
    # A testnet bech32 address (BIP 173's example) in a mainnet database.
    (b"address,entity,category\ntb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx,X,exchange\n",
     "belongs to testnet3 / testnet4 / signet, not mainnet"),
])
def test_malformed_labels_csv_changes_nothing(content: bytes, phrase: str, db: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.csv"
    good.write_text(f"address,entity,category\n{GENESIS_ADDRESS},Genesis,exchange\n")
    assert run(capsys, "labels", "import", str(good), "--db", str(db))[0] == 0
    before = dump(db)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    code, _, err = run(capsys, "labels", "import", str(bad), "--db", str(db))
    assert code == 1 and phrase in err and "hint:" in err
    assert dump(db) == before


def test_labels_csv_from_a_spreadsheet_with_a_byte_order_mark(db: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbf" + f"address,entity,category\n{GENESIS_ADDRESS},Genesis,exchange\n".encode())
    code, out, _ = run(capsys, "labels", "import", str(f), "--db", str(db))
    assert code == 0 and "1 labels" in out
    # Nothing flowed to an exchange before or after (the genesis coins never move), so no day changed.
    assert "0 day(s) changed" in out


@pytest.mark.parametrize("name", ["", " x", "a@b", "a+b"])
def test_label_set_name_that_cannot_be_used(name: str, db: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)
    f = tmp_path / "l.csv"
    f.write_text(f"address,entity,category\n{GENESIS_ADDRESS},Genesis,exchange\n")
    code, _, err = run(capsys, "labels", "import", str(f), "--name", name, "--db", str(db))
    assert code == 1 and f"label-set name {name!r} cannot be used" in err
    assert dump(db) == before


def test_labels_for_another_network_than_the_database(db: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)
    f = tmp_path / "l.csv"
    f.write_text(f"address,entity,category\n{GENESIS_ADDRESS},Genesis,exchange\n")
    code, _, err = run(capsys, "labels", "import", str(f), "--network", "testnet3", "--db", str(db))
    assert code == 1 and "holds mainnet data, not testnet3" in err
    assert dump(db) == before


@pytest.mark.parametrize(("content", "phrase"), [
    ("date,price_usd\n2024-13-01,40000\n", "line 2: expected DATE,PRICE_USD, got '2024-13-01,40000'"),
    ("date,price_usd\n2024-01-01,abc\n", "line 2: expected DATE,PRICE_USD, got '2024-01-01,abc'"),
    ("date,price_usd\n2024-01-01,-5\n", "line 2: price -5.0 is not positive"),
    ("", "holds no prices"),
])
def test_malformed_prices_csv_changes_nothing(content: str, phrase: str, db: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)
    f = tmp_path / "p.csv"
    f.write_text(content)
    code, _, err = run(capsys, "prices", "import", str(f), "--db", str(db))
    assert code == 1 and phrase in err and "hint:" in err
    assert dump(db) == before


@pytest.mark.parametrize("args", [["prices", "import"], ["calc", "fleet"], ["alerts", "run"]])
def test_input_file_that_is_not_text(args: list[str], db: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)
    f = tmp_path / "binary"
    f.write_bytes(b"\xff\xfe\x00garbage")
    extra = ["--db", str(db)] if args[0] != "calc" else []
    code, out, err = run(capsys, *args, str(f), *extra)
    assert code == 1 and out == ""
    assert "is not UTF-8 text" in err and "(byte 0xff at position 0)" in err and "hint: save the file as UTF-8" in err
    assert dump(db) == before


# --- serving --------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_serve_on_an_open_address_needs_a_token(host: str, db: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINERWATCH_TOKEN", raising=False)
    code, _, err = run(capsys, "serve", "--host", host, "--db", str(db))
    assert code == 1 and f"error: refusing to serve on {host} without a token" in err
    assert "hint: pass --token (or set MINERWATCH_TOKEN), or bind to 127.0.0.1" in err


def test_demo_on_an_open_address_is_refused_before_building(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINERWATCH_TOKEN", raising=False)
    db = tmp_path / "demo.duckdb"
    code, _, err = run(capsys, "demo", "--host", "0.0.0.0", "--db", str(db))
    assert code == 1 and "refusing to serve on 0.0.0.0 without a token" in err
    assert not db.exists() and not (tmp_path / "demo.duckdb.files").exists()


@pytest.fixture(scope="module")
def api(synced: Path) -> TestClient:
    from minerwatch.web.app import create_app

    return TestClient(create_app(synced), raise_server_exceptions=False)


@pytest.mark.parametrize(("path", "status", "phrase"), [
    ("/api/v1/series/nope", 400, "no metric named 'nope'"),
    ("/api/v1/series/nope.csv", 400, "no metric named 'nope'"),
    ("/api/v1/series/hashprice_usd_per_ph_day?interval=99y", 400, "unknown interval '99y'"),
    ("/api/v1/series/hashprice_usd_per_ph_day?interval=", 400, "unknown interval ''"),
    ("/api/v1/series/hashprice_usd_per_ph_day?max_points=0", 400, "max_points must be between 2 and 10000"),
    ("/api/v1/series/hashprice_usd_per_ph_day?max_points=abc", 400, "bad parameter: max_points"),
    ("/api/v1/series/hashprice_usd_per_ph_day?format=xml", 400, "bad parameter: format"),
    ("/api/v1/series/miner_reserve_btc?cohort=bogus", 400, "unknown cohort 'bogus'"),
    ("/api/v1/series/hashprice_usd_per_ph_day?cohort=0hop", 400, "has no cohorts"),
    ("/api/v1/pools/99y", 400, "unknown interval '99y'"),
    ("/api/v1/mining/pools/99y", 400, "unknown interval '99y'"),
    ("/api/v1/mining/hashrate/xx", 400, "unknown interval 'xx'"),
    ("/api/v1/breakeven?pue=abc", 400, "bad parameter: pue"),
    ("/api/v1/breakeven?pool_fee_pct=500", 400, "bad parameter: pool_fee_pct"),
    ("/api/v1/chain/block/abc", 400, "'abc' is neither a height nor a 64-hex-digit block hash"),
    ("/api/v1/chain/block/99999999", 404, "block 99999999 is not in the database (stored tip: 438)"),
    ("/api/v1/blocks/-1", 400, "start_height must be"),
    ("/api/block-height/abc", 400, "bad parameter: height"),
    ("/hashprice?from=2024-13-01", 400, "unknown parameter 'from' for /hashprice"),
    ("/api/v1/nonexistent", 404, "not found"),
])
def test_malformed_api_request(api: TestClient, path: str, status: int, phrase: str) -> None:
    r = api.get(path)
    assert r.status_code == status and r.headers["content-type"].startswith("application/json")
    assert phrase in r.json()["error"] and "Traceback" not in r.text


def test_series_api_rejects_unknown_parameters(api: TestClient) -> None:
    # The series has no date parameter: from= used to be ignored and the default 1y window returned.
    r = api.get("/api/v1/series/hashprice_usd_per_ph_day?from=2024-13-01")
    assert r.status_code == 400
    assert r.json() == {
        "error": "unknown parameter 'from' for /api/v1/series/hashprice_usd_per_ph_day",
        "hint": "parameters here: cohort, format, interval, max_points; "
                "the window always ends on the last stored day, its length is set by interval",
    }


# --- a blocks directory whose chain differs from the stored one ----------------------------------

def test_only_a_chain_with_more_work_replaces_the_stored_one(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from minerwatch.chain.blkfiles import write_blk_files
    from test_blkfiles import _hash_of, _regtest_fork

    regtest = get_network("regtest")
    main_chain, branch = _regtest_fork()   # heights 0–12, and 10'–13' off height 9
    write_blk_files(tmp_path / "main", regtest, main_chain)
    db = tmp_path / "r.duckdb"
    sync = ["sync", "--network", "regtest", "--db", str(db), "--workers", "1", "--blocks-dir"]
    assert run(capsys, *sync, str(tmp_path / "main"))[0] == 0
    before = dump(db)
    # 10' alone: one block of work against the stored 10, 11 and 12 (three): the stored chain stays.
    write_blk_files(tmp_path / "less", regtest, main_chain[:10] + branch[:1])
    code, _, err = run(capsys, *sync, str(tmp_path / "less"))
    assert code == 0 and "competing chain after height 9 with less work" in err
    assert dump(db) == before
    # 10'–13': four blocks against three: the files' chain wins, as a node would decide.
    write_blk_files(tmp_path / "more", regtest, main_chain[:10] + branch)
    code, _, err = run(capsys, *sync, str(tmp_path / "more"))
    assert code == 0 and "tip 13" in err
    con = duckdb.connect(str(db), read_only=True)
    hashes = [h for (h,) in con.execute("SELECT hash FROM blocks ORDER BY height").fetchall()]
    con.close()
    assert hashes == [_hash_of(b) for b in main_chain[:10] + branch]


def test_a_repeated_coinbase_txid_replaces_the_earlier_output(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # Blocks 10 and 11 carry the same coinbase transaction (the same txid), as mainnet's 91842 and
    # 91880 repeat 91812's and 91722's. Core keeps one output; so must we, in one batch or across batches.
    from minerwatch.chain.blkfiles import write_blk_files
    from minerwatch.chain.blockbuild import assemble_block, coinbase_tx
    from minerwatch.chain.builder import ChainBuilder, h20, p2wpkh

    regtest = get_network("regtest")
    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    for _ in range(9):
        b.mine()
    cb = coinbase_tx(10, b"repeated", [(p2wpkh(h20("repeat")), 50 * 10**8)])
    first = assemble_block([cb], b.tip_hash, 1_700_006_000, regtest.pow_limit_bits)
    second = assemble_block([cb], first.hash, 1_700_006_600, regtest.pow_limit_bits)
    d = tmp_path / "blocks"
    write_blk_files(d, regtest, b.blocks + [first.raw, second.raw])
    dbs = []
    for batch in ("500", "1"):
        db = tmp_path / f"b{batch}.duckdb"
        code, _, err = run(capsys, "sync", "--network", "regtest", "--blocks-dir", str(d), "--db", str(db),
                           "--workers", "1", "--batch-blocks", batch)
        assert code == 0 and "tip 11" in err
        dbs.append(db)
    con = duckdb.connect(str(dbs[0]), read_only=True)
    below = con.execute("SELECT count(*) FROM miner_outputs WHERE height <= 9").fetchone()[0]
    # 10 and 11 bring one output between them, held at 11.
    assert con.execute("SELECT count(*) FROM miner_outputs").fetchone()[0] == below + 1
    assert con.execute("SELECT max(height) FROM miner_outputs").fetchone()[0] == 11
    con.close()
    assert dump(dbs[0]) == dump(dbs[1])


@pytest.mark.parametrize("args", [["capitulation", "--as-of", "2024-13-01"], ["brief", "--since", "bad"]])
def test_a_date_rejected_while_the_arguments_are_read(args: list[str], db: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *args, "--db", str(db))
    assert code == 1 and out == "" and "is not a date" in err and "hint: use YYYY-MM-DD" in err


def test_block_of_an_empty_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from minerwatch.store import connect

    db = tmp_path / "empty.duckdb"
    connect(db).close()
    code, _, err = run(capsys, "block", "5", "--db", str(db))
    assert code == 1 and "error: block 5 is not in the database (it holds no blocks yet)" in err
