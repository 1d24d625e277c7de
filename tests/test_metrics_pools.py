"""Pool attribution stored per block (block_pools), `pools update`, and pool shares."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from metrics_helpers import T0, Fact, insert_facts, open_db

from minerwatch import store
from minerwatch.chain.block import parse_block
from minerwatch.cli import main
from minerwatch.ingest import Ingest
from minerwatch.metrics import network, pool_share
from minerwatch.metrics.registry import Query, get
from minerwatch.networks import NETWORKS

BLOCKS = Path(__file__).parent / "data" / "blocks"
D = 1e14


def test_real_blocks_get_the_index_pools_through_the_database(tmp_path: Path) -> None:
    rows = [r for r in csv.DictReader(open(BLOCKS / "INDEX.csv")) if r["network"] == "mainnet" and r["height"]]
    # Each real block goes through the real ingest into its own file (they are not consecutive),
    # then all are gathered into one database.
    main_con = open_db(tmp_path)
    for i, r in enumerate(rows):
        path = tmp_path / f"b{i}.duckdb"
        con = store.connect(path)
        Ingest(con, NETWORKS["mainnet"]).add_batch([(int(r["height"]), parse_block((BLOCKS / r["file"]).read_bytes()))])
        con.close()
        main_con.execute(f"ATTACH '{path}' AS b{i} (READ_ONLY)")
        main_con.execute(f"INSERT INTO blocks SELECT * FROM b{i}.blocks")
        main_con.execute(f"INSERT INTO coinbase_outputs SELECT * FROM b{i}.coinbase_outputs")
        main_con.execute(f"DETACH b{i}")
    pool_share.attribute_blocks(main_con, 0)
    got = {h: (name, by, tag, addr, slug, conflict) for h, name, by, tag, addr, slug, conflict in main_con.execute(
        "SELECT height, pool_name, matched_by, tag_slug, address_slug, pool_slug, conflict FROM block_pools").fetchall()}
    assert len(got) == len(rows) == 27
    for r in rows:
        # INDEX.csv (made with mempool's list, independently of minerwatch): empty pool = unknown;
        # pool_matched_by is 'addr:<address>' or 'tag:<tag>'. INDEX.csv names the tag whenever one
        # matches; minerwatch decides by address first, so a 'tag:' row may be matched by address
        # here, with the tag recorded as agreeing evidence.
        name, by, tag, addr, slug, conflict = got[int(r["height"])]
        assert name == (r["pool_per_mempool_pools_v2"] or "Unknown"), r["file"]
        assert not conflict, r["file"]
        kind = r["pool_matched_by"].split(":")[0]
        if kind == "addr":
            assert (by, addr) == ("address", slug), r["file"]
        elif kind == "tag":
            assert tag == slug and by == ("address" if addr else "tag"), r["file"]
        else:
            assert (slug, by) == ("unknown", None), r["file"]
    version = main_con.execute("SELECT DISTINCT pools_version FROM block_pools").fetchall()
    assert version == [(pool_share.active_pool_list(main_con).version,)]


def _pool_list(tmp_path: Path, name: str, entries: list[dict[str, object]]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps([{"id": i + 1, "link": "", "addresses": [], "tags": [], **e}
                                for i, e in enumerate(entries)]))
    return path


def _hand_chain(con, n: int = 10) -> None:  # noqa: ANN001
    """n blocks 600 s apart at difficulty 1e14; blocks 0–5 tagged /alpha/ (block 0 pays Beta's
    address), 6–8 /beta/, 9 /gamma/ (unknown to the first list)."""
    insert_facts(con, [Fact(840_000 + i, T0 + 600 * i, D) for i in range(n)])
    tags = ["/alpha/"] * 6 + ["/beta/"] * 3 + ["/gamma/"]
    for i in range(n):
        con.execute("UPDATE blocks SET coinbase_script_hex = ? WHERE height = ?", [tags[i].encode().hex(), 840_000 + i])
        con.execute("INSERT INTO coinbase_outputs VALUES (?, 0, 312500000, 'p2pkh', ?, ?)",
                    [840_000 + i, i, "1BetaPayout" if i == 0 else f"1Miner{i}"])


def test_pools_update_rewrites_only_what_changes(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    _hand_chain(con)
    first = _pool_list(tmp_path, "a.json", [{"name": "Alpha", "tags": ["/alpha/"]},
                                           {"name": "Beta", "tags": ["/beta/"], "addresses": ["1BetaPayout"]}])
    second = _pool_list(tmp_path, "b.json", [{"name": "Alpha", "tags": ["/alpha/"]},
                                            {"name": "Beta", "tags": ["/beta/"], "addresses": ["1BetaPayout"]},
                                            {"name": "Gamma Pool", "tags": ["/gamma/"]}])
    pool_share.update_pool_list(con, first)
    rows = {h: r for h, *r in con.execute(
        "SELECT height, pool_slug, matched_by, tag_slug, address_slug, conflict FROM block_pools").fetchall()}
    # Block 0: the address says Beta, the tag Alpha → Beta by address, the conflict kept.
    assert rows[840_000] == ["beta", "address", "alpha", "beta", True]
    assert rows[840_006] == ["beta", "tag", "beta", None, False]
    assert rows[840_009] == ["unknown", None, None, None, False]
    result = pool_share.update_pool_list(con, second)
    # Only block 9 changes (unknown → Gamma Pool); every row now records the second list's version.
    assert (result.blocks_checked, result.blocks_changed) == (10, 1)
    assert con.execute("SELECT pool_slug FROM block_pools WHERE height = 840009").fetchall() == [("gammapool",)]
    assert con.execute("SELECT DISTINCT pools_version FROM block_pools").fetchall() == [(result.new_version,)]
    assert store.get_meta(con, "pools_version") == result.new_version
    # A block that arrives later is attributed with the active (second) list.
    insert_facts(con, [Fact(840_010, T0 + 6000, D)])
    con.execute("UPDATE blocks SET coinbase_script_hex = ? WHERE height = 840010", [b"/gamma/".hex()])
    pool_share.attribute_blocks(con, 840_010)
    assert con.execute("SELECT pool_slug, pools_version FROM block_pools WHERE height = 840010").fetchall() == [
        ("gammapool", result.new_version)]


def test_pool_shares_with_hashrate_and_interval(tmp_path: Path) -> None:
    con = open_db(tmp_path)
    _hand_chain(con)
    pool_share.update_pool_list(con, _pool_list(tmp_path, "a.json", [{"name": "Alpha", "tags": ["/alpha/"]},
                                                                     {"name": "Beta", "tags": ["/beta/"]}]))
    # Window (T0 − 600, T0 + 5,400]: all 10 blocks, 10 × 1e14 × 2^32 hashes in 6,000 s
    # = 1e14 × 2^32 / 600 H/s = 715.83 EH/s. Alpha 6 blocks = 60 % → 429.50 EH/s.
    w = pool_share.pool_shares(con, T0 - 600, T0 + 5400)
    assert w.blocks == 10 and w.network_hashrate_ehs == pytest.approx(715.8278826666667, rel=1e-12)
    alpha = w.pools[0]
    assert (alpha.slug, alpha.blocks, alpha.share_pct) == ("alpha", 6, pytest.approx(60.0))
    assert alpha.hashrate_ehs == pytest.approx(0.6 * 715.8278826666667, rel=1e-12)
    assert alpha.low95_ehs < alpha.hashrate_ehs < alpha.high95_ehs
    assert [p.slug for p in w.pools] == ["alpha", "beta", "unknown"]
    network.refresh_network(con, 0)   # the daily series divide by the day's blocks
    daily = get("pool_share_pct").fn(con, Query(cohort="pool:beta"))
    assert daily == [(daily[0][0], pytest.approx(30.0))]


def test_pools_list_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    con = open_db(tmp_path)
    _hand_chain(con)
    pool_share.attribute_blocks(con, 0)   # the shipped list knows none of these tags
    con.close()
    assert main(["pools", "list", "--db", str(tmp_path / "metrics.duckdb"), "--interval", "all", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["blocks"] == 10 and out["pools"][0]["slug"] == "unknown"
