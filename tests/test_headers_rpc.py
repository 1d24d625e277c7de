"""Headers first from a real node (bcoin, regtest): `sync --rpc` stores every header and computes the
header-only series before it fetches the first block, then completes the block series."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from minerwatch import store
from minerwatch.chain.rpc import RpcClient
from minerwatch.metrics.registry import Query, read
from minerwatch.networks import get_network
from minerwatch.sync import Syncer

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
REGTEST = get_network("regtest")
# Regtest's pow limit 0x207fffff as a difficulty: 0xffff × 256^26 / (0x7fffff × 256^29).
REGTEST_DIFFICULTY = 0xFFFF * 256 ** 26 / (0x7FFFFF * 256 ** 29)


class WatchedClient(RpcClient):
    """The real client, noting what the database held when the first block was asked for."""

    con: duckdb.DuckDBPyConnection
    seen: dict[str, object] | None = None

    def raw_blocks(self, hashes):  # noqa: ANN001, ANN201
        if self.seen is None:
            con = self.con
            self.seen = {
                "blocks": con.execute("SELECT count(*) FROM blocks").fetchone()[0],
                "headers": con.execute("SELECT min(height), max(height) FROM headers").fetchone(),
                "hashrate": dict(read(con, "hashrate_ehs", Query()).points),
                "difficulty": dict(read(con, "difficulty", Query()).points),
                "revenue": dict(read(con, "revenue_btc", Query()).points),
                "hashvalue_subsidy": dict(read(con, "hashvalue_subsidy_btc_per_ph_day", Query()).points),
            }
        return super().raw_blocks(hashes)


def test_headers_and_their_series_come_before_the_first_block(regtest_node, tmp_path: Path) -> None:  # noqa: ANN001
    node = regtest_node
    # 300 blocks 600 s apart from 2024-01-01 00:00 (heights 1–300): 1–144 on Jan 1, 145–288 on
    # Jan 2, 289–300 on Jan 3, plus the 2011 genesis block on its own day.
    node.mine(300, start_time_s=T0)
    con = store.connect(tmp_path / "h.duckdb")
    store.bind_network(con, "regtest", tmp_path / "h.duckdb")
    client = WatchedClient(node.url, REGTEST, password=node.api_key)
    client.con = con
    syncer = Syncer(con, REGTEST, batch_blocks=100)
    syncer.sync_rpc(client)
    seen = client.seen
    assert seen is not None
    assert seen["blocks"] == 0 and seen["headers"] == (0, 300)
    # Coin Metrics' daily estimate from the headers alone: 144 blocks at regtest's difficulty are
    # 144/144 × D × 2^32 / 600 H/s; the difficulty never changes on regtest.
    per_day = REGTEST_DIFFICULTY * 2**32 / 600 / 1e18
    assert seen["hashrate"][date(2024, 1, 1)] == pytest.approx(per_day, rel=1e-12)
    assert seen["hashrate"][date(2024, 1, 2)] == pytest.approx(per_day, rel=1e-12)
    assert seen["hashrate"][date(2024, 1, 3)] == pytest.approx(12 / 144 * per_day, rel=1e-12)
    assert seen["difficulty"][date(2024, 1, 2)] == pytest.approx(REGTEST_DIFFICULTY, rel=1e-12)
    # Subsidy-only hashvalue: regtest halves every 150 blocks, so the day's last block (288, Jan 2)
    # earns 25 BTC: 25 × 86,400 × 1e15 / (D × 2^32) BTC per PH/s and day.
    assert seen["hashvalue_subsidy"][date(2024, 1, 2)] == pytest.approx(
        25 * 86_400 * 1e15 / (REGTEST_DIFFICULTY * 2**32), rel=1e-12)
    # Revenue needs the coinbases: no value yet, a gap (None), not 0.
    assert seen["revenue"][date(2024, 1, 2)] is None
    # Once the blocks are in, the revenue is there (144 coinbases of Jan 2: heights 145–288, of
    # which 145–149 pay 50 BTC, 150–288 pay 25 BTC; the mined blocks carry no fees) and the
    # headers the blocks now cover are gone from the headers table.
    assert con.execute("SELECT count(*) FROM blocks").fetchone()[0] == 301
    assert con.execute("SELECT count(*) FROM headers").fetchone()[0] == 0
    revenue = dict(read(con, "revenue_btc", Query()).points)
    assert revenue[date(2024, 1, 2)] == pytest.approx(5 * 50 + 139 * 25)
    assert dict(read(con, "hashrate_ehs", Query()).points) == seen["hashrate"]


def test_headers_over_rest_where_the_node_serves_it(tmp_path: Path) -> None:
    # The real mainnet blocks 0–438 served by tests/fake_node.py: with REST on (bitcoind -rest) the
    # headers come in one GET of /rest/headers; with it off (404) over batched JSON-RPC. Either way
    # the database is the same.
    from db_dump import dump
    from fake_node import FakeNode, mainnet_blocks

    dumps = {}
    for rest in (True, False):
        node = FakeNode(mainnet_blocks(), rest=rest)
        try:
            db = tmp_path / f"rest-{rest}.duckdb"
            con = store.connect(db)
            store.bind_network(con, "mainnet", db)
            Syncer(con, get_network("mainnet")).sync_rpc(RpcClient(node.url, get_network("mainnet"), password="x"))
            con.close()
        finally:
            node.stop()
        assert ("rest/headers" in node.calls) is rest
        assert ("getblockheader" in node.calls) is not rest
        assert node.calls.count("getblock") == 439
        dumps[rest] = dump(db)
    assert len(dumps[True]["blocks"]) == 439 and dumps[True]["headers"] == []
    assert dumps[True] == dumps[False]


def test_following_refreshes_the_block_series_while_the_blocks_catch_up(regtest_node, tmp_path: Path,  # noqa: ANN001
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # With the headers ahead, a follower refreshes after a batch every CATCH_UP_REFRESH_S (here 0 s:
    # every batch), so fees, revenue and pools fill in as the blocks arrive, not only at the end.
    from minerwatch import sync

    node = regtest_node
    node.mine(300, start_time_s=T0)
    monkeypatch.setattr(sync, "CATCH_UP_REFRESH_S", 0)
    con = store.connect(tmp_path / "c.duckdb")
    store.bind_network(con, "regtest", tmp_path / "c.duckdb")
    marks: list[str | None] = []
    syncer = Syncer(con, REGTEST, batch_blocks=100,
                    on_commit=lambda: marks.append(store.get_meta(syncer.con, "metrics_blocks_through_height")))
    client = RpcClient(node.url, REGTEST, password=node.api_key)
    syncer.sync_rpc(client, follow=True, poll_s=0.2,
                    should_stop=lambda: store.get_meta(syncer.con, "metrics_blocks_through_height") == "300")
    # The refresh after the headers (no block yet: -1), then after each batch (0–99, 100–199,
    # 200–299, 300).
    refreshed = [m for i, m in enumerate(marks) if m is not None and (i == 0 or marks[i - 1] != m)]
    assert refreshed == ["-1", "99", "199", "299", "300"]
