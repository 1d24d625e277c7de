"""DuckDB's memory budget: a fixed default (not 80 % of the machine, as DuckDB's own default),
MINERWATCH_DB_MEMORY to change it, and a clear error for a value that is not a size."""

from __future__ import annotations

from pathlib import Path

import pytest

from minerwatch.errors import StoreError
from minerwatch.store import connect


def _limit(db: Path) -> str:
    con = connect(db)
    try:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


def test_default_budget_is_3_gb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINERWATCH_DB_MEMORY", raising=False)
    # 3 GB = 3e9 bytes = 2.79 GiB, which DuckDB prints rounded down to one decimal.
    assert _limit(tmp_path / "a.duckdb") == "2.7 GiB"


def test_the_budget_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINERWATCH_DB_MEMORY", "512MiB")
    assert _limit(tmp_path / "a.duckdb") == "512.0 MiB"


@pytest.mark.parametrize("value", ["lots", "3", "3 GB; DROP TABLE blocks", "-1GB"])
def test_a_budget_that_is_not_a_size_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MINERWATCH_DB_MEMORY", value)
    with pytest.raises(StoreError) as e:
        connect(tmp_path / "a.duckdb")
    assert "MINERWATCH_DB_MEMORY" in e.value.message and "3GB" in e.value.hint
