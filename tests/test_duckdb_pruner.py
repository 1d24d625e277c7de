"""DuckDB 2.0.1 answers `ORDER BY height DESC LIMIT 1` wrongly after a DELETE and an INSERT of the
same keys (its row-group pruner trusts statistics that still count the deleted rows). A reorg does
exactly that, and the stored tip is read that way, so a resume once failed with `Duplicate key
"height: 300"`. minerwatch.store.connect switches the pruner off; these tests pin both the bug and
the workaround (docs/architecture.md, "A DuckDB wrong result")."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from minerwatch.store import connect

TOP = "SELECT height FROM t ORDER BY height DESC LIMIT 1"


def _reorg_shaped(con: duckdb.DuckDBPyConnection) -> None:
    """Heights 0–438 are on disk (a checkpoint wrote them); a fork at 299 replaces 300–438 by 300–306."""
    con.execute("DELETE FROM t WHERE height > 299")
    con.execute("INSERT INTO t SELECT range FROM range(300, 307)")


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (height INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO t SELECT range FROM range(439)")
    con.close()
    return path


def test_minerwatch_connections_give_the_true_top_row(db: Path) -> None:
    con = connect(db)
    _reorg_shaped(con)
    # The highest height is 306, by construction: 0–299 kept, 300–306 inserted.
    assert con.execute(TOP).fetchone() == (306,) == con.execute("SELECT max(height) FROM t").fetchone()
    assert con.cursor().execute(TOP).fetchone() == (306,)   # serve's readers use cursors
    con.close()
    assert connect(db, read_only=True).execute(TOP).fetchone() == (306,)


def test_plain_duckdb_still_has_the_bug(db: Path) -> None:
    """When this starts failing, DuckDB has fixed the pruner: the workaround in
    minerwatch.store._avoid_wrong_results can go."""
    con = duckdb.connect(str(db))
    _reorg_shaped(con)
    if con.execute(TOP).fetchone() == (306,):
        pytest.skip(f"DuckDB {duckdb.__version__} answers correctly: the workaround is no longer needed")
    assert con.execute(TOP).fetchone() == (299,)
