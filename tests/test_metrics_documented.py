"""Every registered metric has a section in docs/metrics.md (a heading that names it)."""

from __future__ import annotations

import re
from pathlib import Path

from minerwatch.metrics import registry

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def documented_names() -> set[str]:
    """Metric names that appear in a Markdown heading of docs/metrics.md."""
    names: set[str] = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("#"):
            names.update(re.findall(r"[a-z][a-z0-9_]*", line))
    return names


def test_every_registered_metric_has_a_section() -> None:
    missing = sorted(set(registry.load_all()) - documented_names())
    assert not missing, f"add a section (formula, unit, window, whose definition) to docs/metrics.md for: {missing}"


def test_the_check_notices_a_missing_name() -> None:
    assert "hashrate_ehs" in documented_names()
    assert "no_such_metric_name" not in documented_names()
