"""Charts an analyst expects: the BTC price on a second axis, log scale, the difficulty ribbon as one
chart, one colour per definition, a floating tooltip, hash-ribbon signals and capitulation episodes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from browser_support import chart_points, load, load_sized  # noqa: E402, F401
from minerwatch.web.pages import PAGES  # noqa: E402, F401

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("path", "chart"), [("/", "hashprice"), ("/", "reserve"), ("/hashprice", "hashprice"),
                                              ("/reserve", "reserve"), ("/outflows", "flows")])
def test_btc_price_on_a_second_axis(browser: object, server: ws.LiveServer, path: str, chart: str) -> None:
    page, errors = load(browser, server.url + path)
    fig = page.query_selector(f"[data-chart-id={chart}]")  # type: ignore[attr-defined]
    assert "BTC price" in fig.query_selector(".u-legend").inner_text()
    # x, the series' own axis at the left and the price's at the right; the test chain's price is
    # 60,000 USD every day, so the right axis reaches $60k.
    assert len(fig.query_selector_all(".u-axis")) == 3
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_log_scale_toggle_is_kept_in_the_url(browser: object, server: ws.LiveServer) -> None:
    page, errors = load(browser, server.url + "/hashrate")
    fig = page.query_selector("[data-chart-id=difficulty]")  # type: ignore[attr-defined]
    button = fig.query_selector("button.log")
    assert button.get_attribute("aria-pressed") == "false"
    button.click()
    assert "log=difficulty" in page.url  # type: ignore[attr-defined]
    assert fig.query_selector("button.log").get_attribute("aria-pressed") == "true"
    # The interval links carry it, so the next window opens on the same scale.
    page.click(".intervals a:text-is('3m')")  # type: ignore[attr-defined]
    page.wait_for_selector("#page:not(:has(.loading))")  # type: ignore[attr-defined]
    assert "log=difficulty" in page.url and "interval=3m" in page.url  # type: ignore[attr-defined]
    assert page.get_attribute("[data-chart-id=difficulty] button.log", "aria-pressed") == "true"  # type: ignore[attr-defined]
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_difficulty_ribbon_is_one_chart_shortest_window_first(server: ws.LiveServer) -> None:
    import urllib.request

    doc = json.loads(urllib.request.urlopen(server.url + "/hashrate.json?interval=all").read())
    charts = {c["id"]: c for c in doc["charts"]}
    assert [s["metric"] for s in charts["difficulty-ribbon"]["series"]] == \
        [f"difficulty_sma{n}" for n in (14, 25, 40, 60, 90, 128, 200)]
    assert not [i for i in charts if i.startswith("more-difficulty_sma")]


def _legend_colors(page: object, chart: str) -> dict[str, str]:
    return page.evaluate(  # type: ignore[attr-defined]
        """id => Object.fromEntries([...document.querySelectorAll(`[data-chart-id=${id}] .u-legend .u-series`)]
             .map(r => [r.innerText.trim(), getComputedStyle(r.querySelector('.u-marker')).borderColor]))""", chart)


def test_one_colour_per_definition_and_the_headline_first(browser: object, server: ws.LiveServer) -> None:
    page, _ = load(browser, server.url + "/hashprice")
    on_hashprice = _legend_colors(page, "hashprice")
    page.goto(server.url + "/")  # type: ignore[attr-defined]
    page.wait_for_selector("#page:not(:has(.loading))")  # type: ignore[attr-defined]
    on_overview = _legend_colors(page, "hashprice")
    page.goto(server.url + "/hashrate?interval=24h")  # type: ignore[attr-defined]
    page.wait_for_selector("#page:not(:has(.loading))")  # type: ignore[attr-defined]
    on_hashrate = _legend_colors(page, "hashrate")
    orange, blue = "rgb(247, 147, 26)", "rgb(47, 111, 223)"
    assert list(on_hashprice)[0] == "Hashprice"          # the headline definition leads the legend
    assert on_hashprice["Hashprice"] == on_overview["Hashprice"] == orange
    assert on_hashprice["Hashprice (BRK)"] == on_hashrate["Hashrate, trailing 24 h (BRK)"] == blue
    page.close()  # type: ignore[attr-defined]


def test_floating_tooltip_names_the_day_and_values(browser: object, server: ws.LiveServer) -> None:
    page, _ = load(browser, server.url + "/hashprice")
    box = page.query_selector("[data-chart-id=hashprice] .u-over").bounding_box()  # type: ignore[attr-defined]
    page.mouse.move(box["x"] + 5, box["y"] + 5)  # type: ignore[attr-defined]
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)  # type: ignore[attr-defined]
    tip = page.wait_for_selector("[data-chart-id=hashprice] .tooltip", state="visible")  # type: ignore[attr-defined]
    lines = tip.inner_text().splitlines()
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} 2024", lines[0])
    assert re.fullmatch(r"Hashprice: \$\d+\.\d\d/PH/day", lines[1])
    assert lines[-1] == "BTC price: $60,000"
    page.close()  # type: ignore[attr-defined]


def test_demo_signals_mark_ribbon_signals_and_shade_episodes(browser: object, demo_server: ws.LiveServer,
                                                             demo_db: Path) -> None:
    import urllib.request

    from minerwatch.queries import signals
    from minerwatch.web.charts import day_s

    doc = json.loads(urllib.request.urlopen(demo_server.url + "/signals.json?interval=all").read())
    charts = {c["id"]: c for c in doc["charts"]}
    con = ws.open_ro(demo_db)
    try:
        episodes = signals.watch(con).episodes
        ribbon = signals.ribbon_signals(con)
    finally:
        con.close()
    # The demo's price crash makes the watch find an episode (tests/test_capitulation_demo.py): each
    # is shaded on the ribbons and on Puell, from its first day to the end of its last (the rules are
    # the watch's; the page only draws what it reports).
    assert episodes
    bands = [{"from": day_s(e.start), "to": day_s(e.end) + 86_400, "label": "capitulation episode"} for e in episodes]
    assert charts["hash-ribbons"]["bands"] == charts["puell"]["bands"] == bands
    kinds = [m["kind"] for m in charts["hash-ribbons"]["markers"]]
    assert kinds == [r.kind for r in ribbon] and "buy" in kinds and "capitulation" in kinds
    assert "price" in charts["puell"]          # Puell against the price that drives it
    page, errors = load(browser, demo_server.url + "/signals?interval=all")
    assert int(page.get_attribute("[data-chart-id=hash-ribbons]", "data-points")) > 0  # type: ignore[attr-defined]
    assert errors == []
    page.close()  # type: ignore[attr-defined]
