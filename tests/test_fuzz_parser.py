"""Fuzzing the block parser with mutated real blocks: the only failure allowed is a ParseError that
names the source and a byte inside it; no case hangs or allocates more than its size warrants.

Deterministic: the same seed gives the same cases on every run (tests/fuzz_cases.py). For a longer
run, MINERWATCH_FUZZ_SCALE multiplies the number of cases and MINERWATCH_FUZZ_SEED picks other
ones; scripts/fuzz_atheris.py runs the coverage-guided fuzzer (see docs/testing.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import fuzz_run
from fuzz_cases import KEPT, MUTATIONS

SEED = int(os.environ.get("MINERWATCH_FUZZ_SEED", "20240420"))
SCALE = float(os.environ.get("MINERWATCH_FUZZ_SCALE", "1"))
# ~0.3 ms a case on seeds of ≤ 16 KiB: 20,000 cases take ~6 s on one core.
MUTATED_CASES = int(20_000 * SCALE)


def test_mutated_real_blocks_fail_only_with_parse_errors(tmp_path: Path) -> None:
    summary = fuzz_run.run("parser-mutations", SEED, MUTATED_CASES, tmp_path)
    assert summary["cases"] == MUTATED_CASES and summary.get("failed", 0) == 0
    # Both outcomes occur, so the mutations reach past the first checks; and peaks were measured.
    assert summary["parsed"] > MUTATED_CASES // 20 and summary["ParseError"] > MUTATED_CASES // 2
    assert summary["traced"] >= MUTATED_CASES // fuzz_run.TRACE_EVERY
    assert len(MUTATIONS) == 9


def test_every_truncation_at_a_structure_boundary_is_a_parse_error(tmp_path: Path) -> None:
    # A strict prefix of a block can never parse: its counts promise more than is there.
    summary = fuzz_run.run("parser-truncations", SEED, 0, tmp_path)
    assert summary["cases"] > 10_000 and summary["ParseError"] == summary["cases"]


def test_full_size_real_blocks_with_a_maximal_length_or_cut_short(tmp_path: Path) -> None:
    summary = fuzz_run.run("parser-full-size", SEED, 0, tmp_path)
    # 25 blocks above 16 KiB, two cases each; neither can parse.
    assert summary["cases"] == 50 and summary["ParseError"] == 50


def test_kept_crashers_are_parse_errors(tmp_path: Path) -> None:
    kept = sorted((KEPT / "parser").glob("*.bin"))
    assert kept, "tests/data/fuzz/parser holds the crashers found so far"
    summary = fuzz_run.run("parser-kept", SEED, 0, tmp_path)
    assert summary["cases"] == len(kept) and summary["ParseError"] == len(kept)


@pytest.mark.parametrize(("mode", "expected"), [
    ("selftest-leak", "OverflowError: Python int too large"),
    pytest.param("selftest-memory", "MemoryError", marks=pytest.mark.skipif(
        sys.platform != "linux", reason="the child's memory cap is RLIMIT_AS, which only Linux enforces")),
])
def test_the_harness_reports_a_foreign_exception_and_a_runaway_allocation(tmp_path: Path, mode: str,
                                                                         expected: str) -> None:
    with pytest.raises(AssertionError, match="1 case\\(s\\) failed") as e:
        fuzz_run.run(mode, SEED, 3, tmp_path)
    assert expected in str(e.value) and '"case": 2' in str(e.value)


def test_the_harness_stops_a_hanging_case(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="case 2 ran over 2 s \\(a hang\\)"):
        fuzz_run.run("selftest-hang", SEED, 3, tmp_path, case_timeout_s=2)
