"""What a restart of `minerwatch sync --blocks-dir` spends scanning the blocks directory, per code version.

Before it reads a block, a sync scans the directory twice (Syncer._sync_blocks_dir and
_undo_files): the blk files' record heads (store/scancache.scan, with DB.blkscan) and, when the
node keeps undo files, the rev files' (store/scancache.scan_undo with DB.revscan; before that
cache, undoscan.scan_undo read every record's head at every start). This times both, as the sync
calls them, in three cases:

- **first**: no caches yet (they are written);
- **warm**: nothing changed since the caches were written (a restart of an idle node's directory);
- **grown**: the node wrote to its newest blk and rev files since (a running node): before each such
  start the newest two files are replaced by copies of themselves (same bytes, a new time).

The blocks directory is only read: the scans run on a directory of links to its files, the caches
beside it, the newest files copied there. Each case --repeat times; the median by CPU is shown.
`--rev REV …` times the code of each commit (its `src/`, from `git archive`; `.` is the working tree).

    nice -n 10 python benchmarks/bench_restart_scan.py /work/rehearsal/r1000/blocks --network rehearsal --rev BEFORE .
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

REPO = Path(__file__).resolve().parent.parent


def child(blocks: Path, network: str, repeat: int, work: Path) -> dict[str, object]:
    """Every case on links to `blocks` in `work`, with the minerwatch on sys.path."""
    from minerwatch.chain.undoscan import list_rev_files, scan_undo
    from minerwatch.networks import get_network
    from minerwatch.store import scancache

    net = get_network(network)
    cached_undo = getattr(scancache, "scan_undo", None)
    links, db = work / "blocks", work / "db.duckdb"
    links.mkdir()
    for f in sorted(blocks.iterdir()):
        (links / f.name).symlink_to(f.resolve())
    newest = [max(links.glob(pattern)).name for pattern in ("blk*.dat", "rev*.dat") if any(links.glob(pattern))]
    has_rev = bool(list_rev_files(links))

    def grow() -> None:
        for name in newest:
            shutil.copyfile(blocks / name, links / (name + ".new"))
            os.replace(links / (name + ".new"), links / name)

    def undo() -> object:
        index = cached_undo(links, net, Path(f"{db}.revscan")) if cached_undo else scan_undo(links, net)
        # What a restart that takes a few new blocks reads of it (ChunkUndo.of: a window of the
        # newest file's records, WINDOW_SLACK_RECORDS = 256 past the expected ones): cached records
        # are made when read, so this is counted too.
        return index.records[max(index.records)][-300:]

    def start() -> dict[str, float]:
        out: dict[str, float] = {}
        for part, scan in (("blk", lambda: scancache.scan(links, net, Path(f"{db}.blkscan"))), ("undo", undo)):
            if part == "undo" and not has_rev:
                continue
            w, c = time.perf_counter(), time.process_time()
            scan()
            out[f"{part}_wall_s"] = time.perf_counter() - w
            out[f"{part}_cpu_s"] = time.process_time() - c
        out["wall_s"] = sum(v for k, v in out.items() if k.endswith("_wall_s"))
        out["cpu_s"] = sum(v for k, v in out.items() if k.endswith("_cpu_s"))
        return out

    cases: dict[str, list[dict[str, float]]] = {"first": [start()], "warm": [], "grown": []}
    for _ in range(repeat):
        cases["warm"].append(start())
    for _ in range(repeat):
        grow()
        cases["grown"].append(start())
    return {"undo_cache": cached_undo is not None,
            "cache_bytes": {p.name.split(".")[-1]: p.stat().st_size for p in work.glob("db.duckdb.*scan")},
            "cases": {name: sorted(runs, key=lambda r: r["cpu_s"])[len(runs) // 2] for name, runs in cases.items()},
            "runs": cases, "load": os.getloadavg()}


def _short(rev: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], check=True, capture_output=True,
                          text=True).stdout.strip()


def _source_of(rev: str, work: Path) -> Path:
    """The `src/` of commit `rev`, extracted into `work`."""
    target = work / f"src-{_short(rev)}"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("blocks_dir", type=Path, help="a node's blocks directory (only read)")
    ap.add_argument("--network", default="mainnet")
    ap.add_argument("--repeat", type=int, default=5, help="starts per case (default 5)")
    ap.add_argument("--rev", nargs="+", default=["."], help="commits to time ('.': the working tree; default)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.blocks_dir.resolve(), args.network, args.repeat, args.child)))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="mw-restart-scan-") as tmp:
        for rev in args.rev:
            label = "worktree" if rev == "." else _short(rev)
            env = dict(os.environ)
            if rev != ".":
                env["PYTHONPATH"] = str(_source_of(rev, Path(tmp)))
            work = Path(tmp) / f"run-{label}"
            work.mkdir()
            load = os.getloadavg()
            out = subprocess.run([sys.executable, __file__, str(args.blocks_dir), "--network", args.network,
                                  "--repeat", str(args.repeat), "--child", str(work)],
                                 env=env, check=True, capture_output=True, text=True).stdout
            got = json.loads(out.splitlines()[-1])
            got["load_before"] = load
            results[label] = got
            print(f"{label}: undo cache {'yes' if got['undo_cache'] else 'no'}; caches "
                  + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in got["cache_bytes"].items())
                  + f"; load {load[0]:.1f} → {got['load'][0]:.1f}", flush=True)
            for case, r in got["cases"].items():
                print(f"  {case:>5}: blk {r['blk_cpu_s']:5.2f} s CPU / {r['blk_wall_s']:5.2f} s wall, undo "
                      f"{r.get('undo_cpu_s', 0):5.2f} / {r.get('undo_wall_s', 0):5.2f}; both "
                      f"{r['cpu_s']:5.2f} s CPU / {r['wall_s']:5.2f} s wall", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
