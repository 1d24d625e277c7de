"""A 6-block reorg and a restart on the demo database and on its miner tables grown ×30.

For each database (the demo's, and the same with every cohort row copied ×30 under other ids:
benchmarks/grow_history.py) and each code version, a fresh copy of the file is opened in a child
process that times:

- **restart**: opening the database (`store.connect`) and building the in-memory state
  (`Syncer` → `Ingest`: tip, recent times, the cohort tracker, and with undo records the records of
  the last blocks);
- **rollback**: `Syncer.rollback_to(tip − depth)`, the one transaction that deletes the abandoned
  blocks' rows and lowers the metrics mark, plus bringing the in-memory state back to the fork;
- **re-sync**: storing the new branch (`Syncer.ingest_stream`, one batch) and the metric refresh
  from the fork (`Syncer.refresh_metrics`), the steps a following sync takes after a reorg.

The reorg takes back the 6 blocks with the most cohort rows (outputs created and spent, spend
outputs, members joined) among the last 2,000 of the demo: both databases are first cut back to
the top of that stretch (height 67,968 of 69,709 with the default demo; a sync that stopped there).
The new branch is the abandoned blocks themselves, read back from the demo's blk files: the same
rows are deleted and written again, which is a reorg's work for a branch of the same content.
`--rev REV …` runs the same child on the code of each commit (its `src/`, from `git archive`; `.` is
the working tree), so versions are timed on the same files in one run, each against the first.

    python benchmarks/bench_reorg.py --rev BEFORE AFTER … [--work DIR] [--factor 30] [--depth 6] [--passes 3]

The demo database is built in --work when missing (`minerwatch demo --no-serve`, ~1 min) and grown
there (~2 min); pass the same --work again to reuse both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def child(db: Path, blocks_dir: Path, depth: int) -> dict:
    """Time restart, rollback and re-sync on `db` (modified in place); the figures as a dict."""
    import resource

    import minerwatch
    from minerwatch.chain.blkfiles import iter_blocks
    from minerwatch.networks import get_network
    from minerwatch.store import connect
    from minerwatch.sync import Syncer

    simnet = get_network("simnet")
    t0 = time.perf_counter()
    con = connect(db)
    t1 = time.perf_counter()
    syncer = Syncer(con, simnet)
    t2 = time.perf_counter()
    ingest = syncer.ingest
    tip = ingest.tip.height
    fork = tip - depth
    branch = [(h, b) for h, _, b in iter_blocks(blocks_dir, simnet, start_height=fork + 1, stop_height=tip)]
    tracked = len(ingest.tracker.members), len(ingest.tracker.utxos)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    undone = con.execute(
        "SELECT (SELECT count(*) FROM miner_outputs WHERE height > $1) + "
        "(SELECT count(*) FROM miner_spends WHERE height > $1) + "
        "(SELECT count(*) FROM miner_spend_outputs WHERE height > $1) + "
        "(SELECT count(*) FROM miner_scripts WHERE zero_hop_height > $1 OR one_hop_height > $1)", [fork]).fetchone()[0]
    t3 = time.perf_counter()
    syncer.rollback_to(fork)
    t4 = time.perf_counter()
    syncer.ingest_stream(iter(branch))
    t5 = time.perf_counter()
    syncer.refresh_metrics()
    t6 = time.perf_counter()
    assert ingest.tip.height == tip
    # Untimed: the state the reorg left must be the one a rebuild from the database gives.
    fresh = Syncer(con, simnet).ingest.tracker
    t = ingest.tracker
    same = t.members == fresh.members and t.payloads == fresh.payloads and t.utxos == fresh.utxos
    con.close()
    return {
        "code": str(Path(minerwatch.__file__).parent),
        "members": tracked[0], "unspent": tracked[1], "rss_mb": rss_mb, "fork": fork, "rows": undone,
        "open_s": t1 - t0, "state_s": t2 - t1, "restart_s": t2 - t0,
        "rollback_s": t4 - t3, "rollback_path": getattr(ingest, "last_rollback", "reload"),
        "state_equals_rebuild": same, "ingest_s": t5 - t4, "refresh_s": t6 - t5, "resync_s": t6 - t4, "reorg_s": t6 - t3,
    }


def _run(args: list[str], src: Path | None, capture: bool = True) -> str:
    """Run this script (or a command) with the minerwatch of `src` (None: the installed one)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run(args, env=env, check=True, capture_output=capture, text=True)
    return out.stdout if capture else ""


# The heights with the most cohort rows: the window of `depth` blocks whose top this returns.
_BUSIEST = """
WITH per AS (
    SELECT height AS h, count(*) AS n FROM miner_outputs WHERE height > $lo GROUP BY 1
    UNION ALL SELECT height, count(*) FROM miner_spends WHERE height > $lo GROUP BY 1
    UNION ALL SELECT height, count(*) FROM miner_spend_outputs WHERE height > $lo GROUP BY 1
    UNION ALL SELECT zero_hop_height, count(*) FROM miner_scripts WHERE zero_hop_height > $lo GROUP BY 1
    UNION ALL SELECT one_hop_height, count(*) FROM miner_scripts WHERE one_hop_height > $lo GROUP BY 1),
by_block AS (SELECT b.height, coalesce(sum(n), 0) AS n FROM blocks b LEFT JOIN per ON per.h = b.height
             WHERE b.height > $lo GROUP BY 1),
windows AS (SELECT height, sum(n) OVER (ORDER BY height ROWS BETWEEN $depth - 1 PRECEDING AND CURRENT ROW) AS s
            FROM by_block)
SELECT height FROM windows WHERE height >= $lo + $depth ORDER BY s DESC, height DESC LIMIT 1
"""


def cut_back(db: Path, depth: int) -> int:
    """Roll `db` back to the top of its busiest `depth` blocks among the last 2,000; that height."""
    from minerwatch.networks import get_network
    from minerwatch.store import connect
    from minerwatch.sync import Syncer

    con = connect(db)
    tip = con.execute("SELECT max(height) FROM blocks").fetchone()[0]
    top = con.execute(_BUSIEST, {"lo": tip - 2000, "depth": depth}).fetchone()[0]
    syncer = Syncer(con, get_network("simnet"))
    syncer.rollback_to(top)
    con.execute("CHECKPOINT")
    con.close()
    return top


def _prepare(work: Path, factor: int, depth: int, src: Path | None) -> tuple[Path, Path, Path]:
    """(demo database, grown database, demo blocks dir), each cut back to its busiest stretch,
    built in `work` with the minerwatch of `src` when missing."""
    demo = work / "demo.duckdb"
    blocks_dir = work / "demo.duckdb.files" / "blocks"
    if not demo.exists() or not blocks_dir.exists():
        print("building the demo database (minerwatch demo --no-serve) …", flush=True)
        _run([sys.executable, "-m", "minerwatch", "demo", "--no-serve", "--db", str(demo), "--workers", "1"], src,
             capture=False)
    grown = work / f"demo-x{factor}.duckdb"
    if not grown.exists():
        print(f"growing its miner tables ×{factor} (benchmarks/grow_history.py) …", flush=True)
        partial = work / f"demo-x{factor}.partial.duckdb"
        shutil.copy(demo, partial)
        _run([sys.executable, str(HERE / "grow_history.py"), str(partial), "--factor", str(factor)], src, capture=False)
        partial.rename(grown)
    cut = []
    for db in (demo, grown):
        target = db.with_name(f"{db.stem}-reorg{depth}.duckdb")
        if not target.exists():
            partial = db.with_name(f"{db.stem}-reorg{depth}.partial.duckdb")
            shutil.copy(db, partial)
            top = _run([sys.executable, __file__, "--cut-back", str(partial), "--depth", str(depth)], src).strip()
            print(f"{db.name} cut back to height {top} (the busiest {depth} blocks end there)", flush=True)
            partial.rename(target)
        cut.append(target)
    return cut[0], cut[1], blocks_dir


def bring_up_to_date(db: Path) -> None:
    """Open `db` as a sync does (migrations) and refresh what a migration left to recompute."""
    from minerwatch.networks import get_network
    from minerwatch.store import connect
    from minerwatch.sync import Syncer

    con = connect(db)
    Syncer(con, get_network("simnet")).refresh_metrics()
    con.execute("CHECKPOINT")
    con.close()


def _opened_by(db: Path, version: str, src: Path | None) -> Path:
    """A copy of `db` opened and brought up to date once by that code, so that its timed runs
    neither migrate nor recompute what a migration invalidated."""
    target = db.with_name(f"{db.stem}-{version}.duckdb")
    if not target.exists() or src is None:   # the working tree may have changed since
        shutil.copy(db, target)
        _run([sys.executable, __file__, "--bring-up-to-date", str(target)], src)
    return target


def _short(rev: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], check=True, capture_output=True,
                          text=True).stdout.strip()


def _source_of(rev: str, work: Path) -> Path:
    """The `src/` of commit `rev`, extracted once into `work`."""
    target = work / f"src-{_short(rev)}"
    if not target.exists():
        target.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, help="keep the demo and grown databases here (default: a temp dir)")
    ap.add_argument("--factor", type=int, default=30)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--passes", type=int, default=1, help="fresh copies per setting; each figure's fastest is kept")
    ap.add_argument("--rev", nargs="+", default=["."], help="commits to time, the first the baseline ('.': the "
                                                             "working tree; default)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cut-back", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--bring-up-to-date", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--blocks-dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.blocks_dir, args.depth)))
        return
    if args.cut_back:
        print(cut_back(args.cut_back, args.depth))
        return
    if args.bring_up_to_date:
        bring_up_to_date(args.bring_up_to_date)
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        versions: list[tuple[str, Path | None]] = [
            ("worktree", None) if rev == "." else (_short(rev), _source_of(rev, work)) for rev in args.rev]
        # The databases are made by the oldest code, which every later one can open (and migrate).
        demo, grown, blocks_dir = _prepare(work, args.factor, args.depth, versions[0][1])
        results: dict[tuple[str, str], dict] = {}
        for label, db in (("demo", demo), (f"x{args.factor}", grown)):
            for version, src in versions:
                best: dict | None = None
                opened = _opened_by(db, version, src)
                for _ in range(args.passes):
                    scratch = work / "scratch.duckdb"
                    shutil.copy(opened, scratch)
                    got = json.loads(_run([sys.executable, __file__, "--child", str(scratch), "--blocks-dir",
                                           str(blocks_dir), "--depth", str(args.depth)], src).splitlines()[-1])
                    scratch.unlink()
                    Path(str(scratch) + ".wal").unlink(missing_ok=True)
                    # Each figure's fastest pass (other jobs only ever slow a pass down); every pass checked.
                    best = got if best is None else {
                        k: min(v, best[k]) if isinstance(v, float) else (v and best[k]) if isinstance(v, bool) else v
                        for k, v in got.items()}
                results[(label, version)] = best
                print(f"{label:>5} {version:>8}: fork {best['fork']:,}, {best['rows']:,} cohort rows undone; "
                      f"restart {best['restart_s']:6.2f} s (open {best['open_s']:.2f}, "
                      f"state {best['state_s']:.2f}; {best['members']:,} members, {best['unspent']:,} unspent; "
                      f"peak RSS {best['rss_mb']:.0f} MB)  "
                      f"rollback {best['rollback_s']:6.2f} s ({best['rollback_path']})  re-sync "
                      f"{best['resync_s']:6.2f} s (ingest {best['ingest_s']:.2f}, refresh {best['refresh_s']:.2f})  "
                      f"reorg {best['reorg_s']:6.2f} s", flush=True)
                if not best["state_equals_rebuild"]:
                    raise SystemExit("the tracker after the reorg differs from a rebuild from the database")
        base = versions[0][0]
        for version, _ in versions[1:]:
            for label in ("demo", f"x{args.factor}"):
                b, a = results[(label, base)], results[(label, version)]
                print(f"{label:>5} {base} → {version}: rollback {b['rollback_s'] / a['rollback_s']:.1f}x faster  "
                      f"reorg {b['reorg_s'] / a['reorg_s']:.1f}x  restart {b['restart_s'] / a['restart_s']:.2f}x")
        for version, _ in versions:
            s, g = results[("demo", version)], results[(f"x{args.factor}", version)]
            print(f"{version:>8} x{args.factor}/demo: rollback {g['rollback_s'] / s['rollback_s']:.1f}x  "
                  f"re-sync {g['resync_s'] / s['resync_s']:.1f}x  restart {g['restart_s'] / s['restart_s']:.1f}x")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
