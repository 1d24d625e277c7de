"""Miner flows kept block by block equal the from-scratch computation of tests/miner_flows_oracle.py,
for every cohort (0hop, 1hop, every pool, every labelled entity) and every day: blocks taken one at
a time and in batches, reorgs onto another branch, a rollback, a new pool list, a new label set, and
a database made before the block tables, migrated."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import duckdb
import pytest

import miner_flows_oracle as oracle
from db_dump import differences, dump
from minerwatch.chain.address import encode_address
from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, OutPoint, h20, key65, p2pk, p2wpkh
from minerwatch.chain.script import classify
from minerwatch.cli import main
from minerwatch.metrics.registry import refresh_all
from minerwatch.networks import get_network
from minerwatch.simulate.files import DemoFiles, write_demo
from minerwatch.simulate.generate import SimConfig, generate
from minerwatch.store import connect, migrations, transaction
from minerwatch.sync import Syncer

B, FEE = 100_000_000, 10_000
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
REGTEST, SIMNET = get_network("regtest"), get_network("simnet")
MINER_TABLES = ("miner_block_flows", "miner_block_reserve", "daily_miner_flows", "daily_miner_reserve_era")


def _sync(db: Path, blocks_dir: Path, network: str, stop: int | None = None) -> None:
    args = ["sync", "--blocks-dir", str(blocks_dir), "--db", str(db), "--network", network, "--workers", "1"]
    assert main(args + ([] if stop is None else ["--stop-height", str(stop)])) == 0


def _check_oracle(db: Path) -> int:
    """Assert every cohort equals the oracle; returns how many cohorts were compared."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert oracle.mismatches(con) == []
        return len(oracle.cohorts(con))
    finally:
        con.close()


def _same_as(db: Path, reference: Path, tables: tuple[str, ...] | None = None) -> None:
    got, want = dump(db), dump(reference)
    if tables is not None:
        got, want = ({t: d[t] for t in tables} for d in (got, want))
    assert differences(got, want) == []


# ---- the simulated demo chain (48 days, 7,292 blocks) ----------------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoFiles, Path]:
    """The files of a short demo chain and the database a plain sync gives (pools, then labels)."""
    tmp = tmp_path_factory.mktemp("sim")
    files = write_demo(tmp / "files", chain=generate(SimConfig(seed=7, days=48)))
    db = tmp / "fresh.duckdb"
    assert main(["pools", "update", str(files.pools_json), "--db", str(db)]) == 0
    _sync(db, files.blocks_dir, "simnet")
    assert main(["labels", "import", str(files.labels_csv), "--db", str(db), "--name", "demo"]) == 0
    return files, db


def test_simulated_chain_taken_block_by_block_equals_the_oracle(sim: tuple[DemoFiles, Path], tmp_path: Path) -> None:
    files, fresh = sim
    assert _check_oracle(fresh) >= 2 + 5 + 5  # 0hop, 1hop, the pools that mined, the labelled entities
    db = tmp_path / "inc.duckdb"
    assert main(["pools", "update", str(files.pools_json), "--db", str(db)]) == 0
    tip = files.tip_height
    _sync(db, files.blocks_dir, "simnet", tip - 300)
    assert main(["labels", "import", str(files.labels_csv), "--db", str(db), "--name", "demo"]) == 0
    # Batches of 1, 2, 5, … blocks, then the last 12 one at a time.
    height = tip - 300
    for step in (1, 2, 5, 40, 100, 140):
        height += step
        _sync(db, files.blocks_dir, "simnet", height)
    while height < tip:
        height += 1
        _sync(db, files.blocks_dir, "simnet", height)
    _check_oracle(db)
    _same_as(db, fresh)


def test_simulated_chain_rolled_back_and_taken_again(sim: tuple[DemoFiles, Path], tmp_path: Path) -> None:
    files, fresh = sim
    db = tmp_path / "rolled.duckdb"
    shutil.copy(fresh, db)
    con = connect(db)
    syncer = Syncer(con, SIMNET)
    syncer.rollback_to(files.tip_height - 500)   # ~3 days of blocks gone; the spends they made undone
    with transaction(con):                       # what the next refresh does, with no block to add
        refresh_all(con, files.tip_height - 499)
    assert con.execute("SELECT max(height) FROM miner_block_flows").fetchone()[0] == files.tip_height - 500
    con.close()
    _check_oracle(db)
    _sync(db, files.blocks_dir, "simnet")
    _same_as(db, fresh)


def test_a_new_pool_list_recomputes_the_pool_cohorts(sim: tuple[DemoFiles, Path], tmp_path: Path) -> None:
    files, fresh = sim
    db = tmp_path / "pools.duckdb"
    shutil.copy(fresh, db)
    # The second list drops the pool with the most blocks: its blocks become "unknown".
    import json

    pools = json.loads(files.pools_json.read_text())
    con = duckdb.connect(str(db), read_only=True)
    top, slug = con.execute("SELECT pool_name, pool_slug FROM block_pools GROUP BY ALL ORDER BY count(*) DESC "
                            "LIMIT 1").fetchone()
    assert con.execute("SELECT count(*) FROM daily_miner_flows WHERE cohort = ?", [f"pool:{slug}"]).fetchone()[0] > 0
    unknown_sql = "SELECT sum(inflow_sat) FROM daily_miner_flows WHERE cohort = 'pool:unknown'"
    unknown_before = con.execute(unknown_sql).fetchone()[0]
    con.close()
    smaller = tmp_path / "pools.json"
    smaller.write_text(json.dumps([p for p in pools if p["name"] != top]))
    assert main(["pools", "update", str(smaller), "--db", str(db)]) == 0
    _check_oracle(db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM daily_miner_flows WHERE cohort = ?", [f"pool:{slug}"]).fetchone()[0] == 0
    assert con.execute(unknown_sql).fetchone()[0] > unknown_before
    con.close()


def test_a_database_made_before_the_block_tables_migrates_to_a_fresh_one(sim: tuple[DemoFiles, Path],
                                                                         tmp_path: Path) -> None:
    files, fresh = sim
    db = tmp_path / "old.duckdb"
    shutil.copy(fresh, db)
    # What schema version 200 left: the spends in miner_outputs' own columns (before migration
    # 230), no block tables, no spent_height index (before 210), none of the later migrations'
    # tables, only the fixed cohorts stored (their rows are the same: the oracle tests show it).
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE miner_outputs ADD COLUMN spent_height INTEGER")
    con.execute("ALTER TABLE miner_outputs ADD COLUMN spent_txid VARCHAR")
    con.execute("UPDATE miner_outputs SET spent_height = s.height, spent_txid = s.spent_txid FROM miner_spends s "
                "WHERE s.txid = miner_outputs.txid AND s.vout = miner_outputs.vout")
    _undo_later_schema(con, 200)
    con.execute("DELETE FROM daily_miner_flows WHERE cohort NOT IN ('0hop', '1hop')")
    con.execute("DELETE FROM daily_miner_reserve_era WHERE cohort NOT IN ('0hop', '1hop')")
    con.execute("DELETE FROM meta WHERE key = 'miner_flows_through_height'")
    con.close()
    _sync(db, files.blocks_dir, "simnet")   # no new block: the migration has the refresh run once
    # One row more than a fresh database: the migrated one was tracked before miner_prejoin_outputs
    # existed, so it is marked to keep deciding spends from its stored outputs (store/sql/250).
    con = duckdb.connect(str(db))
    assert con.execute("SELECT value FROM meta WHERE key = 'prejoin_complete_from_height'").fetchone() == ("7292",)
    con.execute("DELETE FROM meta WHERE key = 'prejoin_complete_from_height'")
    con.close()
    _same_as(db, fresh)


def _undo_later_schema(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Drop what the migrations after `version` added (views, tables, columns), found by applying
    them in order to an empty database and comparing."""
    empty = duckdb.connect()
    shapes = []
    for later in (False, True):
        for number, _name, sql in migrations():
            if (number > version) == later:
                empty.execute(sql)
        shapes.append((
            {v for (v,) in empty.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()},
            {(t, c) for t, c in empty.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                              "WHERE table_name IN (SELECT table_name FROM duckdb_tables())").fetchall()}))
    empty.close()
    (views_before, columns_before), (views_after, columns_after) = shapes
    tables_before = {t for t, _ in columns_before}
    for view in views_after - views_before:
        con.execute(f"DROP VIEW {view}")
    for table in {t for t, _ in columns_after} - tables_before:
        con.execute(f"DROP TABLE {table}")
    for table, column in sorted(columns_after - columns_before):
        if table in tables_before:
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("DELETE FROM schema_migrations WHERE version > ?", [version])


# ---- a constructed chain with random miner business and a reorg ------------------------------------

POOL_A, POOL_B, P2POOL = p2wpkh(h20("poolA")), p2wpkh(h20("poolB")), p2wpkh(h20("p2pool"))
MINERS = [p2wpkh(h20(f"miner{i}")) for i in range(8)]
EXCHANGES = [p2wpkh(h20(f"exchange{i}")) for i in range(2)]
OUTSIDE = p2wpkh(h20("economy"))


def _some_coins(b: ChainBuilder, rng: random.Random, script: bytes, most: int = 2) -> list[OutPoint]:
    coins = b.coins_of(script)
    return rng.sample(coins, min(len(coins), rng.randint(1, most))) if coins else []


def _business(b: ChainBuilder, rng: random.Random, salt: str) -> None:
    """Queue 0–5 random transactions: pool payouts, sales to exchanges, moves between miners,
    consolidations, spends of coins created in the same block, payments from outside."""
    for k in range(rng.randint(0, 5)):
        action = rng.random()
        if action < 0.3:
            src = rng.choice((POOL_A, POOL_B, P2POOL))
            coins = _some_coins(b, rng, src, 1)
            if coins:
                total = sum(b.utxos[c].value_sat for c in coins)
                payees = rng.sample(MINERS, rng.randint(1, 4)) + ([rng.choice(EXCHANGES)] if rng.random() < 0.2 else [])
                share = (total - FEE) // (len(payees) + 1)
                b.spend(coins, [(p, share) for p in payees], fee_sat=FEE)
        elif action < 0.55:
            coins = _some_coins(b, rng, rng.choice(MINERS))
            if coins:
                total = sum(b.utxos[c].value_sat for c in coins)
                b.spend(coins, [(rng.choice(EXCHANGES), total // rng.randint(2, 5))], fee_sat=FEE)
        elif action < 0.7:
            src = rng.choice(MINERS)
            coins = _some_coins(b, rng, src, 3)
            if coins:
                total = sum(b.utxos[c].value_sat for c in coins)
                to = rng.choice(MINERS + [p2wpkh(h20(f"fresh-{salt}-{b.height}-{k}"))])
                b.spend(coins, [(to, total // 3)], fee_sat=FEE, change_script=src)
        elif action < 0.8:
            coins = _some_coins(b, rng, rng.choice(EXCHANGES), 3)
            if coins:
                total = sum(b.utxos[c].value_sat for c in coins)
                b.spend(coins, [(rng.choice(MINERS + [OUTSIDE]), total // 4)], fee_sat=FEE)
        elif action < 0.9:
            op = b.fund(OUTSIDE, 5 * B, f"outside-{salt}-{b.height}-{k}")
            b.spend([op], [(rng.choice(MINERS + EXCHANGES), 2 * B)], fee_sat=FEE)
        else:
            solo = [c for c in b.utxos if b.utxos[c].script[:1] == b"\x41" and b.utxos[c].value_sat > FEE]
            if solo:
                b.spend([rng.choice(solo)], [(rng.choice(EXCHANGES), B)], fee_sat=FEE)


def _mine(b: ChainBuilder, rng: random.Random, upto: int, salt: str) -> None:
    """Blocks 3 h apart (8 a day), header times jittered by up to 2 h (sometimes backwards across
    midnight). Payers: two pools, a P2Pool-like coinbase paying miners directly (a miner who was
    1-hop joins 0-hop then: the late join), and solo miners with a new key each."""
    while b.height < upto:
        h = b.height + 1
        _business(b, rng, salt)
        time_s = T0 + h * 3 * 3600 + rng.randint(-7200, 7200)
        if h % 24 in (7, 8):   # every third day: 00:10, then 23:50 of the day before
            time_s = T0 + (h + 1) // 8 * 86_400 + (600 if h % 24 == 7 else -600)
        kind = rng.random()
        if kind < 0.35:
            b.mine(tag="/AntPool/", payouts=[(POOL_A, None)], time_s=time_s)
        elif kind < 0.65:
            b.mine(tag="Foundry USA Pool", payouts=[(POOL_B, None)], time_s=time_s)
        elif kind < 0.85:
            b.mine(tag=f"p2pool-{salt}", payouts=[(m, B) for m in rng.sample(MINERS, 3)] + [(P2POOL, None)],
                   time_s=time_s)
        else:
            b.mine(tag="solo", payouts=[(p2pk(key65(f"solo-{salt}-{h}")), None)], time_s=time_s)


def _address(script: bytes) -> str:
    return encode_address(*classify(script), REGTEST)


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], list[bytes], Path]:
    """(tmp dir, branch A: heights 0–140, branch B: A to 115 then its own 116–149, labels CSV)."""
    tmp = tmp_path_factory.mktemp("forked")
    rng = random.Random(2024)
    a = ChainBuilder("regtest", start_time_s=T0)
    _mine(a, rng, 115, "a")
    b = a.fork(115)
    _mine(a, rng, 140, "a")
    _mine(b, random.Random(7), 149, "b")
    labels = tmp / "labels.csv"
    labels.write_text("address,entity,category\n" + "".join(
        f"{_address(s)},Exchange {i},exchange\n" for i, s in enumerate(EXCHANGES))
        + f"{_address(POOL_A)},AntPool,pool\n{_address(MINERS[0])},Miner Zero,miner\n")
    return tmp, a.blocks, b.blocks, labels


def test_reorg_onto_another_branch_equals_the_oracle_and_a_fresh_sync(forked: tuple, tmp_path: Path) -> None:
    tmp, branch_a, branch_b, labels = forked
    write_blk_files(tmp_path / "a", REGTEST, branch_a)
    write_blk_files(tmp_path / "ab", REGTEST, branch_a + branch_b[116:])
    db = tmp_path / "inc.duckdb"
    _sync(db, tmp_path / "a", "regtest", 60)
    assert main(["labels", "import", str(labels), "--db", str(db), "--name", "tags"]) == 0
    for height in range(61, 141, 3):   # three blocks at a time, then one
        _sync(db, tmp_path / "a", "regtest", min(height, 140))
    _check_oracle(db)
    con = duckdb.connect(str(db), read_only=True)
    # The story has what the refresh must get right: a 1-hop miner later paid by a coinbase, coins
    # created and spent in one block, and header times running backwards across midnight.
    assert con.execute("SELECT count(*) FROM miner_scripts WHERE one_hop_height < zero_hop_height").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM miner_spends WHERE height = out_height").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM blocks a JOIN blocks b ON b.height = a.height + 1 "
                       "WHERE b.time_s // 86400 < a.time_s // 86400").fetchone()[0] > 0
    con.close()
    _sync(db, tmp_path / "ab", "regtest")            # branch B has more work: 25 blocks replaced
    assert _check_oracle(db) >= 2 + 3 + 4
    reference = tmp_path / "fresh.duckdb"
    _sync(reference, tmp_path / "ab", "regtest")
    assert main(["labels", "import", str(labels), "--db", str(reference), "--name", "tags"]) == 0
    # (The network tables are left out: their running sums, refreshed from the fork, may differ
    # from a fresh sync's in the last bit of a float.)
    _same_as(db, reference, MINER_TABLES + ("miner_scripts", "miner_outputs", "miner_spends", "miner_spend_outputs"))


def test_refresh_from_any_height_leaves_the_tables_unchanged(forked: tuple, tmp_path: Path) -> None:
    tmp, branch_a, _, labels = forked
    write_blk_files(tmp_path / "a", REGTEST, branch_a)
    db = tmp_path / "a.duckdb"
    _sync(db, tmp_path / "a", "regtest")
    assert main(["labels", "import", str(labels), "--db", str(db), "--name", "tags"]) == 0
    from minerwatch.metrics.miners import refresh_miner_flows

    con = connect(db)
    before = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in MINER_TABLES}  # noqa: S608
    for height in (140, 133, 100, 57, 1, 0):
        with transaction(con):
            refresh_miner_flows(con, height)
        after = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in MINER_TABLES}  # noqa: S608
        assert after == before, height
    con.close()
