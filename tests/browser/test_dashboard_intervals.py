"""Every page × interval draws a chart, or says why a window shorter than a week cannot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from browser_support import chart_points, load, load_sized  # noqa: E402, F401
from minerwatch.web.pages import PAGES  # noqa: E402, F401

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", [p.path for p in PAGES] + ["/series/difficulty", "/series/miner_reserve_btc"])
def test_every_interval_draws_or_says_why_not(browser: object, server: ws.LiveServer, path: str) -> None:
    from minerwatch.queries.intervals import INTERVALS

    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + path)
    page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
    disabled = {e.inner_text(): e.get_attribute("title")
                for e in page.query_selector_all(".intervals [aria-disabled=true]")}
    for interval in INTERVALS:
        if interval in disabled:
            # Only the windows shorter than a week can lack data, and the page says why.
            assert interval in ("24h", "3d") and "daily series only" in (disabled[interval] or "")
            assert "daily series only" in page.inner_text("#interval-why")
            continue
        link = page.query_selector(f".intervals a:text-is('{interval}')")
        assert link is not None, interval
        link.click()
        page.wait_for_url(f"**interval={interval}*")
        page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
        points = chart_points(page)
        # A chart with one point is the empty chart the window used to draw: every window here has
        # at least two (144 blocks in 24h, 3 × 144 in 3d, 7 days in 1w …).
        assert max(points.values(), default=0) >= 2, (interval, points)
    page.close()


def test_short_windows_draw_one_point_per_block(browser: object, server: ws.LiveServer) -> None:
    # The test chain has exactly 144 blocks a day at 600 s spacing, the last at 23:50 on 17 Aug 2024:
    # the blocks after tip − 24 h are the 144 of that day; after tip − 72 h, 432.
    page = browser.new_page()  # type: ignore[attr-defined]
    for interval, blocks in (("24h", 144), ("3d", 432)):
        page.goto(server.url + f"/hashrate?interval={interval}")
        page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
        assert chart_points(page)["difficulty"] == blocks
    page.close()


def test_breakeven_interval_sets_the_hashprice_window(browser: object, server: ws.LiveServer) -> None:
    # 1m is the 30 days ending on the last stored day, 3m 91: one hashprice point a day, and one of the
    # median machine's breakeven (the test chain's days, August 2024, all have one): 2 × 30 and 2 × 91.
    page = browser.new_page()  # type: ignore[attr-defined]
    got = {}
    for interval in ("1m", "3m"):
        page.goto(server.url + f"/breakeven?interval={interval}")
        page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
        got[interval] = chart_points(page)["hashprice-vs-cost"]
    assert got == {"1m": 60, "3m": 182}
    page.close()
