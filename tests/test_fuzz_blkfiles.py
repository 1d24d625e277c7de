"""Fuzzing the blk reader (scan, best_chain, iter_blocks) with damaged copies of real blocks
directories: each case either reads a chain or fails with a MinerwatchError; none hangs or runs out
of its memory limit (tests/fuzz_run.py). Which damage is an error and which is recovered from is
the reader's choice and not asserted here.
"""

from __future__ import annotations

import os
from pathlib import Path

import fuzz_run
from fuzz_blkdirs import kept_dirs

SEED = int(os.environ.get("MINERWATCH_FUZZ_SEED", "20240420"))
SCALE = float(os.environ.get("MINERWATCH_FUZZ_SCALE", "1"))
# ~20 ms a case (write ~200 kB, scan, choose, parse up to 439 blocks): 600 cases take ~12 s.
CASES = int(600 * SCALE)


def test_damaged_blocks_dirs_read_or_fail_with_the_projects_error(tmp_path: Path) -> None:
    summary = fuzz_run.run("blk-mutations", SEED, CASES, tmp_path)
    assert summary["cases"] == CASES and summary.get("failed", 0) == 0
    assert summary["read"] > 0 and summary["ParseError"] > 0 and summary["blocks read"] > 0


def test_kept_blocks_dirs_read_or_fail_with_the_projects_error(tmp_path: Path) -> None:
    kept = kept_dirs()
    assert kept, "tests/data/fuzz/blkdirs holds the blocks directories that once broke the reader"
    summary = fuzz_run.run("blk-kept", SEED, 0, tmp_path)
    assert summary["cases"] == len(kept) and summary.get("failed", 0) == 0
