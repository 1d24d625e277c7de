"""Headless Chromium (Debian's, driven by Playwright) loads every dashboard page from a live server,
finds its charts drawn with data, and sees no console errors."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from browser_support import load  # noqa: E402
from minerwatch.metrics import registry  # noqa: E402
from minerwatch.web.pages import PAGES  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("spec", PAGES, ids=lambda p: p.slug)
def test_page_draws_charts_with_data(browser: object, server: ws.LiveServer, spec: object) -> None:
    page, errors = load(browser, server.url + spec.path)  # type: ignore[attr-defined]
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
    page, errors = load(browser, server.url + path)
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


def test_header_links_keep_the_window_and_changes_use_a_minus(browser: object, server: ws.LiveServer) -> None:
    page, errors = load(browser, server.url + "/hashprice?interval=3m")
    assert page.get_attribute("header nav a:text-is('Miner reserve')", "href") == "/reserve?interval=3m"  # type: ignore[attr-defined]
    # The test chain's hashprice is inversely proportional to difficulty (subsidy, fees and price are
    # constant). 30 days before its last day is 18 Jul 2024, heights 852,816-852,959, seven retargets
    # after 840,000 (852,816 // 2,016 − 416): D0 × 1.07 against × 1.09 now, so 1.07 / 1.09 − 1 = −1.8 %,
    # written with a minus sign as every change on the page.
    note = page.inner_text(".figure:has(.label[title=hashprice_usd_per_ph_day]) .note")  # type: ignore[attr-defined]
    assert note == "as of 17 Aug 2024 · −1.8 % over 30 days, near its record low"
    assert errors == []
    page.close()  # type: ignore[attr-defined]
