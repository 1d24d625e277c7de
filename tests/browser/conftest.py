"""Fixtures of the browser suite: Chromium, one live server on the small test chain, and one on
the demo database (built once per session, tests/conftest.py), shared by every module."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from browser_support import ARGS, CHROMIUM  # noqa: E402


# Per module, not per session: Playwright's sync API holds an event loop open while it runs, and the
# tests after the browser suite call asyncio.run (tests/test_web_http.py).
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("MINERWATCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is required (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ws.LiveServer]:
    with ws.LiveServer(ws.shared_db(tmp_path_factory)) as s:
        yield s


@pytest.fixture(scope="session")
def demo_server(demo_db: Path) -> Iterator[ws.LiveServer]:
    with ws.LiveServer(demo_db) as s:
        yield s
