"""Revenue per UTC day, prices (shipped, imported, gaps) and the `metrics` command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from metrics_helpers import T0, Fact, insert_facts, open_db

from minerwatch import store
from minerwatch.cli import main
from minerwatch.errors import UsageError
from minerwatch.metrics import network, prices, revenue
from minerwatch.metrics.registry import Query, get


def _build(tmp_path: Path):
    con = open_db(tmp_path)
    # 2024-01-01: three blocks at heights 839,999 (6.25 BTC subsidy) and 840,000-840,001 (3.125 BTC):
    # fees 0.1, 0.2 and 0 BTC; the last block leaves 0.5 BTC of its subsidy unclaimed.
    insert_facts(con, [Fact(839_999, T0 + 100, 8e13, fees_sat=10_000_000),
                       Fact(840_000, T0 + 700, 8e13, fees_sat=20_000_000),
                       Fact(840_001, T0 + 1300, 8e13, unclaimed_sat=50_000_000),
                       # 2024-01-02: one block, fees 0.375 BTC.
                       Fact(840_002, T0 + 86_400 + 5, 8e13, fees_sat=37_500_000)])
    prices.upsert_prices(con, [(date(2024, 1, 1), 40_000.0)], "test")    # 2024-01-02: no price
    network.refresh_network(con, 0)
    return con


def test_daily_revenue_fees_unclaimed_and_fee_share(tmp_path: Path) -> None:
    con = _build(tmp_path)
    q = Query()
    d1, d2 = date(2024, 1, 1), date(2024, 1, 2)
    # subsidy 6.25 + 3.125 + 3.125 = 12.5; fees 0.3; unclaimed 0.5 → coinbases paid 12.3 BTC.
    assert dict(get("subsidy_btc").fn(con, q)) == {d1: 12.5, d2: 3.125}
    assert dict(get("fees_btc").fn(con, q))[d1] == pytest.approx(0.3)
    assert dict(get("unclaimed_btc").fn(con, q))[d1] == pytest.approx(0.5)
    assert dict(get("revenue_btc").fn(con, q)) == {d1: pytest.approx(12.3), d2: pytest.approx(3.5)}
    # 12.3 BTC × 40,000 = 492,000 USD; the next day has no price: a gap, not 0.
    assert dict(get("revenue_usd").fn(con, q)) == {d1: pytest.approx(492_000.0), d2: None}
    # fee share: 0.3 / (12.5 + 0.3) = 2.34375 %; 0.375 / 3.5 = 10.714… %
    share = dict(get("fee_share_pct").fn(con, q))
    assert share[d1] == pytest.approx(2.34375) and share[d2] == pytest.approx(100 * 0.375 / 3.5)
    assert revenue.revenue_between_btc(con, d1, d2) == (pytest.approx(15.8), None)
    assert revenue.revenue_between_btc(con, d1, d1) == (pytest.approx(12.3), pytest.approx(492_000.0))


def test_shipped_prices_load_once_and_imports_win(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    prices.ensure_default_prices(con, 0)
    # Shipped file: 2012-01-01 … 2026-08-22 is 5,348 days; 2012-01-01 opened at 4.58 USD.
    assert con.execute("SELECT count(*), min(date), max(date) FROM prices").fetchone() == (
        5348, date(2012, 1, 1), date(2026, 8, 22))
    assert prices.price_on(con, date(2012, 1, 1)) == 4.58
    csv_file = tmp_path / "mine.csv"
    csv_file.write_text("date,price_usd\n2012-01-01,5.00\n2030-01-01,1000000\n")
    result = prices.import_prices(con, csv_file)
    assert (result.rows, result.first_date, result.last_date) == (2, date(2012, 1, 1), date(2030, 1, 1))
    prices.ensure_default_prices(con, 0)           # a later refresh must not undo the import
    assert prices.price_on(con, date(2012, 1, 1)) == 5.0
    assert prices.price_on(con, date(2029, 12, 31)) is None
    assert con.execute("SELECT source FROM prices WHERE date = '2030-01-01'").fetchone()[0] == "import:mine.csv"


@pytest.mark.parametrize("text", ["2024-01-01,0\n", "2024-01-01,-3\n", "date,price\nyesterday,5\n", "2024-01-01\n"])
def test_bad_price_files_are_refused(tmp_path: Path, text: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(UsageError):
        prices.read_price_csv(f)


def test_metrics_command_json_csv_and_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    con = _build(tmp_path)
    con.close()
    db = str(tmp_path / "metrics.duckdb")
    assert main(["metrics", "revenue_usd", "--db", db, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metric"] == "revenue_usd" and out["unit"] == "USD" and out["definition"]
    assert out["rows"] == [{"date": "2024-01-01", "value": pytest.approx(492_000.0)},
                           {"date": "2024-01-02", "value": None}]
    assert main(["metrics", "revenue_btc", "--db", db, "--format", "csv", "--from", "2024-01-02"]) == 0
    assert capsys.readouterr().out.splitlines() == ["date,revenue_btc", "2024-01-02,3.5"]
    assert main(["metrics", "no_such_metric", "--db", db]) == 1
    assert "no metric named" in capsys.readouterr().err


def test_metrics_list_names_the_required_series(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "--list", "--format", "json"]) == 0
    names = {m["metric"] for m in json.loads(capsys.readouterr().out)}
    assert {"hashrate_ehs", "difficulty", "revenue_btc", "fees_btc", "hashprice_usd_per_ph_day",
            "hashvalue_btc_per_ph_day", "puell_multiple"} <= names


def test_prices_import_command_revalues_the_days_it_touches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    con = _build(tmp_path)
    con.close()
    db = str(tmp_path / "metrics.duckdb")
    f = tmp_path / "p.csv"
    f.write_text("date,price_usd\n2024-01-02,50000\n")
    assert main(["prices", "import", str(f), "--db", db]) == 0
    assert "imported 1 day (2024-01-02 … 2024-01-02)" in capsys.readouterr().out
    assert main(["metrics", "revenue_usd", "--db", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    # 2024-01-02: 3.5 BTC × 50,000 = 175,000 USD (was a gap). 2024-01-01 keeps its test price:
    # the import runs the shipped history in first (which holds 2024-01-01), so that day is now
    # valued at the shipped price instead of 40,000: 12.3 BTC × the shipped 2024-01-01 price.
    assert rows[1] == {"date": "2024-01-02", "value": pytest.approx(175_000.0)}


@pytest.mark.parametrize("undo", [True, False], ids=["with-rev-files", "blk-only"])
def test_true_fees_per_day_beside_the_claimed(tmp_path: Path, undo: bool) -> None:
    """fees_paid_btc: what the day's transactions paid (inputs − outputs, from the undo records),
    where fees_btc is what the coinbases claimed. A miner that claims less destroys the rest."""
    from minerwatch.chain.blkfiles import write_blk_files
    from minerwatch.chain.builder import ChainBuilder, h20, p2wpkh
    from minerwatch.networks import get_network

    btc, t0 = 100_000_000, 1_704_067_200           # 2024-01-01T00:00:00Z
    a, b, c, pool = (p2wpkh(h20(n)) for n in ("a", "b", "c", "pool"))
    chain = ChainBuilder("regtest", start_time_s=t0)
    chain.mine(payouts=[(a, None)], time_s=t0 + 600)                 # h1, 2024-01-01: 50 BTC to a
    chain.spend(a, [(b, 49 * btc)], fee_sat=10_000_000)              # a → b, 0.1 BTC fee, 0.9 BTC back to a
    chain.mine(payouts=[(pool, None)], time_s=t0 + 1200)             # h2 claims 50 + 0.1
    chain.spend(b, [(c, 48 * btc)], fee_sat=25_000_000)              # b → c, 0.25 BTC fee, 0.75 back to b
    chain.spend(a, [(c, 85_000_000)], fee_sat=5_000_000)             # a's 0.9 → c 0.85, 0.05 BTC fee
    chain.mine(payouts=[(pool, 50 * btc)], time_s=t0 + 86_400 + 60)  # h3, 2024-01-02: claims the subsidy only
    write_blk_files(tmp_path / "blocks", get_network("regtest"), chain.blocks, rev_files=undo)
    db = tmp_path / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(tmp_path / "blocks"), "--db", str(db), "--network", "regtest",
                 "--workers", "1"]) == 0
    con = store.connect(db)
    q = Query(start=date(2024, 1, 1))
    d1, d2 = date(2024, 1, 1), date(2024, 1, 2)
    # 2024-01-01: h1 has no transaction but its coinbase; h2's one spend paid 0.1 BTC and h2 claimed it.
    # 2024-01-02: h3's two spends paid 0.25 + 0.05 = 0.3 BTC; its coinbase claimed none of it.
    assert dict(get("fees_btc").fn(con, q)) == {d1: pytest.approx(0.1), d2: 0.0}
    paid = dict(get("fees_paid_btc").fn(con, q))
    assert paid == ({d1: pytest.approx(0.1), d2: pytest.approx(0.3)} if undo else {d1: None, d2: None})
