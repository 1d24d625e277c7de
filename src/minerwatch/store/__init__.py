"""The only owner of the DuckDB file: opening it, migrating its schema, and the chain's identity."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from minerwatch.errors import NetworkMismatchError, StoreError
from minerwatch.store.lock import lock_error

# Migrations are store/sql/NNN_name.sql, applied once each in number order. 001–099: chain tables;
# 100–199: network metrics; 200–299: miner flows; 300–399: economics and alerts.


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every shipped migration, in order."""
    found = []
    for entry in resources.files("minerwatch.store").joinpath("sql").iterdir():
        if entry.name.endswith(".sql") and entry.name[:3].isdigit():
            found.append((int(entry.name[:3]), entry.name, entry.read_text()))
    return sorted(found)


# Called with "before" just ahead of every COMMIT and "after" just behind it. Empty in normal use;
# the crash tests (tests/crash_driver.py) put a hook here that kills the process at the Nth commit
# point, so that every commit of a sync is shown to resume to the uninterrupted state.
COMMIT_HOOKS: list[Callable[[str], None]] = []


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One atomic write: everything inside commits together, or nothing does (ROLLBACK on any error)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        for hook in COMMIT_HOOKS:
            hook("before")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    for hook in COMMIT_HOOKS:
        hook("after")


def latest_schema_version() -> int:
    return migrations()[-1][0]


def ensure_folder(path: Path, what: str = "the database") -> None:
    """Create the folder that will hold `path`; StoreError saying why it cannot be made."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = "a file is in the way" if isinstance(e, (FileExistsError, NotADirectoryError)) else e.strerror
        raise StoreError(f"cannot create the folder of {what} {path}: {why}",
                         "pass --db with a path in a folder you can write to") from e


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if needed) the database at `path`."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"no database at {path}", "run `minerwatch sync` (or `minerwatch demo`) first, or pass --db")
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file", "pass --db with a file name, e.g. --db DIR/minerwatch.duckdb")
    if not read_only:
        ensure_folder(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as e:
        raise _open_error(path, e, read_only) from e
    _avoid_wrong_results(con)
    _bound_memory(con)
    if not read_only:
        migrate(con)
    else:
        current = schema_version(con)
        if current > latest_schema_version():
            raise StoreError(f"{path} has schema version {current}, newer than this minerwatch knows",
                             "upgrade minerwatch")
    return con


# DuckDB 2.0.1's row-group pruner answers `ORDER BY x DESC LIMIT 1` from a row group whose
# statistics still count deleted rows: after `DELETE … WHERE height > 299` and an INSERT of 300–306,
# `SELECT height FROM blocks ORDER BY height DESC LIMIT 1` gives 299 while max(height) is 306 (the
# minimal reproduction is in docs/architecture.md; tests/test_duckdb_pruner.py pins it). A reorg does
# exactly that DELETE and INSERT, and so does every derived-table refresh, so the optimizer is
# switched off for the whole database instance (cursors included), on every connection we open.
_WRONG_RESULT_OPTIMIZERS = ("row_group_pruner",)


def _avoid_wrong_results(con: duckdb.DuckDBPyConnection) -> None:
    known = {name for (name,) in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    off = [name for name in _WRONG_RESULT_OPTIMIZERS if name in known]
    if off:
        con.execute(f"SET GLOBAL disabled_optimizers = '{','.join(off)}'")  # fixed names, not input


# DuckDB takes up to 80 % of the machine's memory by default and keeps what it has read cached. A
# node box runs minerwatch beside the node: DuckDB gets a fixed budget instead and spills to its
# temporary directory past it. (The rehearsal chain's whole sync peaked at 9.3 GB of RSS without
# it, most of it in the final metric refresh: docs/benchmarks.md.) MINERWATCH_DB_MEMORY changes it.
DEFAULT_DB_MEMORY = "3GB"
_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def _bound_memory(con: duckdb.DuckDBPyConnection) -> None:
    limit = os.environ.get("MINERWATCH_DB_MEMORY", DEFAULT_DB_MEMORY).strip()
    if not _MEMORY_SIZE.match(limit):
        con.close()
        raise StoreError(f"MINERWATCH_DB_MEMORY is {limit!r}, not a size",
                         "set it to a size such as 3GB or 512MB, or unset it for the default (3GB)")
    con.execute(f"SET memory_limit = '{limit}'")   # checked against the pattern above


def _open_error(path: Path, e: duckdb.Error, read_only: bool = False) -> StoreError:
    """The StoreError for a file DuckDB would not open, with the hint that fits DuckDB's reason."""
    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "not a valid DuckDB database" in reason:
        return StoreError(f"{path} is not a DuckDB database",
                          "pass --db with a minerwatch database, or move this file away and run the command again")
    if "lock" in reason.lower():
        return lock_error(path, reason, read_only)
    return StoreError(f"cannot open the database {path}: {reason}",
                      "check that the path is right and its folder is writable, or pass another --db")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied (0 for a new file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration the file has not had, in number order, each in its own transaction."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
                "applied_at TIMESTAMP DEFAULT current_timestamp)")
    current = schema_version(con)
    latest = latest_schema_version()
    if current > latest:
        raise StoreError(f"the database has schema version {current}, newer than this minerwatch ({latest})",
                         "upgrade minerwatch")
    # By the record, not by the highest number: a migration numbered in its range may ship after a
    # higher one (242 came after 250), and a database migrated in between still needs it.
    applied = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    for number, name, sql in migrations():
        if number in applied:
            continue
        try:
            with transaction(con):
                con.execute(sql)
                con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [number, name])
        except duckdb.Error as e:
            raise StoreError(f"migration {name} failed: {e}", "report this as a bug") from e
    return latest


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])


def lower_metrics_mark(con: duckdb.DuckDBPyConnection, height: int) -> None:
    """Mark derived metrics as valid only up to `height` (no change when they already stop lower)."""
    con.execute("UPDATE meta SET value = CAST(? AS VARCHAR) WHERE key = 'metrics_through_height' "
                "AND CAST(value AS BIGINT) > ?", [height, height])


def bind_network(con: duckdb.DuckDBPyConnection, network: str, path: Path | str) -> None:
    """Record the database's network on first use; refuse another network afterwards."""
    stored = get_meta(con, "network")
    if stored is None or (stored != network and _holds_nothing(con)):
        # A database that holds no block and no label yet was bound by a run that failed (a
        # mistyped --network or --blocks-dir): keeping that binding would refuse the right network.
        set_meta(con, "network", network)
    elif stored != network:
        raise NetworkMismatchError(
            f"{path} holds {stored} data, not {network}",
            f"use --network {stored}, or another --db for {network}",
        )


def _holds_nothing(con: duckdb.DuckDBPyConnection) -> bool:
    """True while no block and no label (the network-specific rows) are stored."""
    return not con.execute("SELECT EXISTS (SELECT 1 FROM blocks) OR EXISTS (SELECT 1 FROM labels)").fetchone()[0]
