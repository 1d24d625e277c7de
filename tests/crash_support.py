"""Crash a sync at every commit point, or kill it at random moments, and check each resume.

Shared by tests/test_crash_resume.py (blocks directories) and tests/test_crash_resume_rpc.py (a node).
`args_for(db)` gives the minerwatch arguments of the sync for a database path; `prepared`, when
given, is a database copied in before each run (the state the sync starts from); `expected` is the
dump (tests/db_dump.py) of the uninterrupted run.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from crash_driver import DIED
from db_dump import differences, dump
from minerwatch.cli import main

DRIVER = str(Path(__file__).parent / "crash_driver.py")
ArgsFor = Callable[[Path], list[str]]


def crash_at_every_commit(args_for: ArgsFor, prepared: Path | None, work: Path, expected: dict) -> int:
    """Crash at commit point 1, 2, … (ahead of and behind the COMMIT) until a run completes; resume
    each and compare with `expected`. Returns how many crashes were checked."""
    checked = 0
    for where in ("before", "after"):
        n = 1
        while True:
            db = work / f"crash-{where}-{n}.duckdb"
            if prepared is not None:
                shutil.copy(prepared, db)
            run = subprocess.run([sys.executable, DRIVER, str(n), where, "--", *args_for(db)],
                                 capture_output=True, text=True)
            if run.returncode != DIED:
                assert run.returncode == 0, run.stderr
                break  # the run had fewer than n commit points: every one has been crashed at
            assert main(args_for(db)) == 0, f"the resume after a crash {where} commit {n} failed"
            diff = differences(dump(db), expected)
            assert not diff, f"after a crash {where} commit point {n}: " + "; ".join(diff)
            db.unlink()
            checked += 1
            n += 1
    return checked


def kill_at_random_moments(args_for: ArgsFor, prepared: Path | None, work: Path, expected: dict, seed: int,
                           kills: int) -> int:
    """SIGKILL real runs at seeded random moments of their run time until `kills` of them landed while
    the process ran (at most 3 × `kills` tries; a run that ended first makes the next aim earlier, so
    a loaded machine does not make the test vacuous); resume each; compare. Returns the kills that landed."""
    timing = work / "timing.duckdb"
    if prepared is not None:
        shutil.copy(prepared, timing)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "minerwatch", *args_for(timing)], check=True, capture_output=True)
    full_s = time.monotonic() - started
    rng = random.Random(seed)
    landed = tries = 0
    latest = 1.0
    while landed < kills and tries < 3 * kills:
        db = work / f"kill-{tries}.duckdb"
        tries += 1
        if prepared is not None:
            shutil.copy(prepared, db)
        proc = subprocess.Popen([sys.executable, "-m", "minerwatch", *args_for(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        at = rng.uniform(0.2, latest) * full_s
        time.sleep(at)
        proc.send_signal(signal.SIGKILL)
        if proc.wait() == -signal.SIGKILL:
            landed += 1
        else:
            latest = max(0.3, latest * 0.7)
        assert main(args_for(db)) == 0
        diff = differences(dump(db), expected)
        assert not diff, f"after a kill at {at:.2f} s (seed {seed}, try {tries}): " + "; ".join(diff)
    return landed
