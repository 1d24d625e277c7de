"""One new block on a small and on a ×30 history: the cost of following the tip must not grow with
what is stored.

    python benchmarks/bench_follow.py [--dir DIR] [--blocks 60] [--copies 30] [--cli-blocks 5]
                                      [--api-starts 5] [--check]

1. Writes the demo chain (`minerwatch demo`'s: simnet, ~70,000 blocks, its prices, pools and
   labels) and syncs it as `demo` does, but stopping `--blocks` blocks short of its tip: the
   **small** history (~320,000 cohort outputs).
2. The **×30** history: a copy of it whose miner tables (miner_scripts, their payloads,
   miner_outputs, miner_spends, miner_spend_outputs) hold the demo's rows `--copies` times, each copy under
   other script ids and txids (~9.8 M cohort outputs), then every derived miner table recomputed
   from height 0. Copies are of the history only, as it stands at that height (their outputs spent
   later stay unspent): the blocks to come are the demo's own, identical on both.
3. **Following the tip** (what `sync --follow` does per block, in a process of its own per
   database): for each of the last `--blocks` blocks, read it from the blk files, then time
   parse → ingest (one transaction) → every refresher (one transaction). p50/p95 over the blocks
   and the ×30/small ratio, with the miner-flow refresher's share.
4. **`minerwatch sync --stop-height H`**, the command, for `--cli-blocks` blocks on fresh copies:
   process start, opening the database, reloading the cohort tracker, scanning the blk files, then
   the same work; the part that still grows with history is printed apart (the tracker reload).
5. **Cold API series**: `minerwatch serve` started `--api-starts` times per database; the first
   (uncached) answer of /api/v1/series/miner_reserve_btc?interval=all for 0hop, 1hop and the pool
   with the most blocks.
6. EXPLAIN ANALYZE of the two cohort-output reads of a block's refresh on both databases (row
   groups scanned; index scan or not). With --check, the stored series of 0hop, 1hop and the
   pool equal the from-scratch oracle (tests/miner_flows_oracle.py) on both databases.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load() -> float:
    return os.getloadavg()[0]


def _pct(values: list[float], p: float) -> float:
    """The p-th percentile of `values` by nearest rank (p95 of 30 values: the 29th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ---- building the two databases ------------------------------------------------------------------

def build_small(work: Path, blocks: int) -> tuple[Path, Path, int]:
    """Demo files and the demo database synced to `blocks` short of the tip: (db, blocks dir, tip)."""
    from minerwatch.metrics.labels import import_labels
    from minerwatch.metrics.miners import refresh_miner_flows
    from minerwatch.metrics.pool_share import update_pool_list
    from minerwatch.metrics.prices import import_prices
    from minerwatch.networks import get_network
    from minerwatch.simulate.files import write_demo
    from minerwatch.store import bind_network, connect, transaction
    from minerwatch.sync import Syncer

    simnet = get_network("simnet")
    t = time.perf_counter()
    files = write_demo(work / "files")
    db = work / "small.duckdb"
    con = connect(db)
    bind_network(con, simnet.name, db)
    import_prices(con, files.prices_csv)
    con.execute("DELETE FROM prices WHERE source <> ?", [f"import:{files.prices_csv.name}"])
    update_pool_list(con, files.pools_json)
    Syncer(con, simnet, batch_blocks=2000).sync_blocks_dir(files.blocks_dir, workers=2,
                                                            stop_height=files.tip_height - blocks)
    with transaction(con):
        import_labels(con, files.labels_csv, "demo", simnet)
        refresh_miner_flows(con, 0)
    con.execute("CHECKPOINT")
    con.close()
    print(f"small history: demo to height {files.tip_height - blocks:,} in {time.perf_counter() - t:.0f} s", flush=True)
    (work / "tip.json").write_text(json.dumps({"blocks_dir": str(files.blocks_dir), "tip": files.tip_height}))
    return db, files.blocks_dir, files.tip_height


_GROW_SQL = """
INSERT INTO miner_scripts SELECT xor(script_id, $k * $mix), script_type, address, zero_hop_height, one_hop_height,
    CASE WHEN parent_script_id IS NOT NULL THEN xor(parent_script_id, $k * $mix) END FROM _orig_scripts;
INSERT INTO miner_script_payloads SELECT xor(script_id, $k * $mix), payload_hex FROM _orig_payloads;
INSERT INTO miner_outputs SELECT md5(txid || ':' || $k) || md5($k || ':' || txid), vout, height, tx_index, value_sat,
    xor(script_id, $k * $mix), is_coinbase FROM _orig_outputs;
INSERT INTO miner_spends SELECT md5(txid || ':' || $k) || md5($k || ':' || txid), vout, height,
    md5(spent_txid || ':' || $k) || md5($k || ':' || spent_txid), out_height, value_sat, xor(script_id, $k * $mix)
    FROM _orig_spends;
INSERT INTO miner_spend_outputs SELECT md5(txid || ':' || $k) || md5($k || ':' || txid), vout, height, tx_index,
    value_sat, xor(script_id, $k * $mix), script_type FROM _orig_spend_outputs;
"""


def grow(small: Path, big: Path, copies: int) -> None:
    """`big` = `small` with its miner tables held `copies` times, derived miner tables recomputed."""
    from minerwatch.metrics.miners import refresh_miner_flows
    from minerwatch.store import connect, transaction

    shutil.copy(small, big)
    t = time.perf_counter()
    con = connect(big)
    for table, name in (("miner_scripts", "_orig_scripts"), ("miner_script_payloads", "_orig_payloads"),
                        ("miner_outputs", "_orig_outputs"), ("miner_spends", "_orig_spends"),
                        ("miner_spend_outputs", "_orig_spend_outputs")):
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {table}")  # noqa: S608 (fixed names)
    for k in range(1, copies):
        with transaction(con):
            # xor with an odd 64-bit constant × k: other ids for each copy, with no collision in practice
            for statement in _GROW_SQL.strip().split(";\n"):
                con.execute(statement, {"k": k, "mix": 0x1F3D5B79A2C4E6F1 // 64})
    grown = time.perf_counter() - t
    with transaction(con):
        refresh_miner_flows(con, 0)
    con.execute("CHECKPOINT")
    n = con.execute("SELECT count(*) FROM miner_outputs").fetchone()[0]
    con.close()
    print(f"×{copies} history: {n:,} cohort outputs; copied in {grown:.0f} s, miner tables recomputed from "
          f"height 0 in {time.perf_counter() - t - grown:.0f} s", flush=True)


# ---- following the tip, in a process per database -------------------------------------------------

def follow(db: Path, blocks_dir: Path, first: int, last: int) -> dict:
    """Take blocks first..last one at a time as `sync --follow` does; seconds per block, per step."""
    from minerwatch.chain.blkfiles import iter_raw_blocks
    from minerwatch.chain.block import parse_block
    from minerwatch.metrics import registry
    from minerwatch.networks import get_network
    from minerwatch.store import connect
    from minerwatch.sync import Syncer

    simnet = get_network("simnet")
    raws = [(h, raw) for h, _, raw in iter_raw_blocks(blocks_dir, simnet, first, last)]
    t = time.perf_counter()
    con = connect(db)
    syncer = Syncer(con, simnet)
    startup_s = time.perf_counter() - t
    registry.load_all()
    spent: dict[str, float] = {}

    def timed(key: str, fn: registry.RefreshFn) -> registry.RefreshFn:
        def run(c, h):  # noqa: ANN001, ANN202
            t0 = time.perf_counter()
            fn(c, h)
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - t0
        return run

    registry.REFRESHERS[:] = [(o, k, timed(k, f)) for o, k, f in registry.REFRESHERS]
    rows = []
    for height, raw in raws:
        spent.clear()
        t0 = time.perf_counter()
        block = parse_block(raw, source=f"block {height}")
        t1 = time.perf_counter()
        syncer.ingest_stream(iter([(height, block)]))
        t2 = time.perf_counter()
        syncer.refresh_metrics()
        t3 = time.perf_counter()
        rows.append({"height": height, "total_s": t3 - t0, "parse_s": t1 - t0, "ingest_s": t2 - t1,
                     "refresh_s": t3 - t2, "miner_flows_s": spent.get("minerwatch.metrics.miners.refresh_miner_flows", 0.0)})
    con.close()
    return {"startup_s": startup_s, "blocks": rows}


def cli_blocks(db: Path, blocks_dir: Path, first: int, last: int) -> list[float]:
    """Wall seconds of `minerwatch sync --stop-height H` for H = first..last, one command each."""
    out = []
    for h in range(first, last + 1):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "minerwatch", "sync", "--blocks-dir", str(blocks_dir), "--db", str(db),
                        "--network", "simnet", "--workers", "1", "--stop-height", str(h)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t)
    return out


def tracker_reload_s(db: Path) -> float:
    """Seconds to open the database and rebuild the cohort tracker (what every `sync` does first)."""
    from minerwatch.ingest import Ingest
    from minerwatch.networks import get_network
    from minerwatch.store import connect

    t = time.perf_counter()
    con = connect(db, read_only=True)
    Ingest(con, get_network("simnet"))
    s = time.perf_counter() - t
    con.close()
    return s


# ---- cold API answers -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_cold(db: Path, cohorts: list[str], starts: int) -> dict[str, list[float]]:
    """Seconds of the first (uncached) answer of the reserve series per cohort, over `starts` server starts."""
    import httpx

    out: dict[str, list[float]] = {c: [] for c in cohorts}
    for _ in range(starts):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "minerwatch", "serve", "--db", str(db), "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/api/v1/status", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            # The process's first series answer also imports and registers every metric module
            # (~0.25 s, once per process): taken here, on a series that is not a miner one.
            t = time.perf_counter()
            httpx.get(f"{url}/api/v1/series/difficulty", params={"interval": "all"}, timeout=60)
            out.setdefault("first answer (difficulty)", []).append(time.perf_counter() - t)
            for cohort in cohorts:
                t = time.perf_counter()
                r = httpx.get(f"{url}/api/v1/series/miner_reserve_btc", params={"interval": "all", "cohort": cohort},
                              timeout=60)
                out[cohort].append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise SystemExit(f"{cohort}: HTTP {r.status_code} {r.text[:200]}")
        finally:
            server.terminate()
            server.wait(10)
    return out


# ---- what DuckDB reads ---------------------------------------------------------------------------

def explain(db: Path, first: int, last: int) -> list[str]:
    """Scan type and row groups read by the refresh's reads of miner_outputs and miner_spends, for
    the block of first..last that spends the most cohort outputs."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET disabled_optimizers = 'row_group_pruner'")
    height, spent = con.execute("SELECT height, count(*) FROM miner_spends WHERE height BETWEEN ? AND ? "
                                "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1", [first, last]).fetchone() or (last, 0)
    lines = [f"block {height:,} (spends {spent} cohort outputs)"]
    for what, sql in (("created in the block", "SELECT * FROM miner_outputs WHERE height >= ? AND height < ?"),
                      ("spent in the block", "SELECT * FROM miner_spends WHERE height >= ? AND height < ?")):
        plan = con.execute("EXPLAIN ANALYZE " + sql, [height, height + 1]).fetchall()[0][1]
        kept = [" ".join(line.strip("│ ").split()) for line in plan.splitlines()
                if "Type:" in line or "Row Groups" in line]
        lines.append(f"{what}: {'; '.join(kept)}")
    con.close()
    return lines


def check(db: Path, cohorts: list[str]) -> list[str]:
    """Differences between the stored series and the oracle (empty: equal)."""
    import duckdb

    sys.path.insert(0, str(ROOT / "tests"))
    import miner_flows_oracle as oracle

    con = duckdb.connect(str(db), read_only=True)
    from minerwatch.metrics.miners import cohort_days

    bad = [c for c in cohorts if oracle.daily_flows(con, c) != cohort_days(con, c)]
    con.close()
    return bad


# ---- the run --------------------------------------------------------------------------------------

def _child(args: argparse.Namespace) -> None:
    """Run one measurement in this (fresh) process and print its JSON."""
    what, db, blocks_dir, first, last = args.child
    if what == "follow":
        result: object = follow(Path(db), Path(blocks_dir), int(first), int(last))
    elif what == "cli":
        result = {"cli_s": cli_blocks(Path(db), Path(blocks_dir), int(first), int(last)),
                  "tracker_reload_s": tracker_reload_s(Path(db))}
    else:
        raise SystemExit(f"unknown child {what}")
    print(json.dumps(result))


def _in_child(what: str, db: Path, blocks_dir: Path, first: int, last: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", what, str(db), str(blocks_dir), str(first), str(last)],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the {what} step on {db} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # Kept as it comes, so that a later step's failure does not lose it.
    (db.parent / f"{what}.json").write_text(json.dumps(result) + "\n")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, help="work directory (kept; reused when it holds both databases)")
    ap.add_argument("--blocks", type=int, default=60, help="new blocks timed while following")
    ap.add_argument("--copies", type=int, default=30)
    ap.add_argument("--cli-blocks", type=int, default=5, help="blocks taken with one `minerwatch sync` each")
    ap.add_argument("--api-starts", type=int, default=5)
    ap.add_argument("--check", action="store_true", help="compare 0hop, 1hop and the pool with the oracle")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    print(f"load average at start: {_load():.1f}; {os.cpu_count()} CPUs", flush=True)
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory()
        work = Path(tmp.name)
    else:
        work = args.dir
        work.mkdir(parents=True, exist_ok=True)
    small, big = work / "small.duckdb", work / "big.duckdb"
    if small.exists() and big.exists() and (work / "tip.json").exists():
        meta = json.loads((work / "tip.json").read_text())
        blocks_dir, tip = Path(meta["blocks_dir"]), int(meta["tip"])
        print(f"reusing {small} and {big}", flush=True)
    else:
        small, blocks_dir, tip = build_small(work, args.blocks)
        grow(small, big, args.copies)
    first = tip - args.blocks + 1
    import duckdb

    sizes = {}
    for db in (small, big):
        con = duckdb.connect(str(db), read_only=True)
        sizes[db.name] = con.execute("SELECT count(*) FROM miner_outputs").fetchone()[0]
        pool = con.execute("SELECT pool_slug FROM block_pools GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        con.close()
    cohorts = ["0hop", "1hop", f"pool:{pool}"]

    results = {}
    for db in (small, big):
        name = "small" if db == small else f"×{args.copies}"
        runs = work / f"run-{db.stem}"
        shutil.rmtree(runs, ignore_errors=True)
        runs.mkdir()
        follow_db, cli_db = runs / "follow.duckdb", runs / "cli.duckdb"
        shutil.copy(db, follow_db)
        shutil.copy(db, cli_db)
        print(f"\n{name}: {sizes[db.name]:,} cohort outputs; following blocks {first:,}–{tip:,} …", flush=True)
        f = _in_child("follow", follow_db, blocks_dir, first, tip)
        c = _in_child("cli", cli_db, blocks_dir, first, first + args.cli_blocks - 1)
        a = api_cold(follow_db, cohorts, args.api_starts)
        results[name] = {"follow": f, "cli": c, "api": a, "explain": explain(follow_db, first, tip)}
        if args.check:
            results[name]["oracle_mismatches"] = check(follow_db, cohorts)
    print(f"\nload average at end: {_load():.1f}\n")
    _report(results, args, cohorts)
    if tmp is not None:
        tmp.cleanup()


def _report(results: dict, args: argparse.Namespace, cohorts: list[str]) -> None:
    names = list(results)
    print(f"one new block, following the tip ({args.blocks} blocks; seconds):")
    print(f"{'':14}" + "".join(f"{n:>22}" for n in names) + f"{'ratio':>10}")
    for key, label in (("total_s", "parse+ingest+refresh"), ("parse_s", "  parse"), ("ingest_s", "  ingest"),
                       ("refresh_s", "  every refresher"), ("miner_flows_s", "    miner flows")):
        cells, p50s = [], []
        for n in names:
            v = [b[key] for b in results[n]["follow"]["blocks"]]
            cells.append(f"p50 {_pct(v, 50):.3f} p95 {_pct(v, 95):.3f}")
            p50s.append(_pct(v, 50))
        print(f"{label:22}" + "".join(f"{c:>22}" for c in cells) + f"{p50s[-1] / p50s[0]:>9.2f}×")
    print("\n`minerwatch sync --stop-height H`, one block per command (seconds, wall):")
    for n in names:
        v = results[n]["cli"]["cli_s"]
        print(f"  {n:6} p50 {_pct(v, 50):.2f}  max {max(v):.2f};  of which opening + tracker reload "
              f"{results[n]['cli']['tracker_reload_s']:.2f}")
    print(f"\ncold API /api/v1/series/miner_reserve_btc?interval=all (first answer after a server start; "
          f"{args.api_starts} starts; ms):")
    for c in ["first answer (difficulty)", *cohorts]:
        print(f"  {c:26}" + "".join(f"  {n}: p50 {statistics.median(results[n]['api'][c]) * 1000:6.1f} "
                                     f"max {max(results[n]['api'][c]) * 1000:6.1f}" for n in names))
    print("\nEXPLAIN ANALYZE of the refresh's reads of miner_outputs and miner_spends:")
    for n in names:
        for line in results[n]["explain"]:
            print(f"  {n:6} {line}")
    if args.check:
        for n in names:
            print(f"oracle ({', '.join(cohorts)}) on {n}: {results[n]['oracle_mismatches'] or 'equal'}")


if __name__ == "__main__":
    main()
