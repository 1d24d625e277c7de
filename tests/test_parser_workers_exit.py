"""A sync killed without clean-up (SIGKILL, or SIGTERM's default) leaves no parser process behind.

Each worker holds both ends of its task queue, so a worker of a dead sync would wait for work
forever and keep the fork server alive with it; the workers watch the sync's process instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minerwatch.chain.builder import ChainBuilder, h20, p2wpkh
from minerwatch.chain.blkwrite import write_blk_files
from minerwatch.networks import get_network
from procs import descendants

REGTEST = get_network("regtest")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_no_parser_process_outlives_a_killed_sync(tmp_path: Path, sig: int) -> None:
    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    for h in range(400):
        b.mine(tag="x", payouts=[(p2wpkh(h20(f"m{h}")), None)])
    blocks = tmp_path / "blocks"
    write_blk_files(blocks, REGTEST, b.blocks)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A tiny batch and a slow stream keep the sync busy long enough to see its workers.
    proc = subprocess.Popen([sys.executable, "-m", "minerwatch", "sync", "--blocks-dir", str(blocks), "--network",
                             "regtest", "--db", str(tmp_path / "db.duckdb"), "--workers", "2", "--batch-blocks", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 3 and proc.poll() is None:   # fork server + 2 workers
        workers = descendants(proc.pid)
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the sync ended before its workers could be seen (machine too fast for this chain)")
    assert len(workers) >= 3, workers
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)]
