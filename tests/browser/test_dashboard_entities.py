"""The miner entities on the dashboard, as a user reaches them after docs/scale-out.md: the chain of
tests/test_lake_entity_cohorts.py (known co-spends) synced, exported as a lake, its cohorts computed
by DuckDB and imported; the list names the entities, and an entity's page draws its reserve and
flows and says which lake results they come from — on a desktop and on a phone."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import web_support as ws  # noqa: E402
from browser_support import chart_points, load_sized  # noqa: E402
from test_dashboard_layout import _axe  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def entity_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ws.LiveServer]:
    from test_lake_entity_cohorts import build_imported

    db = build_imported(tmp_path_factory.mktemp("entity-pages"))
    with ws.LiveServer(db) as s:
        yield s


@pytest.mark.parametrize("width", [1280, 360])
def test_from_the_reserve_page_to_an_entitys_reserve_and_flows(browser: object, entity_server: ws.LiveServer,
                                                               width: int) -> None:
    page = load_sized(browser, entity_server.url + "/reserve", width)
    rows = page.query_selector_all("[data-table-id=entities] tr")[1:]  # type: ignore[attr-defined]
    # By reserve: Y's two coinbases (100.0004 BTC), genesis's key and Q's (50 BTC each, the earlier seed
    # first), then {P, A, B}: 3 scripts, 5B − 2f = 4.9998 BTC (the dashboard's one formatter: 5.00 BTC).
    assert [r.inner_text().split("\t")[:3] for r in rows] == [
        ["entity:3.0", "1", "100.00 BTC"], ["entity:0.0", "1", "50.00 BTC"], ["entity:2.0", "1", "50.00 BTC"],
        ["entity:1.0", "3", "5.00 BTC"]]
    assert "the lake to height 4, computed by DuckDB" in page.inner_text("main")  # type: ignore[attr-defined]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]
    rows[3].query_selector("a").click()
    page.wait_for_selector("#page:not(:has(.loading)) figure.chart")  # type: ignore[attr-defined]
    assert page.url.endswith("/entities/1.0")  # type: ignore[attr-defined]
    assert page.inner_text("h1") == "Miner entity entity:1.0"  # type: ignore[attr-defined]
    # Five days with a block (genesis's, 2011-02-02, and 2024-01-01…04): each chart draws them all; the
    # reserve by era the four days the entity holds coins, all mined in 2024 (one series). No label
    # set marks an exchange: no exchange chart.
    assert chart_points(page) == {"entity-reserve": 5, "entity-flows": 15, "entity-reserve-by-era": 4}
    assert "No flow to exchanges: the lake's results were computed without a label set" \
        in page.inner_text("main")  # type: ignore[attr-defined]
    assert "Named after the first coinbase output paid to it: block 1, output 0, to bcrt1qvexmw4…zpf5vp." \
        in page.inner_text("main")  # type: ignore[attr-defined]
    assert "the lake to height 4, computed by DuckDB" in page.inner_text("main")  # type: ignore[attr-defined]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]
    for box in page.query_selector_all("figure.chart .plot"):  # type: ignore[attr-defined]
        assert box.evaluate("b => b.querySelector('canvas').getBoundingClientRect().right") <= width
    page.close()  # type: ignore[attr-defined]


def test_every_entity_by_size_on_a_phone(browser: object, entity_server: ws.LiveServer) -> None:
    page = load_sized(browser, entity_server.url + "/entities?by=scripts", 360)
    first = page.query_selector_all("[data-table-id=entities] tr")[1]  # type: ignore[attr-defined]
    assert first.inner_text().split("\t")[:4] == ["entity:1.0", "3", "5.00 BTC", "2024-01-04"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/reserve", "/entities", "/entities/1.0"])
def test_axe_finds_no_serious_violation_on_the_entity_pages(browser: object, entity_server: ws.LiveServer,
                                                             path: str, scheme: str) -> None:
    page = load_sized(browser, entity_server.url + path, 1280, scheme=scheme)
    assert _axe(page) == []
    page.close()  # type: ignore[attr-defined]
