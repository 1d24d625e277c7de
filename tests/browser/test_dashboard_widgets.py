"""The retarget card, the pools and a page per pool, the breakeven calculator, CSV and PNG downloads,
and the pages that say why a figure is blank or not a record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from browser_support import chart_points, load, load_sized  # noqa: E402, F401
from minerwatch.web.pages import PAGES  # noqa: E402, F401

pytestmark = pytest.mark.browser


def test_retarget_card_says_what_mempool_space_says(browser: object, server: ws.LiveServer) -> None:
    # The test chain's tip is height 857,279 at 2024-08-17 23:50 UTC; its epoch began at 856,800
    # (425 × 2,016): 479 blocks since the epoch's first, 1,537 to 858,816, all 600 s apart, so the pace
    # is exactly 0 % and the retarget comes 1,537 × 600 s later: 28 Aug 2024 16:00 UTC (10.7 days).
    # 95 % interval, Byar's bounds on 479 blocks: 437.06 and 523.88 → −8.8 % and +9.4 %. The
    # previous retarget went from 1.08 to 1.09 × D0: +0.93 %. The next halving is at 1,050,000,
    # 192,721 blocks on at 600 s: 17 Apr 2028 08:00 UTC, the subsidy 3.125 → 1.5625 BTC.
    page, errors = load(browser, server.url + "/hashrate")
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
    page, errors = load(browser, server.url + "/pools?interval=1w")
    rows = [li.inner_text().split("\n") for li in page.query_selector_all(".bar-list li")]  # type: ignore[attr-defined]
    assert [r[0] for r in rows] == ["Foundry USA", "AntPool", "ViaBTC", "Unknown"]
    assert rows[0][-1] == "39.9 % · 402 blocks"
    points = chart_points(page)
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
    page, errors = load(browser, server.url + "/breakeven")
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
    page, _ = load(browser, server.url + "/hashprice?interval=1w")
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
    page, errors = load(browser, server.url + "/series/mpi")
    text = page.inner_text("#page")  # type: ignore[attr-defined]
    assert "Miner Position Index has no value in this window yet (Miner Position Index (CryptoQuant): outflow " \
           "USD / its 365-day moving average)" in text
    assert errors == []
    page.close()  # type: ignore[attr-defined]


def test_reserve_low_is_not_the_first_day_of_the_history(browser: object, server: ws.LiveServer) -> None:
    # The test chain's reserve only grows from its first day (144 coinbases of 3.125 + 0.02 BTC:
    # 452.88 BTC), so its all-time low is where the history starts: the page shows the low of the
    # trailing 365 days instead and says why (120 days here, so it is still that first day).
    page, errors = load(browser, server.url + "/reserve")
    figures = {f.query_selector(".label").inner_text(): (f.query_selector(".value").inner_text(),
                                                         f.query_selector(".note").inner_text())
               for f in page.query_selector_all(".figure")}  # type: ignore[attr-defined]
    assert "record low" not in figures
    value, note = figures["lowest in the last 365 days"]
    assert value == "452.88 BTC"
    assert note.startswith("as of 20 Apr 2024") and "the all-time low is the first stored day, 2024-04-20" in note
    assert errors == []
    page.close()  # type: ignore[attr-defined]
