"""The cohort SQL over the lake, on DuckDB, equals the single-machine tracker's stored daily series
(0-hop and 1-hop) on the real blocks 0–438 and on the constructed chain of test_miner_flows_constructed;
true fees (inputs − outputs) equal the claimed fees where the miners claimed everything."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, h20, p2wpkh
from minerwatch.cli import main
from minerwatch.lake.duck import run_cohorts

from test_miner_flows_constructed import B, D4, DAY, F, G, MINER2, POOL_B, REGTEST, T0, _build

BLK = Path(__file__).parent / "data" / "blkfiles"
COLUMNS = "reserve_sat, inflow_sat, outflow_sat, internal_sat, outflow_tx_count, largest_outflow_sat"


def _sync_and_export(blocks: Path, tmp: Path, network: str) -> tuple[Path, Path]:
    db, lake = tmp / "m.duckdb", tmp / "lake"
    assert main(["sync", "--blocks-dir", str(blocks), "--db", str(db), "--network", network, "--workers", "1"]) == 0
    assert main(["lake", "export", str(lake), "--blocks-dir", str(blocks), "--network", network, "--workers", "1",
                 "--part-blocks", "100"]) == 0
    return db, lake


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("lake-cohorts-real")
    (tmp / "blocks").mkdir()
    shutil.copy(BLK / "mainnet-heights-0-438.dat", tmp / "blocks" / "blk00000.dat")
    return _sync_and_export(tmp / "blocks", tmp, "mainnet")


@pytest.fixture(scope="module")
def constructed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("lake-cohorts-constructed")
    chain, _ = _build()
    write_blk_files(tmp / "blocks", REGTEST, chain.blocks)
    return _sync_and_export(tmp / "blocks", tmp, "regtest")


def stored_daily(db: Path, cohort: str, extra: str = "") -> list[tuple]:
    """The tracker's daily rows of `cohort` (day, reserve, inflow, outflow, internal, count, largest
    and the `extra` columns)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"SELECT day, {COLUMNS}{extra} FROM daily_miner_flows WHERE cohort = ? ORDER BY day",
                           [cohort]).fetchall()


def lake_daily(con: duckdb.DuckDBPyConnection, cohort: str, extra: str = "") -> list[tuple]:
    """The lake's daily rows of `cohort`, days since 1970-01-01 turned into dates."""
    rows = con.execute(f"SELECT epoch_day, {COLUMNS}{extra} FROM daily_cohort_flows WHERE cohort = ? "
                       "ORDER BY epoch_day", [cohort]).fetchall()
    return [(date(1970, 1, 1) + timedelta(days=r[0]), *r[1:]) for r in rows]


@pytest.fixture(scope="module")
def one_hop_first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A script that is 1-hop before it is 0-hop, whose coins of that time are spent after: the case
    the SQL needs a second 1-hop pass for (cohorts.run). One block a day from 2024-01-01:
    h1  coinbase → Z                                  Z 0-hop at 1
    h2  tx a: Z's h1 coinbase → S 10B, change to Z    S 1-hop at 2 (its output is tracked)
    h3  coinbase → S                                  S 0-hop at 3
    h4  tx b: S's h2 output (10B) → R 10B − f         R 1-hop at 4: b spends a tracked output of a
        the coinbase claims 50B, not 50B + f          script 0-hop by then; f is left unclaimed"""
    tmp = tmp_path_factory.mktemp("lake-cohorts-one-hop-first")
    z, s, r, y = (p2wpkh(h20(n)) for n in ("Z", "S", "R", "Y"))
    b = ChainBuilder("regtest", start_time_s=T0)
    b.mine(payouts=[(z, None)], time_s=T0)
    a = b.spend([b.coinbase_outpoint(1)], [(s, 10 * B)], fee_sat=F)
    b.mine(payouts=[(y, None)], time_s=T0 + DAY)
    b.mine(payouts=[(s, None)], time_s=T0 + 2 * DAY)
    b.spend([a.outpoint(0)], [(r, 10 * B - F)], fee_sat=F)
    b.mine(payouts=[(y, 50 * B)], time_s=T0 + 3 * DAY)
    write_blk_files(tmp / "blocks", REGTEST, b.blocks)
    return _sync_and_export(tmp / "blocks", tmp, "regtest")


def extended_chain() -> ChainBuilder:
    """The flows story of test_miner_flows_constructed (h0–h5), then in one chain the cases the
    cohort SQL repeats passes for: a script 1-hop (h6) before 0-hop (h7) whose coin of that time is
    spent after (h8), and a co-spend (h8) that joins a 1-hop script (miner2) to a pool's (poolB);
    h8's coinbase leaves its fees unclaimed."""
    s, r, y, w = (p2wpkh(h20(n)) for n in ("S", "R", "Y", "W"))
    b, _ = _build()
    pay = b.spend([b.coinbase_outpoint(5)], [(s, 10 * B)], fee_sat=F)
    b.mine(payouts=[(y, None)], time_s=T0 + 4 * DAY)
    b.mine(payouts=[(s, None)], time_s=T0 + 5 * DAY)
    b.spend([pay.outpoint(0)], [(r, 10 * B - F)], fee_sat=F)
    b.spend([pay.outpoint(1), b.coins_of(MINER2)[0]], [(w, 20 * B)], fee_sat=F)
    b.mine(payouts=[(y, 50 * B)], time_s=T0 + 6 * DAY)
    return b


def write_extended_labels(path: Path) -> Path:
    """A label set for the extended chain: the exchange (category exchange), Foundry's payout
    address poolB and miner2, whom h8's co-spend ties to it, as one entity, and miner1."""
    from minerwatch.chain.address import encode_address
    from minerwatch.chain.script import classify

    from test_miner_flows_constructed import EXCHANGE, MINER1

    rows = [(EXCHANGE, "Big Exchange", "exchange"), (POOL_B, "Foundry", "pool"), (MINER2, "Foundry", "miner"),
            (MINER1, "Miner One", "miner")]
    path.write_text("address,entity,category\n" + "".join(
        f"{encode_address(*classify(s), REGTEST)},{e},{c}\n" for s, e, c in rows))
    return path


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The extended chain synced with the label set of write_extended_labels (beside the lake, as
    labels.csv) and the shipped pool list, whose tags name h1 and h3 AntPool's, h4–h8 Foundry's."""
    tmp = tmp_path_factory.mktemp("lake-cohorts-extended")
    write_blk_files(tmp / "blocks", REGTEST, extended_chain().blocks)
    db, lake = _sync_and_export(tmp / "blocks", tmp, "regtest")
    labels = write_extended_labels(tmp / "labels.csv")
    assert main(["labels", "import", str(labels), "--db", str(db), "--name", "test"]) == 0
    return db, lake


@pytest.mark.parametrize("chain", ["real", "constructed", "one_hop_first", "extended"])
@pytest.mark.parametrize("cohort", ["0hop", "1hop"])
def test_duckdb_over_the_lake_equals_the_tracker(chain: str, cohort: str, request: pytest.FixtureRequest) -> None:
    db, lake = request.getfixturevalue(chain)
    con, _ = run_cohorts(str(lake))
    want = stored_daily(db, cohort)
    assert want, "the tracker stored no rows"
    assert lake_daily(con, cohort) == want


def test_constructed_chain_hand_figures(constructed: tuple[Path, Path]) -> None:
    # Day 4 of the story (tests/test_miner_flows_constructed.py, worked out there by hand): 0-hop holds
    # G + 170B + 2f; satoshi's tx4 sends 30B out (the largest and only outflow) and 20B − f back to itself.
    con, _ = run_cohorts(str(constructed[1]))
    day4 = {r[0]: r[1:] for r in lake_daily(con, "0hop")}[D4]
    assert day4 == (G + 170 * B + 2 * F, 50 * B + F, 30 * B, 20 * B - F, 1, 30 * B)


def test_true_fees_equal_claimed_fees(real: tuple[Path, Path], constructed: tuple[Path, Path]) -> None:
    # Constructed chain: every transaction pays f and every coinbase claims its block's fees — tx1 at
    # h3, tx2 and tx3 at h4, tx4 at h5; genesis and the blocks without payments have none.
    con, _ = run_cohorts(str(constructed[1]))
    rows = con.execute("SELECT height, fees_sat, fees_claimed_sat, unclaimed_sat FROM block_fees ORDER BY height")
    assert rows.fetchall() == [(0, 0, 0, 0), (1, 0, 0, 0), (2, 0, 0, 0), (3, F, F, 0), (4, 2 * F, 2 * F, 0),
                               (5, F, F, 0)]
    # Real blocks 0–438: the 7 payments of the period paid no fee, and every coinbase is exactly 50 BTC
    # (test_lake_export: 439 payouts, 439 × 50 BTC), so true and claimed fees are 0 at every height.
    con, _ = run_cohorts(str(real[1]))
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE fees_sat = 0 AND fees_claimed_sat = 0) "
                       "FROM block_fees").fetchone() == (439, 439)


def test_one_hop_before_zero_hop(one_hop_first: tuple[Path, Path]) -> None:
    con, _ = run_cohorts(str(one_hop_first[1]))
    # S: 1-hop at 2, 0-hop at 3; R: 1-hop at 4 (found only by the second pass).
    assert con.execute("SELECT zero_hop_height, one_hop_height FROM members ORDER BY member_height, "
                       "zero_hop_height NULLS LAST").fetchall()[-2:] == [(3, 2), (None, 4)]
    day4 = {r[0]: r[1:] for r in lake_daily(con, "0hop")}[D4]
    # 0-hop on day 4: S's 10B leaves the set (R is not 0-hop), f goes to fees; Y's coinbase of 50B
    # comes in. Reserve: genesis G, Z's 40B − f change, Y's 50B + f and 50B, S's 50B coinbase.
    assert day4 == (G + 40 * B - F + 50 * B + F + 50 * B + 50 * B, 50 * B, 10 * B - F, 0, 1, 10 * B - F)
    # The miner of h4 left f unclaimed: true fees f, claimed 0 (the subsidy itself is all claimed).
    assert con.execute("SELECT fees_sat, fees_claimed_sat, unclaimed_sat FROM block_fees WHERE height = 4"
                       ).fetchone() == (F, 0, 0)


def test_import_puts_the_lake_series_beside_the_trackers(real: tuple[Path, Path], constructed: tuple[Path, Path],
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, lake = real
    copy = tmp_path / "m.duckdb"
    shutil.copy(db, copy)
    assert main(["lake", "cohorts", str(lake), "--out", str(tmp_path / "res")]) == 0
    assert main(["lake", "import", str(tmp_path / "res"), "--db", str(copy)]) == 0
    assert "(duckdb, lake tip 438)" in capsys.readouterr().out
    with duckdb.connect(str(copy), read_only=True) as con:
        for cohort in ("0hop", "1hop"):
            got = con.execute(f"SELECT day, {COLUMNS} FROM lake_daily_cohort_flows WHERE cohort = ? ORDER BY day",
                              [cohort]).fetchall()
            assert got == stored_daily(db, cohort)
        assert con.execute("SELECT engine, network, lake_tip_height, lake_tip_hash FROM lake_import").fetchall() == [
            ("duckdb", "mainnet", 438, "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a")]
        assert con.execute("SELECT count(*) FROM lake_block_fees").fetchone() == (439,)
        # The reserve by era too, row for row; without a label set the flow to exchanges is NULL on
        # every row, as the tracker stores it.
        assert con.execute("SELECT cohort, era_year, day, reserve_sat FROM lake_daily_cohort_reserve_era "
                           "ORDER BY ALL").fetchall() == stored_era(db)
        with duckdb.connect(str(db), read_only=True) as sync:
            assert sync.execute("SELECT count(*) FROM daily_miner_flows WHERE to_exchange_sat IS NOT NULL"
                                ).fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM lake_daily_cohort_flows WHERE to_exchange_sat IS NOT NULL"
                           ).fetchone() == (0,)
        # No payment of blocks 0–438 spends two scripts' coins: every 0-hop script is an entity of one.
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE entity_id = script_id) FROM lake_entities"
                           ).fetchone() == con.execute("SELECT count(*), count(*) FROM lake_members "
                                                       "WHERE zero_hop_height IS NOT NULL").fetchone()
    # Mainnet results are refused by a regtest database.
    other = tmp_path / "regtest.duckdb"
    shutil.copy(constructed[0], other)
    capsys.readouterr()
    assert main(["lake", "import", str(tmp_path / "res"), "--db", str(other)]) == 1
    assert "the results are of mainnet, the database holds regtest" in capsys.readouterr().err


def test_entities_from_known_cospends(tmp_path: Path) -> None:
    """Regtest, one block a day (f = fee):
    h1  coinbase → P;  h2  coinbase → Q
    h3  tx1: P's coinbase → A 5B, A 5B, B 10B, C 10B, D 10B, change to P;  coinbase → Y
    h4  tx2 spends P's change with A's first coin; tx3 A's second with B's; tx4 C's with D's (all → W)
    Co-spends join P–A (tx2) and A–B (tx3): {P, A, B} is one entity. {C, D} is a component too, but
    without a 0-hop script: no entity. Q, Y and regtest genesis's public key (0-hop, never co-spent)
    are entities of one. W only receives."""
    from minerwatch.chain.script import classify, script_id

    p, q, y, a, bb, c, d, w = (p2wpkh(h20(n)) for n in ("P", "Q", "Y", "A", "B", "C", "D", "W"))
    b = ChainBuilder("regtest", start_time_s=T0)
    b.mine(payouts=[(p, None)], time_s=T0)
    b.mine(payouts=[(q, None)], time_s=T0 + DAY)
    tx1 = b.spend([b.coinbase_outpoint(1)], [(a, 5 * B), (a, 5 * B), (bb, 10 * B), (c, 10 * B), (d, 10 * B)],
                  fee_sat=F)
    b.mine(payouts=[(y, None)], time_s=T0 + 2 * DAY)
    b.spend([tx1.outpoint(5), tx1.outpoint(0)], [(w, 10 * B)], fee_sat=F)
    b.spend([tx1.outpoint(1), tx1.outpoint(2)], [(w, 15 * B - F)], fee_sat=F)
    b.spend([tx1.outpoint(3), tx1.outpoint(4)], [(w, 20 * B - F)], fee_sat=F)
    b.mine(payouts=[(y, None)], time_s=T0 + 3 * DAY)
    write_blk_files(tmp_path / "blocks", REGTEST, b.blocks)
    assert main(["lake", "export", str(tmp_path / "lake"), "--blocks-dir", str(tmp_path / "blocks"),
                 "--network", "regtest", "--workers", "1"]) == 0
    con, _ = run_cohorts(str(tmp_path / "lake"))

    def sid(script: bytes) -> int:
        return script_id(*classify(script))

    # Regtest genesis pays a bare public key (P2PK); its script id is read from the lake.
    genesis_key = con.execute("SELECT script_id FROM outputs WHERE height = 0").fetchone()[0]
    entities: dict[int, set[int]] = {}
    for script, entity in con.execute("SELECT script_id, entity_id FROM entities").fetchall():
        entities.setdefault(entity, set()).add(script)
    pab = {sid(p), sid(a), sid(bb)}
    assert sorted(entities.values(), key=sorted) == sorted([pab, {sid(q)}, {sid(y)}, {genesis_key}], key=sorted)
    # An entity's id is its smallest script id; P's entity holds one 0-hop script (P, from h1).
    assert entities[min(pab)] == pab
    assert con.execute("SELECT count(*) FROM entities WHERE entity_id = ? AND zero_hop_height = 1",
                       [min(pab)]).fetchone() == (1,)


def test_extended_chain_entities_and_fees(extended: tuple[Path, Path]) -> None:
    from minerwatch.chain.script import classify, script_id

    con, _ = run_cohorts(str(extended[1]))
    # h8's co-spend puts miner2 (a 1-hop payout address) in poolB's entity.
    pool_b, miner2 = (script_id(*classify(x)) for x in (POOL_B, MINER2))
    ids = dict(con.execute("SELECT script_id, entity_id FROM entities WHERE script_id IN (?, ?)",
                           [pool_b, miner2]).fetchall())
    assert ids[pool_b] == ids[miner2] == min(pool_b, miner2)
    # h8 holds two payments of f each and a coinbase of 50B: 2f of true fees, none claimed.
    assert con.execute("SELECT fees_sat, fees_claimed_sat FROM block_fees WHERE height = 8").fetchone() == (2 * F, 0)


# ---- pool and label cohorts, the flow to exchanges, the reserve by era -----------------------------

ERA_SQL = "SELECT cohort, era_year, epoch_day, reserve_sat FROM daily_cohort_reserve_era ORDER BY ALL"


def stored_era(db: Path) -> list[tuple]:
    """The tracker's reserve by era: (cohort, era_year, day, reserve_sat), every row it keeps."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT cohort, era_year, day, reserve_sat FROM daily_miner_reserve_era ORDER BY ALL"
                           ).fetchall()


def lake_era(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return [(c, y, date(1970, 1, 1) + timedelta(days=d), r) for c, y, d, r in con.execute(ERA_SQL).fetchall()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """The simulated demo chain, short (48 days from 2025-01-01, 7,292 blocks): its pools.json and
    labels.csv given to a sync as `minerwatch demo` gives them, and the same chain as a lake.
    Returns (database, lake, pools.json, labels.csv)."""
    from minerwatch.simulate.files import write_demo
    from minerwatch.simulate.generate import SimConfig, generate

    tmp = tmp_path_factory.mktemp("lake-cohorts-demo")
    files = write_demo(tmp / "files", chain=generate(SimConfig(seed=7, days=48)))
    db = tmp / "m.duckdb"
    assert main(["pools", "update", str(files.pools_json), "--db", str(db)]) == 0
    _, lake = _sync_and_export(files.blocks_dir, tmp, "simnet")
    assert main(["labels", "import", str(files.labels_csv), "--db", str(db), "--name", "demo"]) == 0
    return db, lake, files.pools_json, files.labels_csv


def test_pool_and_label_cohorts_equal_the_tracker_on_the_demo_chain(demo: tuple[Path, Path, Path, Path]) -> None:
    """Every cohort the sync keeps — 0hop, 1hop, the 9 pools' (unknown included: the solo miners) and
    the 10 labelled entities' — day by day, with the flow to exchanges, and the reserve by era. The
    single-machine side is the tracker and the block-by-block metrics, which
    tests/test_miner_flows_incremental.py holds to the from-scratch oracle on this same chain."""
    db, lake, pools, labels = demo
    con, _ = run_cohorts(str(lake), pools, labels)
    with duckdb.connect(str(db), read_only=True) as sync:
        cohorts = [c for (c,) in sync.execute("SELECT DISTINCT cohort FROM daily_miner_flows ORDER BY 1").fetchall()]
    assert len([c for c in cohorts if c.startswith("pool:")]) == 9
    assert len([c for c in cohorts if c.startswith("label:")]) == 10
    assert [c for (c,) in con.execute("SELECT DISTINCT cohort FROM daily_cohort_flows ORDER BY 1").fetchall()] == cohorts
    for cohort in cohorts:
        want = stored_daily(db, cohort, extra=", to_exchange_sat")
        assert lake_daily(con, cohort, extra=", to_exchange_sat") == want, cohort
    # The pools pay their miners: 0-hop sends 2,383.55362213 BTC to exchange-labelled scripts over
    # the 48 days, as `labels import` reports; 1-hop, which holds the miners, sends them all it sends out.
    sums = dict(con.execute("SELECT cohort, sum(to_exchange_sat) FROM daily_cohort_flows GROUP BY cohort").fetchall())
    assert sums["0hop"] == 238_355_362_213
    assert sums["1hop"] == con.execute("SELECT sum(outflow_sat) FROM daily_cohort_flows WHERE cohort = '1hop'"
                                       ).fetchone()[0]
    assert lake_era(con) == stored_era(db)


@pytest.mark.parametrize("chain", ["real", "constructed", "one_hop_first", "extended"])
def test_reserve_by_era_equals_the_tracker(chain: str, request: pytest.FixtureRequest) -> None:
    db, lake = request.getfixturevalue(chain)
    labels = lake.parent / "labels.csv"          # the extended chain's (its sync imported them)
    con, _ = run_cohorts(str(lake), labels=labels if labels.exists() else None)
    want = stored_era(db)
    assert want, "the tracker stored no rows"
    assert lake_era(con) == want
    if not labels.exists():
        # Without a label set no script is an exchange's: 0 on every row (the tracker stores NULL).
        assert con.execute("SELECT count(*) FROM daily_cohort_flows WHERE to_exchange_sat <> 0 "
                           "OR to_exchange_sat IS NULL").fetchone() == (0,)


def test_constructed_chain_reserve_by_era(constructed: tuple[Path, Path]) -> None:
    # Day 4 of the story (test_constructed_chain_hand_figures): 0-hop holds G + 170B + 2f, of which
    # G is regtest's genesis coinbase, mined 2011-02-02, and the rest outputs of January 2024.
    con, _ = run_cohorts(str(constructed[1]))
    day4 = (D4 - date(1970, 1, 1)).days
    assert con.execute("SELECT era_year, reserve_sat FROM daily_cohort_reserve_era WHERE cohort = '0hop' "
                       "AND epoch_day = ? ORDER BY era_year", [day4]).fetchall() == [(2011, G), (2024, 170 * B + 2 * F)]


def test_pool_and_label_cohorts_equal_the_tracker_on_the_extended_chain(extended: tuple[Path, Path]) -> None:
    db, lake = extended
    con, _ = run_cohorts(str(lake), labels=lake.parent / "labels.csv")
    cohorts = ["pool:antpool", "pool:foundryusa", "label:Big Exchange", "label:Foundry", "label:Miner One"]
    for cohort in cohorts:
        want = stored_daily(db, cohort, extra=", to_exchange_sat")
        assert want, cohort
        assert lake_daily(con, cohort, extra=", to_exchange_sat") == want, cohort
    # By hand: AntPool's coinbases (h1, h3) pay poolA; tx1 pays miner1 and miner2 from poolA's h1
    # coinbase, so both are AntPool's 1-hop scripts from h3 (poolA their parent) — and miner2, which
    # Foundry's label names, is in label:Foundry from then too.
    from minerwatch.chain.script import classify, script_id

    from test_miner_flows_constructed import MINER1, POOL_A

    sid = {name: script_id(*classify(s)) for name, s in (("poolA", POOL_A), ("miner1", MINER1), ("miner2", MINER2))}
    got = dict(con.execute("SELECT script_id, join_height FROM cohort_members WHERE cohort = 'pool:antpool'").fetchall())
    assert got == {sid["poolA"]: 1, sid["miner1"]: 3, sid["miner2"]: 3}
    # 0-hop sends 30B to the exchange at h5 (satoshi's tx4) and nothing else to it: miner1's 20B − f
    # at h4 leaves 1-hop, not 0-hop.
    assert con.execute("SELECT sum(to_exchange_sat) FROM daily_cohort_flows WHERE cohort = '0hop'").fetchone() == (
        30 * B,)
