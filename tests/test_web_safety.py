"""Pages, JSON twins, the empty and simulated states, the token gate and the Prometheus exposition."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import web_support as ws
from minerwatch.cli import main
from minerwatch.errors import UsageError
from minerwatch.web.app import check_bind, create_app
from minerwatch.web.pages import PAGES

TOKEN = "s3cret-token-for-tests-0123"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ws.shared_db(tmp_path_factory)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.slug)
def test_every_page_and_its_json_twin(db: Path, page: object) -> None:
    c = TestClient(create_app(db))
    html = c.get(page.path)  # type: ignore[attr-defined]
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    twin = "/index.json" if page.path == "/" else page.path + ".json"  # type: ignore[attr-defined]
    assert f'data-json="{twin}?' in html.text
    doc = c.get(twin).json()
    assert doc["empty"] is False and doc["simulated"] is False
    # Every page of this chain has at least one chart with data (the chain has blocks, prices, pools, flows).
    assert any(any(v is not None for s in ch["series"] for v in s["values"]) for ch in doc["charts"])


def test_empty_state_without_a_database(tmp_path: Path) -> None:
    c = TestClient(create_app(tmp_path / "missing.duckdb"))
    page = c.get("/hashprice")
    assert page.status_code == 200 and "No data yet" in page.text and "minerwatch sync" in page.text
    assert c.get("/hashprice.json").json()["empty"] is True
    assert c.get("/api/v1/headline").status_code == 503


def test_simulated_banner_on_every_page(tmp_path: Path) -> None:
    db = ws.build_db(tmp_path / "sim.duckdb", days=2, network="simnet")
    c = TestClient(create_app(db))
    for page in PAGES:
        assert "SIMULATED" in c.get(page.path).text
    assert c.get("/index.json").json()["simulated"] is True


def test_token_gate(db: Path) -> None:
    c = TestClient(create_app(db, TOKEN))
    denied = c.get("/api/v1/status")
    assert denied.status_code == 401 and denied.json()["error"] == "a token is required"
    assert TOKEN not in denied.text
    assert c.get("/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert c.get("/api/v1/status", headers={"Authorization": "Bearer wrong-token-of-some-length"}).status_code == 401
    first = c.get("/", params={"token": TOKEN})
    assert first.status_code == 200 and TOKEN not in first.text
    assert "HttpOnly" in first.headers["set-cookie"]
    # The cookie set on the first visit lets the page's own fetches through.
    assert c.get("/index.json").status_code == 200


def test_refuses_a_public_address_without_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError):
        check_bind("0.0.0.0", None)
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", TOKEN)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 1
    assert "refusing to serve on 0.0.0.0 without a token" in capsys.readouterr().err


def test_prometheus_exposition_passes_promtool(db: Path) -> None:
    text = TestClient(create_app(db)).get("/metrics").text
    assert "minerwatch_tip_height 857279.0" in text
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("MINERWATCH_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is required (apt-get install prometheus)")
        pytest.skip("promtool not installed (Debian package prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_new_blocks_show_without_a_restart(tmp_path: Path) -> None:
    # A sync that adds a block between two requests: the second answer has the new tip.
    from minerwatch import store

    db = ws.build_db(tmp_path / "grow.duckdb", days=2)
    app = create_app(db)
    app.state.source.stat_every_s = 0.0     # look at the file on every request
    c = TestClient(app)
    assert c.get("/api/blocks/tip/height").text == str(ws.H0 + 287)   # 2 days × 144 blocks
    app.state.source.close()                # what the idle timer does after a second
    con = store.connect(db)
    con.execute("""INSERT INTO blocks SELECT height + 1, printf('%064x', height + 1), hash, time_s + 600,
                   median_time_past_s, version, bits, difficulty, chainwork, size_bytes, weight_wu, tx_count,
                   input_count, output_count, segwit_tx_count, p2tr_output_count, coinbase_value_sat, subsidy_sat,
                   fees_sat, unclaimed_sat, coinbase_tag, coinbase_script_hex, fees_paid_sat
                   FROM blocks ORDER BY height DESC LIMIT 1""")
    con.close()
    assert c.get("/api/blocks/tip/height").text == str(ws.H0 + 288)
