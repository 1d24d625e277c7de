"""Input files, option values and blocks directories that cannot be used: each ends in a message that
names the file or value and a hint that says what to do, never a traceback or a quiet wrong answer."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from test_blkfiles import REAL, XOR_KEY

from minerwatch.alerts.rules import load_rules
from minerwatch.chain.blkscan import scan
from minerwatch.chain.blkwrite import write_blk_files
from minerwatch.chain.rpc import RpcClient
from minerwatch.cli import build_parser, main
from minerwatch.economics.catalog import load_catalog, read_user_text
from minerwatch.economics.fleet import load_fleet
from minerwatch.errors import NodeError, ParseError, UsageError
from minerwatch.metrics.prices import read_price_csv
from minerwatch.networks import get_network

DATA = Path(__file__).parent / "data"
BLK_0_438 = DATA / "blkfiles" / "mainnet-heights-0-438.dat"
GENESIS_ADDRESS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
MAINNET = get_network("mainnet")
REGTEST = get_network("regtest")
RPC_SOURCE = Path(__file__).parents[1] / "src" / "minerwatch" / "chain" / "rpc.py"

# "ok\n" then a Latin-1 "été": byte 3 is 0xe9, a UTF-8 lead byte that the ASCII "t" after it
# does not continue, so decoding fails at position 3 on byte 0xe9.
LATIN1 = b"ok\n\xe9t\xe9\n"
FLEET = '[site]\npower_usd_per_kwh = 0.05\n\n[[machines]]\nmodel = "Antminer S21"\ncount = 10\n'


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# --- user files: not UTF-8, not a file, byte-order marks ---------------------------------------------

@pytest.mark.parametrize(("read", "what"), [
    (lambda p: read_price_csv(p), "price file"),
    (lambda p: load_fleet(p, load_catalog()), "fleet file"),
    (lambda p: load_catalog(p), "ASIC file"),
    (lambda p: load_rules(p), "rules file"),
])
def test_a_file_that_is_not_utf8_is_named(read, what: str, tmp_path: Path) -> None:  # noqa: ANN001
    f = tmp_path / "latin1.txt"
    f.write_bytes(LATIN1)
    with pytest.raises(UsageError) as e:
        read(f)
    assert e.value.message == f"{what} {f} is not UTF-8 text (byte 0xe9 at position 3)"
    assert e.value.hint.startswith("save the file as UTF-8 text")
    # A folder where a file belongs, and a path that does not exist: named, with what to check.
    with pytest.raises(UsageError) as e:
        read(tmp_path)
    assert e.value.message.startswith(f"cannot read {what} {tmp_path}: ") and "check the path" in e.value.hint
    with pytest.raises(UsageError) as e:
        read(tmp_path / "missing.txt")
    assert e.value.message == f"cannot read {what} {tmp_path / 'missing.txt'}: No such file or directory"


def test_a_byte_order_mark_is_not_part_of_the_first_field(tmp_path: Path) -> None:
    # Spreadsheets save "CSV UTF-8" with EF BB BF in front; the first date must still parse.
    f = tmp_path / "p.csv"
    f.write_bytes(b"\xef\xbb\xbf2024-01-02,50000\n")
    assert read_user_text(f, "price file") == "2024-01-02,50000\n"
    assert [(d.isoformat(), p) for d, p in read_price_csv(f)] == [("2024-01-02", 50000.0)]


def test_cli_names_the_file_that_is_not_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "models.csv"
    bad.write_bytes(LATIN1)
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET)
    code, out, err = run(capsys, "calc", "fleet", str(fleet), "--asic-file", str(bad))
    assert code == 1 and out == ""
    assert f"error: ASIC file {bad} is not UTF-8 text (byte 0xe9 at position 3)" in err
    assert "hint: save the file as UTF-8 text" in err


# --- prices import -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["inf", "nan", "-inf", "Infinity", "1e999"])
def test_a_price_must_be_finite(text: str, tmp_path: Path) -> None:
    # float() reads all of these without complaint: "1e999" overflows to inf, "nan" is not < or > 0.
    f = tmp_path / "p.csv"
    f.write_text(f"date,price_usd\n2024-01-02,{text}\n")
    with pytest.raises(UsageError) as e:
        read_price_csv(f)
    assert e.value.message == f"{f}: line 2: price {text!r} is not a finite positive number"
    assert "leave out a day without one" in e.value.hint


def test_prices_import_refuses_inf_and_counts_days_in_words(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.duckdb"
    f = tmp_path / "p.csv"
    f.write_text("date,price_usd\n2024-01-02,inf\n")
    code, out, err = run(capsys, "prices", "import", str(f), "--db", str(db))
    assert code == 1 and out == "" and "price 'inf' is not a finite positive number" in err
    f.write_text("date,price_usd\n2024-01-02,50000\n")
    code, out, _ = run(capsys, "prices", "import", str(f), "--db", str(db))
    assert code == 0 and out == f"imported 1 day (2024-01-02 … 2024-01-02) from {f}\n"
    f.write_text("date,price_usd\n2024-01-02,50000\n2024-01-03,51000\n")
    code, out, _ = run(capsys, "prices", "import", str(f), "--db", str(db))
    assert code == 0 and out.startswith("imported 2 days (2024-01-02 … 2024-01-03)")
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT date::VARCHAR, price_usd FROM prices WHERE date >= '2024-01-02' "
                           "AND date <= '2024-01-03' ORDER BY date").fetchall()
    finally:
        con.close()
    assert rows == [("2024-01-02", 50000.0), ("2024-01-03", 51000.0)]


# --- numbers TOML and CSV accept but no cost, rate or threshold can be ------------------------------

@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_fleet_and_rules_refuse_infinite_numbers(value: str, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET.replace("0.05", value))
    with pytest.raises(UsageError) as e:
        load_fleet(fleet, load_catalog())
    assert e.value.message == f"fleet.toml [site]: power_usd_per_kwh = {float(value)} is not a finite number"
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[rules]]\nname = "low"\nmetric = "hashprice_usd_per_ph_day"\nbelow = {value}\n')
    with pytest.raises(UsageError) as e:
        load_rules(rules)
    assert e.value.message == "rules #1 (low): below must be a finite number"
    asic = tmp_path / "asic.csv"
    asic.write_text(f"model,manufacturer,hashrate_ths,power_w\nX1,Acme,{value},3000\n")
    with pytest.raises(UsageError) as e:
        load_catalog(asic)
    assert e.value.message == f"asic.csv line 2: hashrate_ths = {float(value)} must be a finite positive number"


# --- RPC hints name only options that exist --------------------------------------------------------

def _sync_options() -> set[str]:
    parser = build_parser()
    sync = next(a for a in parser._actions if hasattr(a, "choices") and a.choices and "sync" in a.choices)
    return {o for a in sync.choices["sync"]._actions for o in a.option_strings}


def test_every_option_rpc_hints_name_is_a_sync_option() -> None:
    # Every string in rpc.py (hints are string literals or f-string parts) is searched for --options.
    strings = [n.value for n in ast.walk(ast.parse(RPC_SOURCE.read_text(encoding="utf-8")))
               if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    named = {m for s in strings for m in re.findall(r"(?<![\w-])--[a-z][a-z-]*", s)}
    assert {"--datadir", "--rpc-cookie", "--rpc-user", "--rpc"} <= named
    assert named <= _sync_options(), named - _sync_options()


def test_missing_and_malformed_cookie_hints(tmp_path: Path) -> None:
    # No node is needed: the cookie is read before the first request is sent.
    with pytest.raises(NodeError) as e:
        RpcClient(None, REGTEST, datadir=tmp_path).call("getblockcount")
    assert e.value.message.startswith(f"cannot read the node's cookie file {tmp_path / 'regtest' / '.cookie'}")
    assert e.value.hint == ("pass --datadir DIR (the node's -datadir) or --rpc-cookie FILE, or --rpc-user NAME "
                            "with the password in the environment variable MINERWATCH_RPC_PASSWORD; the cookie "
                            "exists only while bitcoind runs")
    cookie = tmp_path / "my.cookie"
    cookie.write_text("no-colon-here")
    with pytest.raises(NodeError) as e:
        RpcClient(None, REGTEST, cookie_file=cookie).call("getblockcount")
    assert e.value.message == f"the cookie file {cookie} is not USER:PASSWORD"
    assert e.value.hint == "point --rpc-cookie FILE at the .cookie that bitcoind wrote"


def test_refused_connection_hint_names_the_credential_options() -> None:
    # Port 1 (tcpmux) has no listener here: the connection is refused at once, no retry waits.
    with pytest.raises(NodeError) as e:
        RpcClient("http://127.0.0.1:1", REGTEST, user="u", password="p", retries=0).call("getblockcount")
    assert "did not answer after 1 attempt (connection refused)" in e.value.message
    assert "(--datadir DIR or --rpc-cookie FILE)" in e.value.hint
    assert "(--rpc-user NAME and MINERWATCH_RPC_PASSWORD)" in e.value.hint


# --- metrics: date range, cohorts, names -----------------------------------------------------------

@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bitcoin's first 439 mainnet blocks (heights 0–438, 2009-01-03 … 2009-01-14)."""
    base = tmp_path_factory.mktemp("chain")
    blocks = base / "blocks"
    blocks.mkdir()
    shutil.copyfile(BLK_0_438, blocks / "blk00000.dat")
    path = base / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(blocks), "--db", str(path), "--workers", "1"]) == 0
    return path


def test_metrics_from_after_to(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "metrics", "difficulty", "--from", "2009-01-10", "--to", "2009-01-05", "--db", str(db))
    assert code == 1 and out == ""
    assert "error: --from 2009-01-10 is after --to 2009-01-05" in err and "hint:" in err
    # The same day at both ends is a one-day range: difficulty 1 on 2009-01-10 (no retarget before 2016).
    code, out, _ = run(capsys, "metrics", "difficulty", "--from", "2009-01-10", "--to", "2009-01-10",
                       "--format", "csv", "--db", str(db))
    assert code == 0 and out == "date,difficulty\n2009-01-10,1.0\n"


def test_metrics_unknown_pool_names_the_pools_there_are(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # No pool of mempool.space's list mined in 2009 (no coinbase tags, no listed payout addresses):
    # every stored block is attributed to "unknown", so that is the one pool to name.
    code, out, err = run(capsys, "metrics", "miner_reserve_btc", "--cohort", "pool:nosuch", "--db", str(db))
    assert code == 1 and out == ""
    assert "error: no stored block is attributed to pool 'nosuch'" in err
    assert "hint: pools with stored blocks (most blocks first): pool:unknown;" in err


def test_metrics_unknown_label_names_the_entities_there_are(db: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(db, copy)
    code, out, err = run(capsys, "metrics", "miner_reserve_btc", "--cohort", "label:Nobody", "--db", str(copy))
    assert code == 1 and "no label names the entity 'Nobody'" in err and "hint: no labelled entities yet;" in err
    labels = tmp_path / "l.csv"
    labels.write_text(f"address,entity,category\n{GENESIS_ADDRESS},Genesis,exchange\n")
    assert run(capsys, "labels", "import", str(labels), "--db", str(copy))[0] == 0
    code, out, err = run(capsys, "metrics", "miner_reserve_btc", "--cohort", "label:Nobody", "--db", str(copy))
    assert code == 1 and out == "" and "hint: labelled entities: label:Genesis;" in err


@pytest.mark.parametrize("cohort", ["pool:", "label:", "5hop", "pool"])
def test_metrics_cohort_that_is_no_cohort(cohort: str, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "metrics", "miner_reserve_btc", "--cohort", cohort, "--db", str(db))
    assert code == 1 and out == "" and f"error: unknown cohort {cohort!r}" in err
    assert "hint: use 0hop, 1hop, pool:<slug>, label:<entity> or entity:<id>" in err


def test_metrics_cohort_on_a_series_without_cohorts(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "metrics", "difficulty", "--cohort", "pool:unknown", "--db", str(db))
    assert code == 1 and out == "" and "error: difficulty has no cohorts" in err


def test_metrics_misspelt_name_gets_close_names(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # One letter dropped: no name starts with "hashprce", but difflib finds the intended one.
    code, _, err = run(capsys, "metrics", "hashprce_usd_per_ph_day", "--db", str(db))
    assert code == 1 and "error: no metric named 'hashprce_usd_per_ph_day'" in err
    assert "did you mean: hashprice_usd_per_ph_day" in err
    code, _, err = run(capsys, "metrics", "difficulti", "--db", str(db))
    assert code == 1 and "did you mean: difficulty" in err


# --- blk files and xor.dat ------------------------------------------------------------------------

def test_wrong_xor_key_is_named_not_blamed_on_the_file(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL[:20], xor_key=XOR_KEY)
    other = bytes.fromhex("0102030405060708")
    (blocks / "xor.dat").write_bytes(other)
    with pytest.raises(ParseError) as e:
        scan(blocks, MAINNET)
    # Stored magic = f9beb4d9 XOR a3f01c5e = 5a4ea887; decoded with 01020304 it reads 5b4cab83.
    assert (e.value.source, e.value.offset) == ("blk00000.dat", 0)
    assert e.value.detail == ("the key in xor.dat (0102030405060708) does not match the blk files: the file is "
                              "obfuscated with another key (found 5b4cab83, expected f9beb4d9)")
    assert e.value.hint.startswith("copy xor.dat from the node's blocks directory together with the blk files")


def test_xor_key_beside_plain_files(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL[:20])
    (blocks / "xor.dat").write_bytes(XOR_KEY)
    with pytest.raises(ParseError) as e:
        scan(blocks, MAINNET)
    # f9beb4d9 XOR a3f01c5e = 5a4ea887.
    assert "the file is not obfuscated, but xor.dat holds a key (found 5a4ea887, expected f9beb4d9)" in e.value.detail
    assert "copy xor.dat" in e.value.hint


def test_garbage_under_a_key_names_both_causes(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    (blocks / "blk00000.dat").write_bytes(bytes(range(1, 101)))
    (blocks / "xor.dat").write_bytes(XOR_KEY)
    with pytest.raises(ParseError) as e:
        scan(blocks, MAINNET)
    assert "no network magic at a record start after de-obfuscation with the key in xor.dat" in e.value.detail
    assert "copy xor.dat" in e.value.hint and "the file is corrupt" in e.value.hint


def test_sync_with_a_wrong_xor_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, MAINNET, REAL[:20], xor_key=XOR_KEY)
    (blocks / "xor.dat").write_bytes(bytes(reversed(XOR_KEY)))
    db = tmp_path / "m.duckdb"
    code, _, err = run(capsys, "sync", "--blocks-dir", str(blocks), "--db", str(db), "--workers", "1")
    assert code == 1
    assert "blk00000.dat: byte 0: the key in xor.dat (487c2d9b5e1cf0a3) does not match the blk files" in err
    assert "hint: copy xor.dat from the node's blocks directory together with the blk files" in err


# --- numeric options and the fleet-mix file --------------------------------------------------------

@pytest.mark.parametrize(("args", "option"), [
    (["calc", "hashprice", "--difficulty", "100T", "--price", "nan"], "--price"),
    (["calc", "breakeven", "--efficiency-j-per-th", "20", "--power-usd-per-kwh", "inf",
      "--hashprice-usd-per-ph-day", "50"], "--power-usd-per-kwh"),
    (["calc", "breakeven", "--efficiency-j-per-th", "1e999", "--power-usd-per-kwh", "0.05",
      "--hashprice-usd-per-ph-day", "50"], "--efficiency-j-per-th"),
])
def test_numeric_options_must_be_finite(args: list[str], option: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *args)
    value = args[args.index(option) + 1]
    assert code == 2 and out == "" and f"argument {option}: not a finite number: {value!r}" in err


def test_surface_lists_and_mix_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "calc", "surface", "--hashprice-usd-per-ph-day", "50", "--efficiencies", "20,nan")
    assert code == 1 and out == "" and "error: '20,nan' holds a number that is not finite" in err
    mix = tmp_path / "mix.csv"
    mix.write_bytes(LATIN1)
    code, out, err = run(capsys, "calc", "surface", "--hashprice-usd-per-ph-day", "50", "--mix", str(mix))
    assert code == 1 and out == ""
    assert f"error: fleet-mix file {mix} is not UTF-8 text (byte 0xe9 at position 3)" in err
