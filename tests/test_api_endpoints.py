"""The JSON API through the real ASGI app on a real database (tests/web_support.py describes the
chain; every expected value below is worked out from that description)."""

from __future__ import annotations

import csv
import io
import math

import pytest
from fastapi.testclient import TestClient

import web_support as ws
from minerwatch.web.app import create_app

# 120 days × 144 blocks: heights 840,000 … 857,279; tip time = T0 + 17,279 × 600 s.
TIP = 857_279
TIP_TIME_S = ws.T0_S + 17_279 * 600
# Epochs start at multiples of 2,016: 857,279 // 2,016 = 425 → epoch start 856,800 (index 425,
# 9 epochs after 840,000's epoch 416), so the tip's difficulty is D0 × 1.09.
TIP_DIFFICULTY = ws.D0 * 1.09


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return TestClient(create_app(ws.shared_db(tmp_path_factory)))


def test_status_names_the_tip(client: TestClient) -> None:
    body = client.get("/api/v1/status").json()
    assert (body["network"], body["simulated"], body["tip_height"], body["blocks"]) == ("mainnet", False, TIP, 17_280)
    assert "db_path" not in body


def test_pool_shares_over_one_week(client: TestClient) -> None:
    # The week before the tip holds heights 856,272 … 857,279 (1,008 blocks, 600 s apart). 100 full
    # runs of ten give 400/300/200/100; the last 8 (residues 2…9) add Foundry 2, AntPool 3, ViaBTC 2, untagged 1.
    body = client.get("/api/v1/pools/1w").json()
    assert body["blocks"] == 1008
    got = {p["slug"]: p["blocks"] for p in body["pools"]}
    assert got == {"foundryusa": 402, "antpool": 303, "viabtc": 202, "unknown": 101}


def test_hashrate_series_and_csv_export(client: TestClient) -> None:
    # Coin Metrics daily hashrate: 144 blocks / 144 × difficulty × 2^32 / 600 s, in EH/s.
    expected = TIP_DIFFICULTY * 2**32 / 600 / 1e18
    body = client.get("/api/v1/series/hashrate_ehs", params={"interval": "3d"}).json()
    assert [r["date"] for r in body["rows"]] == ["2024-08-15", "2024-08-16", "2024-08-17"]
    assert all(math.isclose(r["value"], expected, rel_tol=1e-9) for r in body["rows"])
    text = client.get("/api/v1/series/hashrate_ehs.csv", params={"interval": "3d"}).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["date", "hashrate_ehs"] and len(rows) == 4
    assert math.isclose(float(rows[3][1]), expected, rel_tol=1e-9)


def test_hashprice_matches_the_hashrate_index_formula(client: TestClient) -> None:
    # (3.125 + 0.02 BTC) × 86,400 × 1e15 / (difficulty × 2^32) BTC per PH/s per day, at 60,000 USD.
    expected = (3.125 + 0.02) * 86_400 * 1e15 / (TIP_DIFFICULTY * 2**32) * ws.PRICE_USD
    body = client.get("/api/v1/series/hashprice_usd_per_ph_day", params={"interval": "24h"}).json()
    assert body["rows"][-1]["date"] == "2024-08-17"
    assert math.isclose(body["rows"][-1]["value"], expected, rel_tol=1e-9)
    # Difficulty only rises in this chain, so hashprice's record low is today's value.
    assert math.isclose(body["record_low"]["value"], expected, rel_tol=1e-9)


def test_downsampled_to_the_limit(client: TestClient) -> None:
    # 120 days with max_points=50: buckets of ceil(120 / 50) = 3 days → 40 points.
    body = client.get("/api/v1/series/hashrate_ehs", params={"interval": "all", "max_points": 50}).json()
    assert (body["step_days"], len(body["rows"]), body["days"]) == (3, 40, 120)


def test_retarget_forecast(client: TestClient) -> None:
    # BRK's pace: 479 blocks into the epoch at exactly 600 s each → change 0 %. The 95 % interval is
    # Byar's Poisson bound on 479 blocks: high = 480 × (1 − 1/4,320 + 1.96/(3√480))³ = 523.88 blocks
    # in the time 479 should take → +9.37 %.
    body = client.get("/api/v1/difficulty").json()
    assert (body["method"], body["blocks_in_epoch"], body["remaining_blocks"], body["next_retarget_height"]) == (
        "brk", 479, 1537, 858_816)
    assert body["change_pct"] == pytest.approx(0.0, abs=1e-9)
    high = 480 * (1 - 1 / 4320 + 1.959963984540054 / (3 * math.sqrt(480))) ** 3
    assert round(high, 2) == 523.88
    assert body["change_high_pct"] == pytest.approx((high / 479 - 1) * 100, rel=1e-12)
    assert body["change_high_pct"] == pytest.approx(9.3696, abs=1e-4)
    # Previous retarget: D0 × 1.09 / (D0 × 1.08) − 1.
    assert body["previous_change_pct"] == pytest.approx((1.09 / 1.08 - 1) * 100, rel=1e-9)


@pytest.mark.parametrize(("path", "status", "fragment"), [
    ("/api/v1/series/hashrate_ehs?interval=5y", 400, "unknown interval '5y'"),
    ("/api/v1/series/no_such_metric", 400, "no metric named"),
    ("/api/v1/series/hashrate_ehs?max_points=abc", 400, "bad parameter"),
    ("/api/v1/series/hashrate_ehs?max_points=1", 400, "max_points"),
    ("/api/v1/pools/forever", 400, "unknown interval"),
    ("/api/v1/chain/block/zzz", 400, "neither a height nor"),
    ("/api/v1/chain/block/1", 404, "not in the database"),
    ("/hashprice.json?threshold=abc", 400, "not a number"),
    ("/hashprice?bogus=1", 400, "unknown parameter"),
    ("/no/such/page", 404, "not found"),
])
def test_bad_requests_get_a_json_error(client: TestClient, path: str, status: int, fragment: str) -> None:
    r = client.get(path)
    assert r.status_code == status
    assert fragment in r.json()["error"]


def test_read_only_connection(client: TestClient) -> None:
    from minerwatch.errors import StoreError

    source = client.app.state.source  # type: ignore[attr-defined]
    with pytest.raises(StoreError):
        source.run(lambda con: con.execute("CREATE TABLE intruder (a INTEGER)"))


def test_outflow_since_a_date_and_its_usd_value(client: TestClient) -> None:
    # From day 7 on, the 72 even-height coinbases of each day's spent counterparts leave the cohort:
    # 72 × (3.145 BTC − 1,000 sat) = 226.43928 BTC a day. 10–17 Aug 2024 is 8 days, at 60,000 USD.
    doc = client.get("/outflows.json", params={"since": "2024-08-10"}).json()
    figures = {f["unit"]: f["value"] for f in doc["figures"]}
    assert figures["BTC"] == pytest.approx(8 * 226.43928, rel=1e-12)
    assert figures["USD"] == pytest.approx(8 * 226.43928 * 60_000, rel=1e-12)


def test_miner_reserve_at_the_tip(client: TestClient) -> None:
    # 17,280 coinbases of 3.145 BTC, less the even heights 840,000 … 856,270 spent within the chain
    # ((856,270 − 840,000) / 2 + 1 = 8,136 of them): 54,345.6 − 25,587.72 = 28,757.88 BTC.
    body = client.get("/api/v1/series/miner_reserve_btc", params={"interval": "24h"}).json()
    assert body["rows"] == [{"date": "2024-08-17", "value": pytest.approx(28_757.88, rel=1e-12)}]


def test_mempool_pools_endpoint_shape_and_estimate(client: TestClient) -> None:
    body = client.get("/api/v1/mining/pools/1w").json()
    assert body["blockCount"] == 1008
    assert [(p["rank"], p["slug"], p["blockCount"]) for p in body["pools"]] == [
        (1, "foundryusa", 402), (2, "antpool", 303), (3, "viabtc", 202), (4, "unknown", 101)]
    # Core's getnetworkhashps over the last day's 144 blocks: the test chain's chainwork grows by
    # D0 × 2^32 a block (tests/web_support.py), over 144 × 600 s → D0 × 2^32 / 600 H/s.
    assert body["lastEstimatedHashrate"] == pytest.approx(ws.D0 * 2**32 / 600, rel=1e-9)


def test_empty_database_file_shows_the_empty_state(tmp_path: object) -> None:
    from pathlib import Path

    from minerwatch import store

    db = Path(str(tmp_path)) / "empty.duckdb"
    store.connect(db).close()                      # schema, no blocks
    c = TestClient(create_app(db))
    assert "No data yet" in c.get("/").text
    assert c.get("/index.json").json()["empty"] is True
    assert c.get("/api/blocks/tip/height").status_code == 503
