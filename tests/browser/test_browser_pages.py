"""Headless Chromium (Debian's, driven by Playwright) loads every dashboard page from a live server,
finds its charts drawn with data, and sees no console errors."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from minerwatch.metrics import registry  # noqa: E402
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


# Every page, and the page of one series, as a person reads it.
READ_PATHS = [p.path for p in PAGES] + ["/series/hashvalue_btc_per_ph_day", "/series/mpi", "/hashrate?interval=3m"]
# A metric id in visible text: the ids with an underscore (plain words such as "difficulty" and
# "blocks" are ids too, and are English) and the one-word acronym "mpi".
_IDS = re.compile(r"\b(" + "|".join(sorted((n for n in registry.load_all() if "_" in n or n == "mpi"),
                                             key=len, reverse=True)) + r")\b")
_E_NOTATION = re.compile(r"\d(\.\d+)?[eE][+-]?\d")


@pytest.mark.parametrize("path", READ_PATHS)
def test_visible_text_has_words_not_ids(browser: object, server: ws.LiveServer, path: str) -> None:
    page, errors = _load(browser, server.url + path)
    text = page.inner_text("body")  # type: ignore[attr-defined]
    assert _IDS.findall(text) == [], "metric ids in the text a person reads"
    assert _E_NOTATION.findall(text) == [], "e-notation in the text a person reads"
    assert "12:00" not in text and "am" not in re.findall(r"\d(am|pm)\b", text)
    # Titles carry no unit in parentheses, let alone two ("… (USD) (USD)").
    captions = [c.inner_text() for c in page.query_selector_all("figcaption")]  # type: ignore[attr-defined]
    assert not [c for c in captions if re.search(r"\((USD|BTC|EH/s|%|USD/PH/day)\)", c)]
    # The id is one hover away for those who take it to the API.
    labelled = page.query_selector_all(".figure .label[title]")  # type: ignore[attr-defined]
    if path == "/hashprice":
        assert [x.get_attribute("title") for x in labelled][0] == "hashprice_usd_per_ph_day"
        assert labelled[0].inner_text() == "Hashprice"
    assert errors == []
    page.close()  # type: ignore[attr-defined]


# What the field writes (Hashrate Index, mempool.space, CryptoQuant), each worked out by hand:
# 1.531e14 difficulty → 153.1 T; 1,070 EH/s = 1.07e21 H/s → 1.07 ZH/s; 34.4912 USD/PH/day to the cent;
# 4.1512e-4 BTC/PH/day to three significant digits; 57.7877 % to one decimal; a day → its UTC date.
FORMATTED = [
    ("value", [1.531e14, "difficulty"], "153.1 T"),
    ("value", [1070, "EH/s"], "1.07 ZH/s"),
    ("value", [671.017, "EH/s"], "671 EH/s"),
    ("value", [34.4912, "USD/PH/day"], "$34.49/PH/day"),
    ("value", [-3.2, "USD/PH/day"], "\u2212$3.20/PH/day"),
    ("value", [4.1512e-4, "BTC/PH/day"], "0.000415 BTC/PH/day"),
    ("value", [4.13, "%"], "4.1 %"),
    ("value", [57.7877, "%"], "57.8 %"),
    ("value", [60000, "USD"], "$60,000"),
    ("value", [1.234e9, "USD"], "$1.234 B"),
    ("value", [28757.88, "BTC"], "28,758 BTC"),
    ("value", [452.88, "BTC"], "452.88 BTC"),
    ("value", [582, "s"], "9 min 42 s"),
    ("value", [1.531e14, "difficulty", True], "153 T"),
    ("value", [45.0, "USD/PH/day", True], "$45"),
    ("plain", [1.0109431995831253], "1.011"),
    ("plain", [5040], "5,040"),
    ("date", [1713571200], "20 Apr 2024"),       # 2024-04-20T00:00:00Z
]


def test_one_formatter_writes_numbers_as_the_field_does(browser: object, server: ws.LiveServer) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + "/static/format.js")
    page.add_script_tag(url=server.url + "/static/format.js")
    got = [page.evaluate(f"mwFormat.{fn}(...{json.dumps(args)})") for fn, args, _ in FORMATTED]
    assert got == [want for _, _, want in FORMATTED]
    page.close()


# --- responsive and accessible ------------------------------------------------------------------

def _load_sized(browser: object, url: str, width: int, height: int = 800, scheme: str = "light") -> object:
    # bypass_csp: the pages allow only their own scripts; axe-core is injected by the test.
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme,  # type: ignore[attr-defined]
                            bypass_csp=True)
    page.goto(url)
    page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
    return page


@pytest.mark.parametrize("path", READ_PATHS)
def test_no_horizontal_overflow_on_a_small_phone(browser: object, server: ws.LiveServer, path: str) -> None:
    # 360 px is the narrowest common phone; nothing may make the page wider (rows of buttons wrap,
    # wide tables scroll in their own box, charts take the width they are given).
    page = _load_sized(browser, server.url + path, 360)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # type: ignore[attr-defined]
    for box in page.query_selector_all("figure.chart .plot"):  # type: ignore[attr-defined]
        assert box.evaluate("b => b.querySelector('canvas').getBoundingClientRect().right") <= 360
    page.close()  # type: ignore[attr-defined]


def test_wide_table_scrolls_in_its_own_box(browser: object, server: ws.LiveServer) -> None:
    page = _load_sized(browser, server.url + "/", 360)
    box = page.query_selector("[data-table-id=all-series] .table-scroll")  # type: ignore[attr-defined]
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")      # the table is wider than the phone …
    assert page.evaluate("document.documentElement.scrollWidth") <= 360   # … and only its box scrolls
    page.close()  # type: ignore[attr-defined]


def test_charts_follow_their_container_on_resize(browser: object, server: ws.LiveServer) -> None:
    page = _load_sized(browser, server.url + "/hashprice", 1280)
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
        page = _load_sized(browser, server.url + "/", 1280, scheme=scheme)
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
    page = _load_sized(browser, server.url + path, 1280, scheme=scheme)
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
    page = _load_sized(browser, server.url + path, 1280)
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
    page = _load_sized(browser, server.url + "/hashrate?estimator=hashrate_ehs", 1280)
    text = page.inner_text("[data-chart-id=hashrate] .summary")  # type: ignore[attr-defined]
    assert text == "Hashrate, 1-day: latest 671 EH/s on 17 Aug 2024, +9.0 % since 20 Apr 2024."
    page.close()  # type: ignore[attr-defined]


# --- intervals that always draw -----------------------------------------------------------------

def _chart_points(page: object) -> dict[str, int]:
    return {c.get_attribute("data-chart-id"): int(c.get_attribute("data-points") or 0)
            for c in page.query_selector_all("figure.chart")}  # type: ignore[attr-defined]


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
        points = _chart_points(page)
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
        assert _chart_points(page)["difficulty"] == blocks
    page.close()


def test_breakeven_interval_sets_the_hashprice_window(browser: object, server: ws.LiveServer) -> None:
    # 1m is the 30 days ending on the last stored day, 3m 91: one hashprice point a day, and one of the
    # median machine's breakeven (the test chain's days, August 2024, all have one): 2 × 30 and 2 × 91.
    page = browser.new_page()  # type: ignore[attr-defined]
    got = {}
    for interval in ("1m", "3m"):
        page.goto(server.url + f"/breakeven?interval={interval}")
        page.wait_for_selector("#page:not(:has(.loading))", timeout=15_000)
        got[interval] = _chart_points(page)["hashprice-vs-cost"]
    assert got == {"1m": 60, "3m": 182}
    page.close()


# --- charts an analyst expects ------------------------------------------------------------------

@pytest.mark.parametrize(("path", "chart"), [("/", "hashprice"), ("/", "reserve"), ("/hashprice", "hashprice"),
                                              ("/reserve", "reserve"), ("/outflows", "flows")])
def test_btc_price_on_a_second_axis(browser: object, server: ws.LiveServer, path: str, chart: str) -> None:
    page, errors = _load(browser, server.url + path)
    fig = page.query_selector(f"[data-chart-id={chart}]")  # type: ignore[attr-defined]
    assert "BTC price" in fig.query_selector(".u-legend").inner_text()
    # x, the series' own axis at the left and the price's at the right; the test chain's price is
    # 60,000 USD every day, so the right axis reaches $60k.
    assert len(fig.query_selector_all(".u-axis")) == 3
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_log_scale_toggle_is_kept_in_the_url(browser: object, server: ws.LiveServer) -> None:
    page, errors = _load(browser, server.url + "/hashrate")
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
    page, _ = _load(browser, server.url + "/hashprice")
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
    page, _ = _load(browser, server.url + "/hashprice")
    box = page.query_selector("[data-chart-id=hashprice] .u-over").bounding_box()  # type: ignore[attr-defined]
    page.mouse.move(box["x"] + 5, box["y"] + 5)  # type: ignore[attr-defined]
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)  # type: ignore[attr-defined]
    tip = page.wait_for_selector("[data-chart-id=hashprice] .tooltip", state="visible")  # type: ignore[attr-defined]
    lines = tip.inner_text().splitlines()
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} 2024", lines[0])
    assert re.fullmatch(r"Hashprice: \$\d+\.\d\d/PH/day", lines[1])
    assert lines[-1] == "BTC price: $60,000"
    page.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def demo_server(demo_db: Path) -> Iterator[ws.LiveServer]:
    with ws.LiveServer(demo_db) as s:
        yield s


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
    page, errors = _load(browser, demo_server.url + "/signals?interval=all")
    assert int(page.get_attribute("[data-chart-id=hash-ribbons]", "data-points")) > 0  # type: ignore[attr-defined]
    assert errors == []
    page.close()  # type: ignore[attr-defined]


# --- the retarget card and the pools -------------------------------------------------------------

def test_retarget_card_says_what_mempool_space_says(browser: object, server: ws.LiveServer) -> None:
    # The test chain's tip is height 857,279 at 2024-08-17 23:50 UTC; its epoch began at 856,800
    # (425 × 2,016): 479 blocks since the epoch's first, 1,537 to 858,816, all 600 s apart, so the pace
    # is exactly 0 % and the retarget comes 1,537 × 600 s later: 28 Aug 2024 16:00 UTC (10.7 days).
    # 95 % interval, Byar's bounds on 479 blocks: 437.06 and 523.88 → −8.8 % and +9.4 %. The
    # previous retarget went from 1.08 to 1.09 × D0: +0.93 %. The next halving is at 1,050,000,
    # 192,721 blocks on at 600 s: 17 Apr 2028 08:00 UTC, the subsidy 3.125 → 1.5625 BTC.
    page, errors = _load(browser, server.url + "/hashrate")
    card = page.query_selector("[data-card-id=retarget]")  # type: ignore[attr-defined]
    field = {d.get_attribute("data-field"): d.inner_text() for d in card.query_selector_all("dd")}
    assert card.query_selector("[role=progressbar]").get_attribute("aria-valuenow") == "23.8"   # 480 / 2,016
    assert card.query_selector(".progress-text").inner_text() == "479 of 2,016 blocks (23.8 %)"
    assert field == {
        "expected-change": "0.0 % (95 %: −8.8 % to +9.4 %)",
        "estimated": "28 Aug 2024 16:00 UTC, in 11 days",
        "blocks-left": "1,537 (retarget at height 858,816)",
        "previous-adjustment": "+0.9 %",
        "mean-block-time": "10 min 0 s",
        "next-halving": "height 1,050,000, 192,721 blocks, around 17 Apr 2028; subsidy 3.125 → 1.5625 BTC",
    }
    assert page.query_selector("#page [data-card-id=retarget]") is not None  # type: ignore[attr-defined]
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_pools_page_names_each_pool_and_links_its_page(browser: object, server: ws.LiveServer) -> None:
    # 1w = the blocks after tip − 7 days: heights 856,272-857,279 (1,008). Heights ending 0-3 are
    # Foundry USA: 400 in the first 1,000, and 857,272-857,273 of the last eight: 402 / 1,008 = 39.9 %.
    page, errors = _load(browser, server.url + "/pools?interval=1w")
    rows = [li.inner_text().split("\n") for li in page.query_selector_all(".bar-list li")]  # type: ignore[attr-defined]
    assert [r[0] for r in rows] == ["Foundry USA", "AntPool", "ViaBTC", "Unknown"]
    assert rows[0][-1] == "39.9 % · 402 blocks"
    points = _chart_points(page)
    assert points["pool-share-history"] > 0
    page.click(".bar-list a:text-is('AntPool')")  # type: ignore[attr-defined]
    page.wait_for_selector("#page:not(:has(.loading))")  # type: ignore[attr-defined]
    assert page.url.endswith("/pools/antpool")  # type: ignore[attr-defined]
    assert page.inner_text("h1") == "AntPool"  # type: ignore[attr-defined]
    figures = {f.query_selector(".label").inner_text(): f.query_selector(".value").inner_text()
               for f in page.query_selector_all(".figure")}  # type: ignore[attr-defined]
    # 1m: the 4,320 blocks 852,960-857,279, 432 whole runs of ten, three of each AntPool's: 30.0 %.
    assert figures["share of blocks in 1m"] == "30.0 %"
    heights = [int(r.query_selector("td").inner_text().replace(",", ""))
               for r in page.query_selector_all("[data-table-id=pool-blocks] tr")[1:]]  # type: ignore[attr-defined]
    # AntPool's latest blocks: the heights below the tip 857,279 ending in 4, 5, 6.
    assert heights[:4] == [857276, 857275, 857274, 857266]
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_unknown_pool_page_is_refused_with_the_way_out(server: ws.LiveServer) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(server.url + "/pools/nosuchpool.json")
    assert e.value.code == 400
    body = json.loads(e.value.read())
    assert "nosuchpool" in body["error"] and "/pools" in body["hint"]


# --- the breakeven calculator and taking it with you ----------------------------------------------

def test_breakeven_calculator_prices_a_catalog_machine_and_keeps_it_in_the_url(browser: object,
                                                                                server: ws.LiveServer) -> None:
    # Antminer S19: 95 TH/s at 3,250 W = 34.21 J/TH, so 34.21 × 24 = 821.05 kWh per PH/s a day; at
    # 0.07 USD/kWh that is $57.47. With a 2 % pool fee the breakeven is 57.47 / 0.98 = $58.65; the
    # test chain's last hashprice is 3.14 BTC × 86,400 × 1e15 / (93.74 T × 2^32) × 60,000 = $40.49, net
    # 39.69, so the margin is 39.69 − 57.47 = −$17.79 (−44.8 % of revenue), the breakeven power price
    # 39.69 / 821.05 = $0.0483/kWh, and a BTC costs 57.47 / (40.49 / 60,000 × 0.98) = $86,895 of energy.
    page, errors = _load(browser, server.url + "/breakeven")
    page.select_option("select[name=machine]", "Antminer S19")  # type: ignore[attr-defined]
    page.fill("input[name=power_usd_per_kwh]", "0.07")  # type: ignore[attr-defined]
    page.fill("input[name=pool_fee_pct]", "2")  # type: ignore[attr-defined]
    page.click("form.inputs button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**machine=Antminer*")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-card-id=calculator]")  # type: ignore[attr-defined]
    assert "power_usd_per_kwh=0.07" in page.url and "pool_fee_pct=2" in page.url  # type: ignore[attr-defined]
    field = {d.get_attribute("data-field"): d.inner_text()
             for d in page.query_selector_all("[data-card-id=calculator] dd")}  # type: ignore[attr-defined]
    assert field == {
        "hashprice": "$40.49/PH/day (17 Aug 2024)",
        "breakeven-hashprice": "$58.65/PH/day",
        "margin": "−$17.79/PH/day (−44.8 % of revenue)",
        "energy-cost": "$57.47/PH/day",
        "breakeven-power-price": "$0.0483/kWh",
        "cost-per-BTC-energy": "$86,895",
    }
    assert page.inner_text("[data-card-id=calculator] .verdict") == "Loses money at today's hashprice."  # type: ignore[attr-defined]
    # The choice survives a change of interval: the links carry every control.
    page.click(".intervals a:text-is('1m')")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-card-id=calculator]")  # type: ignore[attr-defined]
    assert page.eval_on_selector("select[name=machine]", "s => s.value") == "Antminer S19"  # type: ignore[attr-defined]
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_breakeven_calculator_takes_a_typed_efficiency(server: ws.LiveServer) -> None:
    import urllib.request

    # DOMAIN: 20 J/TH at 0.072 USD/kWh: 20 × 24 × 0.072 = 34.56 USD/PH/day, the breakeven with no pool fee.
    doc = json.loads(urllib.request.urlopen(
        server.url + "/breakeven.json?efficiency_j_per_th=20&power_usd_per_kwh=0.072").read())
    card = next(c for c in doc["cards"] if c["id"] == "calculator")
    assert card["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(34.56, rel=1e-12)
    assert card["title"] == "20 J/TH at $0.072/kWh, PUE 1, pool fee 0 %"


def test_every_chart_downloads_as_csv_and_png(browser: object, server: ws.LiveServer) -> None:
    page, _ = _load(browser, server.url + "/hashprice?interval=1w")
    fig = page.query_selector("[data-chart-id=hashprice]")  # type: ignore[attr-defined]
    with page.expect_download() as d:  # type: ignore[attr-defined]
        fig.query_selector("button.csv").click()
    lines = Path(d.value.path()).read_text().splitlines()
    # 1w: the seven days 11-17 Aug 2024; the price column is the test chain's 60,000 every day.
    assert lines[0].split(",")[0] == "date" and lines[0].split(",")[1] == "hashprice_usd_per_ph_day"
    assert lines[0].endswith(",price_usd") and len(lines) == 1 + 7
    assert lines[1].startswith("2024-08-11,") and lines[-1].startswith("2024-08-17,") and lines[-1].endswith(",60000")
    with page.expect_download() as d:  # type: ignore[attr-defined]
        fig.query_selector("button.png").click()
    assert d.value.suggested_filename == "minerwatch-hashprice-1w.png"
    assert Path(d.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Every chart of every page has both buttons.
    for path in [p.path for p in PAGES]:
        page.goto(server.url + path)  # type: ignore[attr-defined]
        page.wait_for_selector("#page:not(:has(.loading))")  # type: ignore[attr-defined]
        for f in page.query_selector_all("figure.chart"):  # type: ignore[attr-defined]
            assert f.query_selector("button.csv") and f.query_selector("button.png"), (path, f.get_attribute("data-chart-id"))
    page.close()  # type: ignore[attr-defined]


def test_a_blank_ratio_says_why(browser: object, server: ws.LiveServer) -> None:
    # The test chain holds 120 days; the Miner Position Index divides by a trailing 365-day mean, so it
    # has no value yet, and the page says so with the definition instead of an empty page.
    page, errors = _load(browser, server.url + "/series/mpi")
    text = page.inner_text("#page")  # type: ignore[attr-defined]
    assert "Miner Position Index has no value in this window yet (Miner Position Index (CryptoQuant): outflow " \
           "USD / its 365-day moving average)" in text
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_reserve_low_is_not_the_first_day_of_the_history(browser: object, server: ws.LiveServer) -> None:
    # The test chain's reserve only grows from its first day (144 coinbases of 3.125 + 0.02 BTC:
    # 452.88 BTC), so its all-time low is where the history starts: the page shows the low of the
    # trailing 365 days instead and says why (120 days here, so it is still that first day).
    page, errors = _load(browser, server.url + "/reserve")
    figures = {f.query_selector(".label").inner_text(): (f.query_selector(".value").inner_text(),
                                                         f.query_selector(".note").inner_text())
               for f in page.query_selector_all(".figure")}  # type: ignore[attr-defined]
    assert "record low" not in figures
    value, note = figures["lowest in the last 365 days"]
    assert value == "452.88 BTC"
    assert note.startswith("as of 20 Apr 2024") and "the all-time low is the first stored day, 2024-04-20" in note
    assert errors == []
    page.close()  # type: ignore[attr-defined]
