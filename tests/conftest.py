"""Fixtures shared by the test suite; each section belongs to the support module it imports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# --- the bcoin regtest node (tests/regtest_node.py) ----------------------------------------------
from regtest_node import (  # noqa: F401  (fixtures are found by name)
    mark_regtest_items,
    regtest_node_factory_fixture,
    regtest_node_fixture,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_regtest_items(items)


# --- the user's own databases --------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _no_user_database(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run without --db see an empty data directory, never the machine's real or demo
    database (calculators take the market from a database when there is one)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.getbasetemp() / "xdg-data-home"))
    monkeypatch.delenv("MINERWATCH_DB", raising=False)


# --- the built-in demo (`minerwatch demo`), built once per session by the tests that ask for it ----
@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full demo database, exactly as `minerwatch demo --no-serve` builds it (about 3 minutes
    on two cores); treat it as read-only."""
    from minerwatch.cli.demo_cmds import build_demo

    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(db, log=lambda _msg: None)
    return db


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def feeds_server() -> Iterator[str]:
    """The recorded exchange answers of tests/data/feeds, served by a real local HTTP server: its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(Path(__file__).parent / "data" / "feeds")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
