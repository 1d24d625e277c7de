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
    # so mempool.space's forecast spans the 503 blocks from 856,776: 479 × 600 = 287,400 s in this
    # epoch, and 24 × 600 = 14,400 s before the retarget rescaled by it (difficulty × 1.09 / 1.08,
    # from the compact bits to 1e-5) — counted as 504 blocks (the one being mined included):
    # 600 / ((287,400 + 14,400 × 1.09 / 1.08) / 504) − 1 = +0.15456 %.
    assert (adj["remainingBlocks"], adj["nextRetargetHeight"], adj["timeAvg"]) == (1537, 858_816, 600_000)
    assert adj["previousRetarget"] == pytest.approx((1.09 / 1.08 - 1) * 100, abs=1e-4)
    assert adj["difficultyChange"] == pytest.approx((600 / ((287_400 + 14_400 * 1.09 / 1.08) / 504) - 1) * 100,
                                                    abs=1e-5)
    assert adj["progressPercent"] == pytest.approx(479 / 2016 * 100, rel=1e-12)
    hr = got["hashrate"]
    assert hr["currentDifficulty"] == pytest.approx(TIP_DIFFICULTY, rel=1e-12)
    assert len(hr["hashrates"]) == 30
    # Core's getnetworkhashps(120) at the tip, as mempool.space reports it: the test chain's chainwork
    # grows by D0 × 2^32 a block (tests/web_support.py), 600 s apart → D0 × 2^32 / 600 H/s.
    assert math.isclose(hr["currentHashrate"], ws.D0 * 2**32 / 600, rel_tol=1e-9)
    # The retargets of the last 30 days (from height 852,960): 854,784 (epoch 424, × 1.08 / 1.07) and
    # 856,800 (× 1.09 / 1.08), the ratios rounded to 6 decimals as mempool.space's indexer does.
    assert [(d["height"], d["time"], d["adjustment"]) for d in hr["difficulty"]] == [
        (854_784, ws.T0_S + 14_784 * 600, 1.009346), (856_800, ws.T0_S + 16_800 * 600, 1.009259)]
