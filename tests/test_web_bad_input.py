"""Bad input to the server: a --db that is not a database, a port that cannot be bound, parameters
an endpoint does not take, cohorts that name nobody. Each ends in a clear message and the fitting
status (or exit code), never in a page of zeros or a server that says "serving" and is not."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import web_support as ws
from minerwatch.cli import main
from minerwatch.metrics.capitulation import capitulation_state
from minerwatch.web.app import check_database, create_app
from minerwatch.web.respond import plain


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ws.shared_db(tmp_path_factory)


@pytest.fixture(scope="module")
def client(db: Path) -> TestClient:
    return TestClient(create_app(db), raise_server_exceptions=False)


def serve_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit status and stderr of `minerwatch serve ARGS` (each case here fails before listening)."""
    capsys.readouterr()
    code = main(["serve", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# --- the database file, as the server sees it ----------------------------------------------------

def test_a_file_that_is_not_duckdb_is_named_as_such_not_busy(tmp_path: Path) -> None:
    bad = tmp_path / "notdb.duckdb"
    bad.write_text("hello, not a database\n")
    c = TestClient(create_app(bad))
    for path in ("/hashprice", "/hashprice.json", "/api/v1/headline"):
        r = c.get(path)
        assert r.status_code == 503
        assert r.json() == {"error": "notdb.duckdb is not a DuckDB database",
                            "hint": "pass --db with a minerwatch database, or move this file away and run the command again"}
        # The file's name only: a served page never shows the folder the user keeps it in.
        assert str(tmp_path) not in r.text


def test_a_directory_as_the_database(tmp_path: Path) -> None:
    folder = tmp_path / "data.duckdb"
    folder.mkdir()
    r = TestClient(create_app(folder)).get("/api/v1/status")
    assert r.status_code == 503
    assert r.json()["error"] == "data.duckdb is a directory, not a database file"
    assert str(tmp_path) not in r.text


def test_a_database_held_by_a_writer_is_busy(tmp_path: Path) -> None:
    path = ws.build_db(tmp_path / "held.duckdb", days=2)
    # Another process holding the file for writing, as a sync does between its commits.
    writer = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
                               "sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        r = TestClient(create_app(path)).get("/api/v1/status")
        assert r.status_code == 503
        assert r.json() == {"error": "the database is busy (another process, such as a sync, is writing to it)",
                            "hint": "retry in a moment; `sync --follow` releases the file between batches"}
        assert "PID" not in r.text and str(tmp_path) not in r.text
        # `serve` starts anyway: the writer lets go between batches and the pages answer then.
        check_database(path)
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait()
    # Released: the same server process answers.
    assert TestClient(create_app(path)).get("/api/v1/status").json()["blocks"] == 2 * ws.BLOCKS_PER_DAY


# --- serve refuses to start instead of serving errors ----------------------------------------------

def test_serve_refuses_a_file_that_is_not_duckdb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notdb.duckdb"
    bad.write_bytes(b"\x00" * 4096)
    code, err = serve_cli(capsys, "--db", str(bad), "--port", "0")
    assert code == 1 and f"error: {bad} is not a DuckDB database" in err and "serving" not in err


def test_serve_refuses_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = serve_cli(capsys, "--db", str(tmp_path), "--port", "0")
    assert code == 1 and f"error: {tmp_path} is a directory, not a database file" in err and "serving" not in err


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_serve_refuses_a_port_out_of_range(port: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A missing file would serve the "no data yet" page: only the port is wrong here.
    code, err = serve_cli(capsys, "--db", str(tmp_path / "missing.duckdb"), "--port", port)
    assert code == 1 and f"error: port {port} is out of range" in err
    assert "hint: pass --port between 1 and 65535" in err and "serving" not in err


def test_serve_refuses_a_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, err = serve_cli(capsys, "--db", str(tmp_path / "missing.duckdb"), "--port", str(port))
    finally:
        taken.close()
    assert code == 1 and f"error: cannot listen on 127.0.0.1 port {port}: Address already in use" in err
    assert "hint: another program may be using the port: pass another --port" in err and "serving" not in err


# --- parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "phrase", "hint"), [
    ("/api/v1/series/miner_reserve_btc?since=2024-05-01", "unknown parameter 'since' for /api/v1/series/miner_reserve_btc",
     "parameters here: cohort, format, interval, max_points;"),
    ("/api/v1/series/miner_reserve_btc.csv?to=2024-05-01", "unknown parameter 'to' for /api/v1/series/miner_reserve_btc.csv",
     "parameters here: cohort, format, interval, max_points;"),
    ("/api/v1/headline?interval=1y", "unknown parameter 'interval' for /api/v1/headline", "parameters here: none"),
    ("/api/v1/capitulation?as_of=2024-05-01", "unknown parameter 'as_of' for /api/v1/capitulation", "parameters here: none"),
    ("/api/v1/breakeven?fee=2", "unknown parameter 'fee' for /api/v1/breakeven", "parameters here: pool_fee_pct, pue"),
    ("/api/v1/chain/block/840000?verbose=1", "unknown parameter 'verbose' for /api/v1/chain/block/840000",
     "parameters here: none"),
])
def test_api_refuses_parameters_it_does_not_take(client: TestClient, path: str, phrase: str, hint: str) -> None:
    r = client.get(path)
    assert r.status_code == 400 and r.json()["error"] == phrase and r.json()["hint"].startswith(hint)


def test_the_token_is_not_an_unknown_parameter(db: Path) -> None:
    token = "a-token-of-twenty-four-c"
    c = TestClient(create_app(db, token))
    assert c.get(f"/api/v1/headline?token={token}").status_code == 200


def test_a_bad_date_on_a_page_is_refused(client: TestClient) -> None:
    # 2024-13-01: there is no 13th month. The page frame refuses it as its JSON twin does.
    for path in ("/outflows?since=2024-13-01", "/outflows.json?since=2024-13-01"):
        r = client.get(path)
        assert r.status_code == 400 and r.json() == {"error": "since='2024-13-01' is not a date",
                                                     "hint": "use YYYY-MM-DD, e.g. since=2024-04-20"}


# --- cohorts that name nobody ---------------------------------------------------------------------

# The hint lists what does exist: the test chain's pools by stored blocks; it has no labels. It
# speaks HTTP: the command line's `minerwatch pools list --interval all` becomes the API route.
POOL_NOSUCH = ("no stored block is attributed to pool 'nosuch'",
               "pools with stored blocks (most blocks first): pool:foundryusa, pool:antpool, pool:viabtc, "
               "pool:unknown; GET /api/v1/pools/all lists every pool with stored blocks")
LABEL_NOSUCH = ("no label names the entity 'nosuch'",
                "no labelled entities yet; "
                "import labels with `minerwatch labels import FILE` (columns address,entity,category)")


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/series/miner_reserve_btc?cohort=pool:nosuch", POOL_NOSUCH),
    ("/api/v1/series/miner_outflow_btc.csv?cohort=label:nosuch", LABEL_NOSUCH),
    ("/reserve?cohort=pool:nosuch", POOL_NOSUCH),
    ("/reserve.json?cohort=label:nosuch", LABEL_NOSUCH),
    ("/outflows.json?cohort=pool:nosuch", POOL_NOSUCH),
    ("/series/miner_reserve_btc.json?cohort=pool:nosuch", POOL_NOSUCH),
])
def test_a_cohort_that_names_nobody_is_refused(client: TestClient, path: str, expected: tuple[str, str]) -> None:
    r = client.get(path)
    assert r.status_code == 400 and r.json() == {"error": expected[0], "hint": expected[1]}


def test_a_pool_that_mined_blocks_is_a_cohort(client: TestClient) -> None:
    # Foundry USA mines heights ending in 0–3 (web_support.tag_of), so its coinbases pay miner
    # scripts and the cohort holds coins from the first day on.
    r = client.get("/api/v1/series/miner_reserve_btc?cohort=pool:foundryusa&interval=all")
    assert r.status_code == 200
    doc = r.json()
    assert doc["cohort"] == "pool:foundryusa" and doc["latest"]["value"] > 0


# --- one capitulation state everywhere -------------------------------------------------------------

def test_every_interface_shows_the_metrics_capitulation_state(client: TestClient, db: Path) -> None:
    con = ws.open_ro(db)
    try:
        state = capitulation_state(con)
    finally:
        con.close()
    assert client.get("/api/v1/capitulation").json() == json.loads(json.dumps(plain(state)))
    for page in ("/index.json", "/signals.json"):
        doc = client.get(page).json()
        figure = next(f for f in doc["figures"] if f["label"] == "capitulation state")
        assert figure["unit"] == state.state and figure["date"] == (state.as_of.isoformat() if state.as_of else None)
        table = next(t for t in doc["tables"] if t["id"] == "capitulation")
        assert table["title"] == f"Capitulation watch: {state.state}"
        # The page shows each signal's name in words; its id stays in the document beside it.
        assert table["row_keys"] == [s.name for s in state.signals]
