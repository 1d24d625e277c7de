"""Headless Chromium on a database of real headers alone (no node, no block): the hashrate page draws
difficulty and hashrate; and on a chain that runs past the stored prices, the banner that says since
when USD figures stop and which command fills the days."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from metrics_helpers import day_of_blocks, insert_facts, open_db  # noqa: E402
from minerwatch.cli import main  # noqa: E402
from minerwatch.metrics.registry import refresh_all  # noqa: E402

HEADERS = Path(__file__).resolve().parents[1] / "data" / "headers" / "mainnet-headers-822528-830592.bin"

pytestmark = pytest.mark.browser


def test_headers_alone_draw_difficulty_and_hashrate(browser: object, tmp_path: Path) -> None:
    db = tmp_path / "headers.duckdb"
    assert main(["sync", "--db", str(db), "--headers-file", str(HEADERS), "--first-height", "822528"]) == 0
    with ws.LiveServer(db) as s:
        page = browser.new_page()  # type: ignore[attr-defined]
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(s.url + "/hashrate?interval=all")
        page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
        points = {c.get_attribute("data-chart") or c.get_attribute("id"): int(c.get_attribute("data-points") or 0)
                  for c in page.query_selector_all("figure.chart")}
        # The 8,065 headers span 55 UTC days: the difficulty chart has a point for each.
        assert any(n >= 55 for n in points.values()), points
        assert not page.query_selector("[data-empty]")
        assert errors == []
        page.close()


def test_banner_when_usd_figures_stop_before_the_chain(browser: object, tmp_path: Path) -> None:
    # Blocks on 2026-08-20 … 2026-08-25; the shipped prices end on 2026-08-22.
    con = open_db(tmp_path)
    facts = []
    for day in range(6):
        facts += day_of_blocks(950_000 + 144 * day, day, 144, 1.2e14, start_s=1_787_184_000)
    insert_facts(con, facts)
    refresh_all(con, 0)
    con.close()
    with ws.LiveServer(tmp_path / "metrics.duckdb") as s:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(s.url + "/hashprice")
        assert page.is_visible("[data-usd-note]")
        text = page.inner_text("[data-usd-note]")
        assert "USD figures stop on 2026-08-22" in text and "minerwatch prices fetch --since 2026-08-23 --store" in text
        page.close()
