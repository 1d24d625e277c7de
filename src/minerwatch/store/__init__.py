"""The only owner of the DuckDB file: opening it, migrating its schema, and the chain's identity."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb

from minerwatch.errors import NetworkMismatchError, StoreError

# Migrations are store/sql/NNN_name.sql, applied once each in number order. 001–099: chain tables;
# 100–199: network metrics; 200–299: miner flows; 300–399: economics and alerts.


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every shipped migration, in order."""
    found = []
    for entry in resources.files("minerwatch.store").joinpath("sql").iterdir():
        if entry.name.endswith(".sql") and entry.name[:3].isdigit():
            found.append((int(entry.name[:3]), entry.name, entry.read_text()))
    return sorted(found)


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
        raise _open_error(path, e) from e
    if not read_only:
        migrate(con)
    else:
        current = schema_version(con)
        if current > latest_schema_version():
            raise StoreError(f"{path} has schema version {current}, newer than this minerwatch knows",
                             "upgrade minerwatch")
    return con


def _open_error(path: Path, e: duckdb.Error) -> StoreError:
    """The StoreError for a file DuckDB would not open, with the hint that fits DuckDB's reason."""
    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "not a valid DuckDB database" in reason:
        return StoreError(f"{path} is not a DuckDB database",
                          "pass --db with a minerwatch database, or move this file away and run the command again")
    if "lock" in reason.lower():
        return StoreError(f"the database {path} is in use by another process ({reason})",
                          "another minerwatch process (a sync or serve) holds it for writing; stop it or use another --db")
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
    """Apply every migration newer than the file's schema, each in its own transaction."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
                "applied_at TIMESTAMP DEFAULT current_timestamp)")
    current = schema_version(con)
    latest = latest_schema_version()
    if current > latest:
        raise StoreError(f"the database has schema version {current}, newer than this minerwatch ({latest})",
                         "upgrade minerwatch")
    for number, name, sql in migrations():
        if number <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [number, name])
            con.execute("COMMIT")
        except duckdb.Error as e:
            con.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed: {e}", "report this as a bug") from e
    return latest


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])


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
