"""The dashboard on any screen and for everyone: no page wider than a small phone, wide tables in
their own box, charts that follow their container, dark mode, axe-core, a text alternative per chart."""

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

READ_PATHS = [p.path for p in PAGES] + ["/series/hashvalue_btc_per_ph_day", "/series/mpi", "/hashrate?interval=3m"]


@pytest.mark.parametrize("path", READ_PATHS)
def test_no_horizontal_overflow_on_a_small_phone(browser: object, server: ws.LiveServer, path: str) -> None:
    # 360 px is the narrowest common phone; nothing may make the page wider (rows of buttons wrap,
    # wide tables scroll in their own box, charts take the width they are given).
    page = load_sized(browser, server.url + path, 360)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # type: ignore[attr-defined]
    for box in page.query_selector_all("figure.chart .plot"):  # type: ignore[attr-defined]
        assert box.evaluate("b => b.querySelector('canvas').getBoundingClientRect().right") <= 360
    page.close()  # type: ignore[attr-defined]


def test_wide_table_scrolls_in_its_own_box(browser: object, server: ws.LiveServer) -> None:
    page = load_sized(browser, server.url + "/", 360)
    box = page.query_selector("[data-table-id=all-series] .table-scroll")  # type: ignore[attr-defined]
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")      # the table is wider than the phone …
    assert page.evaluate("document.documentElement.scrollWidth") <= 360   # … and only its box scrolls
    page.close()  # type: ignore[attr-defined]


def test_charts_follow_their_container_on_resize(browser: object, server: ws.LiveServer) -> None:
    page = load_sized(browser, server.url + "/hashprice", 1280)
    width = "document.querySelector('figure.chart canvas').getBoundingClientRect().width"
    wide = page.evaluate(width)  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 480, "height": 800})  # type: ignore[attr-defined]
    page.wait_for_function(f"{width} < 480")  # type: ignore[attr-defined]
    narrow = page.evaluate(width)  # type: ignore[attr-defined]
    # main is at most 1,140 px wide less its padding and the figure's; at 480 px the chart must fit.
    assert wide > 900 and narrow <= 480 - 2 * 16
    page.close()  # type: ignore[attr-defined]


def test_dark_mode_follows_the_system(browser: object, server: ws.LiveServer) -> None:
    colors = {}
    for scheme in ("light", "dark"):
        page = load_sized(browser, server.url + "/", 1280, scheme=scheme)
        colors[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")  # type: ignore[attr-defined]
        page.close()  # type: ignore[attr-defined]
    assert colors == {"light": "rgb(250, 250, 249)", "dark": "rgb(11, 15, 25)"}


AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def _axe(page: object) -> list[str]:
    page.add_script_tag(path=str(AXE_JS))  # type: ignore[attr-defined]
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")  # type: ignore[attr-defined]
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['help']}" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", READ_PATHS)
def test_axe_finds_no_serious_violation(browser: object, server: ws.LiveServer, path: str, scheme: str) -> None:
    page = load_sized(browser, server.url + path, 1280, scheme=scheme)
    assert _axe(page) == []
    page.close()  # type: ignore[attr-defined]


def test_axe_on_the_api_docs(browser: object, server: ws.LiveServer) -> None:
    page = browser.new_page(bypass_csp=True)  # type: ignore[attr-defined]
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.get_attribute("html", "lang") == "en"
    assert _axe(page) == []
    page.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", READ_PATHS)
def test_every_chart_has_a_text_alternative(browser: object, server: ws.LiveServer, path: str) -> None:
    page = load_sized(browser, server.url + path, 1280)
    for fig in page.query_selector_all("figure.chart"):  # type: ignore[attr-defined]
        summary = page.query_selector("#" + fig.get_attribute("aria-describedby"))  # type: ignore[attr-defined]
        assert summary is not None and summary.inner_text().strip(), fig.get_attribute("data-chart-id")
    page.close()  # type: ignore[attr-defined]


def test_text_alternative_says_latest_value_and_change(browser: object, server: ws.LiveServer) -> None:
    # The test chain's hashrate: 144 blocks every day, difficulty 86 T × (1 + 0.01 × epoch), so the
    # daily estimate is difficulty × 2^32 / 600. First day (20 Apr 2024, epoch 0): 8.6e13 × 2^32 / 600
    # = 615.6 EH/s; last day (17 Aug 2024, the 120th, heights 857,136-857,279, nine retargets after
    # 840,000: 857,279 // 2,016 − 840,000 // 2,016 = 425 − 416): 8.6e13 × 1.09 × 2^32 / 600 = 671.0 EH/s,
    # i.e. 1.09 − 1 = +9.0 %.
    page = load_sized(browser, server.url + "/hashrate?estimator=hashrate_ehs", 1280)
    text = page.inner_text("[data-chart-id=hashrate] .summary")  # type: ignore[attr-defined]
    assert text == "Hashrate, 1-day: latest 671 EH/s on 17 Aug 2024, +9.0 % since 20 Apr 2024."
    page.close()  # type: ignore[attr-defined]
