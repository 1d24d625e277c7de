"""The real `minerwatch sync --blocks-dir` over the rehearsal chain (benchmarks/rehearsal.py), measured.

    python benchmarks/rehearsal_sync.py full OUT --db DB [--kill-at HEIGHT]   # the whole chain
    python benchmarks/rehearsal_sync.py tip OUT --db DB                      # held-back blocks, one sync each
    python benchmarks/rehearsal_sync.py follow OUT --db DB                   # the same in one process; a reorg
    python benchmarks/rehearsal_sync.py follow-undo OUT --db DB              # a reorg, then the last 6 blocks with undo data
    python benchmarks/rehearsal_sync.py api --db DB [--pool foundryusa]       # cold series latency
    python benchmarks/rehearsal_sync.py api --db DB --warm                    # the same, uncached, in a started server
    python benchmarks/rehearsal_sync.py eras --db DB --log FULL.log          # wall per cohort row, per era
    python benchmarks/rehearsal_sync.py refresh --db DB                      # the final refresh: time, peak RSS

full: one sync with the default workers into DB; with --kill-at, SIGKILL when the progress passes
HEIGHT, then a second sync, timed to its first stored batch (the restart) and to the end. Every
sync process is waited for with wait4: wall, CPU (its parser workers included), peak RSS (the
largest of the process and its workers). follow: on a copy of DB, in one process as `sync --follow`
runs, each held-back block timed (parse, ingest, every refresher), then a 6-block reorg through
the undo records. tip: appends each held-back block to the blk files
(`rehearsal.py --append`) and times the sync that takes it. api: each series request in a fresh
process (no response cache, a fresh DuckDB connection), over the whole history.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from procs import own_cpu_s  # noqa: E402  (tests/procs.py)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def run_sync(out: Path, db: Path, kill_at: int | None = None) -> dict[str, object]:
    """One sync process: wall, CPU (and of it the writing process's own), peak RSS, the time of its
    first progress line (first batch stored) and of its last (every block stored; the refresh follows)."""
    cmd = [sys.executable, "-m", "minerwatch", "sync", "--blocks-dir", str(out / "blocks"),
           "--network", "rehearsal", "--db", str(db)]
    load0, t0 = _load(), time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    first_s, stored_s, killed, last = None, None, False, ""
    assert proc.stderr is not None
    for line in proc.stderr:
        now = time.perf_counter() - t0
        last = line.strip() or last
        print(f"  [{now:8.1f} s] {line.rstrip()}", flush=True)
        if line.startswith("height ") and first_s is None:
            first_s = now
        if line.startswith("height "):
            stored_s = now
        if kill_at is not None and line.startswith("height "):
            height = int(line.split()[1].split("/")[0].replace(",", ""))
            if height >= kill_at:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
    # Wait for the exit without reaping: the zombie's /proc entry still holds its own final CPU.
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    own_s = own_cpu_s(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code and not killed:
        raise SystemExit(f"sync failed with exit status {code}: {last}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "writer_cpu_s": own_s,
            "workers_cpu_s": None if own_s is None else round(cpu - own_s, 2), "stored_s": stored_s,
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "first_batch_s": first_s, "killed": killed,
            "exit": code, "load_start": load0, "load_end": _load(), "last_line": last}


def cmd_full(args: argparse.Namespace) -> dict[str, object]:
    runs = [run_sync(args.out, args.db, args.kill_at)]
    if args.kill_at is not None:
        runs.append(run_sync(args.out, args.db))
    size = sum(p.stat().st_size for p in (args.out / "blocks").glob("blk*.dat"))
    meta = json.loads((args.out / "rehearsal.json").read_text())
    wall = sum(r["wall_s"] for r in runs)
    return {"runs": runs, "wall_s": round(wall, 1), "blocks": meta["blocks_in_files"], "blk_bytes": size,
            "blocks_per_s": round(meta["blocks_in_files"] / wall, 1), "mb_per_s": round(size / 1e6 / wall, 2),
            "db_bytes": args.db.stat().st_size}


def cmd_tip(args: argparse.Namespace) -> dict[str, object]:
    runs = []
    while sorted((args.out / "tail").glob("*.blk")):
        height = subprocess.run([sys.executable, str(HERE / "rehearsal.py"), "--out", str(args.out), "--append"],
                                check=True, capture_output=True, text=True).stdout.strip()
        r = run_sync(args.out, args.db)
        r["height"] = int(height)
        runs.append(r)
    walls = sorted(r["wall_s"] for r in runs)
    return {"runs": runs, "median_s": walls[len(walls) // 2] if walls else None, "max_s": walls[-1] if walls else None}


def cmd_follow(args: argparse.Namespace) -> dict[str, object]:
    """In one process, as `sync --follow` does: open the database (the restart's in-process part),
    take each held-back block (parse, ingest, every refresher), then a 6-block reorg (rollback
    through the undo records, the same blocks again, every refresher). On a copy of --db."""
    import shutil

    from minerwatch.chain.block import parse_block
    from minerwatch.networks import get_network
    from minerwatch.store import connect
    from minerwatch.sync import Syncer

    work = args.db.with_name(args.db.stem + "-follow.duckdb")
    shutil.copy(args.db, work)
    raws = [(int(p.stem), p.read_bytes()) for p in sorted((args.out / "tail").glob("*.blk"))]
    net = get_network("rehearsal")
    t = time.perf_counter()
    con = connect(work)
    syncer = Syncer(con, net)
    open_s = time.perf_counter() - t
    tracked = {"members": len(syncer.ingest.tracker.members), "unspent": len(syncer.ingest.tracker.utxos)}
    blocks = []
    for height, raw in raws:
        t0 = time.perf_counter()
        block = parse_block(raw, source=f"block {height}")
        t1 = time.perf_counter()
        syncer.ingest_stream(iter([(height, block)]))
        t2 = time.perf_counter()
        syncer.refresh_metrics()
        t3 = time.perf_counter()
        blocks.append({"height": height, "total_s": round(t3 - t0, 3), "parse_s": round(t1 - t0, 3),
                       "ingest_s": round(t2 - t1, 3), "refresh_s": round(t3 - t2, 3)})
        print(blocks[-1], flush=True)
    depth = min(6, len(raws))
    tip = syncer.ingest.tip.height
    t0 = time.perf_counter()
    syncer.rollback_to(tip - depth)
    t1 = time.perf_counter()
    syncer.ingest_stream(iter([(h, parse_block(raw, source=f"block {h}")) for h, raw in raws[-depth:]]))
    syncer.refresh_metrics()
    t2 = time.perf_counter()
    reorg = {"depth": depth, "rollback_s": round(t1 - t0, 3), "resync_s": round(t2 - t1, 3),
             "total_s": round(t2 - t0, 3), "path": syncer.ingest.last_rollback}
    print(reorg, flush=True)
    con.close()
    work.unlink()
    totals = sorted(b["total_s"] for b in blocks)
    return {"open_s": round(open_s, 2), "tracked": tracked, "blocks": blocks,
            "median_s": totals[len(totals) // 2] if totals else None, "max_s": totals[-1] if totals else None,
            "reorg": reorg}


def cmd_follow_undo(args: argparse.Namespace) -> dict[str, object]:
    """The follow step with the node's undo files, on a copy of --db synced to the tip: open (the
    restart's in-process part: no unspent outputs read), a 6-block reorg (rollback through the undo
    records), then the same 6 blocks taken one at a time as a follower takes them — each read from
    the blk file with its undo record (a parser that keeps the directory's scan, as a follower
    does), ingested, and every refresher run. Wall and CPU per block."""
    import shutil

    from minerwatch.chain.blkfiles import best_chain, iter_parsed
    from minerwatch.chain.undo import contested_parents, scan_undo
    from minerwatch.networks import get_network
    from minerwatch.store import connect
    from minerwatch.store import scancache
    from minerwatch.sync import Syncer

    work = args.db.with_name(args.db.stem + "-follow.duckdb")
    shutil.copy(args.db, work)
    net = get_network("rehearsal")
    blocks_dir = args.out / "blocks"
    t, c = time.perf_counter(), time.process_time()
    con = connect(work)
    syncer = Syncer(con, net)
    opened = {"wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(time.process_time() - c, 2),
              "members": len(syncer.ingest.tracker.members),
              "unspent_held": None if syncer.ingest.tracker.utxos is None else len(syncer.ingest.tracker.utxos)}
    print("open", opened, flush=True)
    index = scancache.scan(blocks_dir, net, None)
    chain = best_chain(index, net)
    undo, contested = scan_undo(blocks_dir, net), contested_parents(index)
    tip = syncer.ingest.tip.height
    depth = 6
    t0, c0 = time.perf_counter(), time.process_time()
    syncer.rollback_to(tip - depth)
    syncer.refresh_metrics()
    reorg = {"depth": depth, "rollback_s": round(time.perf_counter() - t0, 3),
             "rollback_cpu_s": round(time.process_time() - c0, 3), "path": syncer.ingest.last_rollback}
    print("reorg", reorg, flush=True)
    blocks = []
    for height in range(tip - depth + 1, tip + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        stream = [(h, b) for h, _, b in iter_parsed(blocks_dir, net, start_height=height, stop_height=height,
                                                    chain=chain, undo=undo, contested=contested)]
        assert stream[0][1].spent is not None, f"no undo record for block {height}"
        t1 = time.perf_counter()
        syncer.ingest_stream(iter(stream))
        t2 = time.perf_counter()
        syncer.refresh_metrics()
        t3 = time.perf_counter()
        blocks.append({"height": height, "total_s": round(t3 - t0, 3), "cpu_s": round(time.process_time() - c0, 3),
                       "read_s": round(t1 - t0, 3), "ingest_s": round(t2 - t1, 3), "refresh_s": round(t3 - t2, 3)})
        print(blocks[-1], flush=True)
    still_lean = syncer.ingest.tracker.utxos is None
    con.close()
    work.unlink()
    totals = sorted(b["total_s"] for b in blocks)
    return {"open": opened, "reorg": reorg, "blocks": blocks, "median_s": totals[len(totals) // 2],
            "max_s": totals[-1], "no_outputs_held": still_lean, "load": _load()}


def cmd_refresh(args: argparse.Namespace) -> dict[str, object]:
    """The final metric refresh of a whole sync on a copy of --db: every derived table from height 0
    after the tracker is rebuilt, with DuckDB's budget from MINERWATCH_DB_MEMORY; wall, CPU and the
    peak RSS (sampled every 0.2 s)."""
    import shutil
    import threading

    from minerwatch.networks import get_network
    from minerwatch.store import connect, lower_metrics_mark, transaction
    from minerwatch.sync import Syncer

    work = args.db.with_name(args.db.stem + "-refresh.duckdb")
    shutil.copy(args.db, work)
    peak = [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    con = connect(work)
    with transaction(con):
        lower_metrics_mark(con, -1)
        con.execute("DELETE FROM meta WHERE key = 'miner_flows_through_height'")
    t0, c0 = time.perf_counter(), time.process_time()
    syncer = Syncer(con, get_network("rehearsal"))
    t1, after_open = time.perf_counter(), peak[0]
    syncer.refresh_metrics()
    t2 = time.perf_counter()
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.close()
    work.unlink()
    return {"memory_limit": limit, "open_and_tracker_s": round(t1 - t0, 1), "rss_after_open_gib": round(after_open / 2**30, 2),
            "refresh_s": round(t2 - t1, 1), "cpu_s": round(time.process_time() - c0, 1),
            "peak_rss_gib": round(peak[0] / 2**30, 2), "load": _load()}


_ERAS = (0, 110_000, 210_000, 300_000, 420_000, 500_000, 630_000, 700_000, 840_000, 925_000)


def cmd_eras(args: argparse.Namespace) -> dict[str, object]:
    """Per era: wall time from the progress lines of a `full` run's output (--log), cohort outputs
    and spends from the database, and the wall time per cohort row."""
    import re

    import duckdb

    points = [(float(m.group(1)), int(m.group(2).replace(",", ""))) for line in args.log.read_text().splitlines()
              if (m := re.match(r"\s*\[\s*([\d.]+) s\] height ([\d,]+)/", line))]

    def at(height: int) -> float:
        return next((t for t, h in points if h >= height), points[-1][0])

    con = duckdb.connect(str(args.db), read_only=True)
    rows = []
    for lo, hi in zip(_ERAS, _ERAS[1:]):
        outputs, spends, mb = con.execute(
            "SELECT (SELECT count(*) FROM miner_outputs WHERE height >= $1 AND height < $2), "
            "(SELECT count(*) FROM miner_spends WHERE height >= $1 AND height < $2), "
            "(SELECT coalesce(sum(size_bytes), 0) / 1e6 FROM blocks WHERE height >= $1 AND height < $2)",
            [lo, hi]).fetchone()
        wall = at(hi - 1) - at(lo)
        rows.append({"heights": f"{lo:,}-{hi - 1:,}", "wall_s": round(wall), "blk_mb": round(mb), "outputs": outputs,
                     "spends": spends, "us_per_cohort_row": round(wall / max(outputs + spends, 1) * 1e6, 1)})
        print(rows[-1], flush=True)
    con.close()
    return {"eras": rows}


_PROBE = """
import sys, time
t0 = time.perf_counter()
from fastapi.testclient import TestClient
from minerwatch.web.app import create_app
c = TestClient(create_app(__import__('pathlib').Path(sys.argv[1])))
t1 = time.perf_counter()
r = c.get(sys.argv[2])
t2 = time.perf_counter()
print(r.status_code, round((t2 - t1) * 1000, 1), len(r.content))
"""


_WARM_PROBE = """
import json, sys, time
from fastapi.testclient import TestClient
from minerwatch.web.app import create_app
c = TestClient(create_app(__import__('pathlib').Path(sys.argv[1])))
c.get('/api/v1/series/difficulty?interval=all')
out = {}
for url in sys.argv[2:]:
    t = time.perf_counter()
    r = c.get(url)
    out[url] = {"status": r.status_code, "ms": round((time.perf_counter() - t) * 1000, 1)}
print(json.dumps(out))
"""


def cmd_api(args: argparse.Namespace) -> dict[str, object]:
    if args.warm:
        # One process that has answered another series first (the server's state after its
        # first request): each cohort series uncached, once.
        urls = [f"/api/v1/series/{name}?interval=all&cohort={cohort}"
                for cohort in ("0hop", "1hop", f"pool:{args.pool}") for name in ("miner_reserve_btc", "miner_outflow_btc")]
        line = subprocess.run([sys.executable, "-c", _WARM_PROBE, str(args.db), *urls], check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]
        return json.loads(line)
    out = {}
    for cohort in ("0hop", "1hop", f"pool:{args.pool}"):
        for name in ("miner_reserve_btc", "miner_outflow_btc"):
            url = f"/api/v1/series/{name}?interval=all&cohort={cohort}"
            line = subprocess.run([sys.executable, "-c", _PROBE, str(args.db), url], check=True,
                                  capture_output=True, text=True).stdout.split()
            out[url] = {"status": int(line[0]), "ms": float(line[1]), "bytes": int(line[2])}
            print(url, out[url], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("full", "follow", "follow-undo", "tip", "api", "eras", "refresh"))
    ap.add_argument("out", type=Path, nargs="?", help="the rehearsal directory (blocks/, tail/, rehearsal.json)")
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--kill-at", type=int)
    ap.add_argument("--log", type=Path, help="eras: the output of a `full` run")
    ap.add_argument("--warm", action="store_true", help="api: in one process that has answered another series first")
    ap.add_argument("--pool", default="foundryusa")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    c0 = os.times()
    result = {"full": cmd_full, "follow": cmd_follow, "follow-undo": cmd_follow_undo, "tip": cmd_tip,
              "api": cmd_api, "eras": cmd_eras, "refresh": cmd_refresh}[args.step](args)
    c1 = os.times()
    result["children_cpu_s"] = round(c1.children_user + c1.children_system - c0.children_user - c0.children_system, 1)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
