"""docs/cli.md is the CLI's --help, current: a new or changed option without regenerated docs fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "docs" / "cli.md").read_text() == gen.render(), \
        "run `python scripts/gen_cli_docs.py` and commit docs/cli.md"


def test_readme_names_every_network() -> None:
    """The README's sentence on --network names every network the option takes (simnet included)."""
    from minerwatch.networks import NETWORKS

    readme = (ROOT / "README.md").read_text()
    start = readme.index("`--network`")
    sentence = " ".join(readme[start:readme.index(")", readme.index("rehearsal", start)) + 1].split())
    assert all(name in sentence for name in NETWORKS), sentence
