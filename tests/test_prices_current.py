"""Prices that stay current: when USD figures stop before the chain every interface says since when
and which command fixes it; `prices fetch --since` back-fills from the exchanges' daily candles and
`sync --follow --prices live` adds each new day. No network: the recorded exchange answers in
tests/data/feeds are served by a real local HTTP server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from metrics_helpers import DAY_S, day_of_blocks, insert_facts, open_db

from minerwatch import store
from minerwatch.chain.rpc import RpcClient
from minerwatch.cli import main
from minerwatch.metrics import prices
from minerwatch.metrics.registry import Query, read, refresh_all
from minerwatch.networks import get_network
from minerwatch.queries import chain
from minerwatch.report.brief import build_brief
from minerwatch.sync import Syncer
from minerwatch.web.app import create_app

AUG20 = 1_787_184_000           # 2026-08-20T00:00:00Z; the shipped prices end on 2026-08-22
GAP = ("USD figures stop on 2026-08-22, the last day with a stored price; the chain runs to 2026-08-25. "
       "Run `minerwatch prices fetch --since 2026-08-23 --store`")
D = 1.2e14


def _live(server: str) -> prices.LivePrices:
    return prices.LivePrices(
        history_urls={"coinbase": f"{server}/coinbase-candles.json", "kraken": f"{server}/kraken-ohlc.json",
                      "bitstamp": f"{server}/bitstamp-ohlc.json"},
        spot_urls={n: f"{server}/{n}.json" for n in ("coinbase", "kraken", "bitstamp")})


def _chain_past_the_prices(tmp_path: Path):  # noqa: ANN202
    """144 blocks a day at difficulty 1.2e14 on 2026-08-20 … 2026-08-25 (heights 950,000 on)."""
    con = open_db(tmp_path)
    facts = []
    for day in range(6):
        facts += day_of_blocks(950_000 + 144 * day, day, 144, D, fees_sat=1_000_000, start_s=AUG20)
    insert_facts(con, facts)
    refresh_all(con, 0)
    return con


def test_every_interface_says_since_when_usd_stops_and_what_fixes_it(tmp_path: Path) -> None:
    con = _chain_past_the_prices(tmp_path)
    hp = read(con, "hashprice_usd_per_ph_day", Query())
    assert GAP in hp.warnings[0]
    assert dict(hp.points)[date(2026, 8, 23)] is None                  # a gap, not a zero
    assert not read(con, "hashprice_usd_per_ph_day", Query(end=date(2026, 8, 22))).warnings
    assert not any("USD" in w for w in read(con, "hashrate_ehs", Query()).warnings)   # not a USD figure
    # status (CLI and API share it)
    assert chain.status(con, tmp_path / "metrics.duckdb")["usd_prices"]["fix"] == \
        "minerwatch prices fetch --since 2026-08-23 --store"
    # the brief: beside its USD figures
    brief = build_brief(con, date(2026, 8, 25))
    assert any(GAP in w for f in brief.figures for w in f.warnings)
    con.close()
    # the dashboard: a banner on every page, the same sentence in its JSON twin, and the API field
    client = TestClient(create_app(tmp_path / "metrics.duckdb"))
    page = client.get("/hashprice")
    assert page.status_code == 200 and 'data-usd-note="true"' in page.text and "2026-08-23" in page.text
    assert GAP in client.get("/hashprice.json").json()["usd_note"]
    assert client.get("/api/v1/status").json()["usd_prices"]["last_price_day"] == "2026-08-22"
    assert GAP in client.get("/api/v1/series/hashprice_usd_per_ph_day").json()["warnings"][0]


def test_back_fill_from_daily_candles_and_todays_spot(tmp_path: Path, feeds_server: str) -> None:
    con = _chain_past_the_prices(tmp_path)
    quotes = prices.fetch_missing_prices(date(2026, 8, 23), date(2026, 8, 25), _live(feeds_server))
    got = {q.day: q.price_usd for q in quotes}
    # Past days: the mean of the three daily opens in the recorded candles.
    assert got[date(2026, 8, 23)] == pytest.approx((79_110.0 + 79_120.4 + 79_104.12) / 3)
    assert got[date(2026, 8, 24)] == pytest.approx((80_020.0 + 80_031.0 + 80_019.5) / 3)
    # Today: the spot answers (86,075.12 + 86,080.10 + 86,070.00) / 3.
    assert got[date(2026, 8, 25)] == pytest.approx(258_225.22 / 3)
    written = prices.store_quotes(con, quotes)
    assert (written.rows, written.first_date) == (3, date(2026, 8, 23))
    refresh_all(con, 950_000 + 3 * 144)
    hp = read(con, "hashprice_usd_per_ph_day", Query())
    assert not hp.warnings
    # Hashprice of 2026-08-24 at the day's last block: (subsidy 3.125 BTC + 0.01 BTC of fees) ×
    # 86,400 × 1e15 / (1.2e14 × 2^32) BTC per PH/s and day, × the day's back-filled price.
    hv = (3.125 + 0.01) * DAY_S * 1e15 / (D * 2**32)
    assert dict(hp.points)[date(2026, 8, 24)] == pytest.approx(hv * (80_020.0 + 80_031.0 + 80_019.5) / 3, rel=1e-9)


def test_live_prices_need_a_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--db", str(tmp_path / "x.duckdb"), "--blocks-dir", str(tmp_path), "--prices", "live"]) == 1
    err = capsys.readouterr().err
    assert "--prices live keeps the prices current while a node is followed" in err
    assert "minerwatch prices fetch --since DATE --store" in err


def test_follow_with_live_prices_adds_the_new_days(regtest_node, tmp_path: Path, feeds_server: str) -> None:  # noqa: ANN001
    node = regtest_node
    # Blocks on 2026-08-22 … 2026-08-25, 30 minutes apart; the shipped prices end on 2026-08-22.
    node.mine(4 * 48, start_time_s=AUG20 + 2 * DAY_S, spacing_s=1800)
    db = tmp_path / "live.duckdb"
    con = store.connect(db)
    store.bind_network(con, "regtest", db)
    syncer = Syncer(con, get_network("regtest"))
    syncer.live_prices = _live(feeds_server)
    syncer.today = lambda: date(2026, 8, 25)
    client = RpcClient(node.url, get_network("regtest"), password=node.api_key)
    syncer.sync_rpc(client, follow=True, poll_s=0.2,
                    should_stop=lambda: prices.last_price_day(syncer.con) == date(2026, 8, 25))
    con = syncer.con
    stored = dict(con.execute("SELECT date, source FROM prices WHERE date > DATE '2026-08-22'").fetchall())
    assert stored == {date(2026, 8, 23): "live:bitstamp+coinbase+kraken",
                      date(2026, 8, 24): "live:bitstamp+coinbase+kraken",
                      date(2026, 8, 25): "live:bitstamp+coinbase+kraken"}
    # The USD figures of the new days are there: the chain's last day has its price.
    daily = dict(con.execute("SELECT day, price_usd FROM daily_network WHERE day >= DATE '2026-08-23'").fetchall())
    assert daily[date(2026, 8, 25)] == pytest.approx(258_225.22 / 3)
    assert chain.usd_note(con) is None
