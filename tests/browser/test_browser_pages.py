"""Headless Chromium (Debian's, driven by Playwright) loads every dashboard page from a live server,
finds its charts drawn with data, and sees no console errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from minerwatch.web.pages import PAGES  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ws.LiveServer]:
    with ws.LiveServer(ws.shared_db(tmp_path_factory)) as s:
        yield s


def _load(browser: object, url: str) -> tuple[object, list[str]]:
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
    return page, errors


@pytest.mark.parametrize("spec", PAGES, ids=lambda p: p.slug)
def test_page_draws_charts_with_data(browser: object, server: ws.LiveServer, spec: object) -> None:
    page, errors = _load(browser, server.url + spec.path)  # type: ignore[attr-defined]
    charts = page.query_selector_all("figure.chart")  # type: ignore[attr-defined]
    assert charts, "no chart on the page"
    with_data = [c for c in charts if int(c.get_attribute("data-points") or 0) > 0]
    assert with_data, "no chart has data"
    # uPlot draws on a canvas inside each chart.
    assert all(c.query_selector("canvas") is not None for c in with_data)
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_simulated_label_and_empty_state(browser: object, tmp_path: Path) -> None:
    sim = ws.build_db(tmp_path / "sim.duckdb", days=2, network="simnet")
    with ws.LiveServer(sim) as s:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(s.url + "/hashprice")
        assert page.is_visible("[data-simulated]")
        page.close()
    with ws.LiveServer(tmp_path / "nothing.duckdb") as s:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(s.url + "/")
        assert "No data yet" in page.inner_text("[data-empty]")
        page.close()


def test_api_docs_work_offline(browser: object, server: ws.LiveServer) -> None:
    # Swagger UI is served from the package (no CDN): the operations list renders, nothing fails.
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: errors.append(r.url))
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert any("/api/v1/series/{name}" in o.inner_text() for o in page.query_selector_all(".opblock"))
    assert errors == []
    page.close()
