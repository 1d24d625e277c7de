"""The official mempool.space client (@mempool/mempool.js, npm) reads a live minerwatch server.

Needs node and `npm ci --prefix tests/mempooljs` (scripts/test.sh runs it); skipped without them
unless MINERWATCH_REQUIRE_MEMPOOLJS=1.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import web_support as ws

HERE = Path(__file__).parent / "mempooljs"
TIP = 857_279                     # 120 days × 144 blocks from 840,000 (tests/web_support.py)
TIP_DIFFICULTY = ws.D0 * 1.09     # epoch 425 is 9 epochs after 840,000's epoch 416


def _node_ready() -> str | None:
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    if not (HERE / "node_modules" / "@mempool" / "mempool.js").is_dir():
        return "run `npm ci --prefix tests/mempooljs`"
    return None


def test_mempool_js_client_reads_minerwatch(tmp_path_factory: pytest.TempPathFactory) -> None:
    missing = _node_ready()
    if missing:
        if os.environ.get("MINERWATCH_REQUIRE_MEMPOOLJS") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    db = ws.shared_db(tmp_path_factory)
    with ws.LiveServer(db) as server:
        r = subprocess.run(["node", str(HERE / "check.js"), f"127.0.0.1:{server.port}"],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    # Block hashes of this chain are the height in 64 hex digits.
    assert got["tipHeight"] == TIP and got["tipHash"] == f"{TIP:064x}"
    assert got["hashAt"] == f"{TIP - 1:064x}"
    assert got["block"]["height"] == TIP and got["block"]["previousblockhash"] == f"{TIP - 1:064x}"
    # 857,279 % 10 = 9: the untagged miner, attributed to no pool.
    assert got["block"]["extras"]["pool"]["slug"] == "unknown"
    assert got["status"] == {"in_best_chain": True, "height": TIP - 1, "next_best": f"{TIP:064x}"}
    assert got["pageHeights"] == list(range(TIP - 100, TIP - 115, -1))
    adj = got["adjustment"]
    # 479 blocks into the epoch starting at 856,800, 600 s apart, 1,537 to go. Fewer than 503 are in,
    # so mempool.space's forecast spans the 503 blocks from 856,776 (24 before the retarget; the
    # chain's bits never change, so the previous retarget is 0 %): 24 × 600 + 479 × 600 = 301,800 s,
    # counted as 504 blocks (the one being mined included) → 600 / (301,800 / 504) − 1 = +0.1988 %.
    assert (adj["remainingBlocks"], adj["nextRetargetHeight"], adj["timeAvg"]) == (1537, 858_816, 600_000)
    assert adj["difficultyChange"] == pytest.approx((600 / (301_800 / 504) - 1) * 100, rel=1e-12)
    assert adj["adjustedTimeAvg"] == 600_000      # 301,800 s / 503 intervals
    assert adj["progressPercent"] == pytest.approx(479 / 2016 * 100, rel=1e-12)
    hr = got["hashrate"]
    assert hr["currentDifficulty"] == pytest.approx(TIP_DIFFICULTY, rel=1e-12)
    assert len(hr["hashrates"]) == 30
    assert math.isclose(hr["currentHashrate"], TIP_DIFFICULTY * 2**32 / 600, rel_tol=1e-9)
