"""Read-only access to the database, and the facts every page needs first (network, tip, emptiness)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from minerwatch import store
from minerwatch.errors import StoreError
from minerwatch.networks import NETWORKS

SYNC_HINT = "run `minerwatch sync` (or `minerwatch demo`) to fill the database"


def connect_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to `path`; StoreError if it is missing, a directory, not a DuckDB file,
    locked by another process or of a newer schema (the store's own translation, so every command
    and the server say the same thing for the same file)."""
    return store.connect(path, read_only=True)


def is_locked(e: StoreError) -> bool:
    """True when `e` (from connect_readonly) means another process holds the file for writing: a
    sync, which releases it between batches, so a reader only has to retry."""
    # DuckDB names the cause only in its message: "Could not set lock on file …: Conflicting lock is held".
    return isinstance(e.__cause__, duckdb.IOException) and "lock" in str(e.__cause__).lower()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True if a table or view called `name` exists in the main schema."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


def meta_value(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """The meta table's value for `key`, or None when absent."""
    if not table_exists(con, "meta"):
        return None
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True, slots=True)
class DbState:
    """What a page needs before anything else: which chain, how far, and whether it is simulated."""

    network: str
    simulated: bool
    tip_height: int | None        # None: no block or header stored yet
    tip_hash: str | None
    tip_time_s: int | None
    block_count: int

    @property
    def empty(self) -> bool:
        return self.tip_height is None


def db_state(con: duckdb.DuckDBPyConnection | None) -> DbState:
    """Network, tip and block count of the database (`con` None: no database file yet)."""
    if con is None:
        return DbState("unknown", False, None, None, None, 0)
    network = meta_value(con, "network") or "mainnet"
    known = NETWORKS.get(network)
    simulated = bool(known.simulated) if known else network == "simnet"
    if not table_exists(con, "blocks"):
        return DbState(network, simulated, None, None, None, 0)
    # The tip is the highest stored block or header (headers first, `sync --headers-file`): the
    # header-only series show before, or without, any block.
    facts = "chain_facts" if table_exists(con, "chain_facts") else "blocks"
    row = con.execute(
        f"SELECT height, hash, time_s, (SELECT count(*) FROM blocks) FROM {facts} "  # noqa: S608 (fixed names)
        "ORDER BY height DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return DbState(network, simulated, None, None, None, 0)
    return DbState(network, simulated, int(row[0]), str(row[1]), int(row[2]), int(row[3]))
