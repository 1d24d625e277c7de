"""Arguments and output helpers every command shares."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from minerwatch.networks import NETWORKS

DB_ENV = "MINERWATCH_DB"


def default_db_path() -> Path:
    """$MINERWATCH_DB, else the user's data directory (XDG) / minerwatch / minerwatch.duckdb."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "minerwatch" / "minerwatch.duckdb"


def demo_db_path() -> Path:
    """Where `minerwatch demo` writes: demo.duckdb beside the default database (never the same file)."""
    return default_db_path().with_name("demo.duckdb")


def _holds_blocks(path: Path) -> bool:
    """True unless `path` is missing or a database without blocks (a first sync that stored
    nothing); a file that cannot be opened now (a sync holds it) counts as holding blocks, so that
    the command reports it instead of quietly reading the demo."""
    if not path.exists():
        return False
    from minerwatch.errors import StoreError
    from minerwatch.queries.db import connect_readonly, db_state

    try:
        with connect_readonly(path) as con:
            return not db_state(con).empty
    except StoreError:
        return True


def add_db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None,
                   help=f"database file (default: ${DB_ENV}, else ~/.local/share/minerwatch/minerwatch.duckdb; "
                        "a command that only reads uses the demo's database beside it while that one holds no blocks)")


def choose_db(args: argparse.Namespace, writes: bool) -> None:
    """Set args.db when the user gave none: the default database, or for a command that only reads,
    the demo's while there is no default one (a note on stderr says so). A command that writes never
    falls back, so a real sync never lands in the simulated chain's file."""
    if not hasattr(args, "db") or args.db is not None:
        return
    real = default_db_path()
    demo = demo_db_path()
    if not writes and not os.environ.get(DB_ENV) and demo.exists() and not _holds_blocks(real):
        print(f"note: no blocks at {real} yet: reading the demo's database, {demo} (simulated chain)",
              file=sys.stderr)
        args.db = demo
        return
    if writes and not real.exists() and demo.exists() and not os.environ.get(DB_ENV):
        print(f"note: writing to {real} (a new database for your node's chain); the demo's stays in {demo}",
              file=sys.stderr)
    args.db = real


def add_network_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", choices=list(NETWORKS), default=None,
                   help="Bitcoin network (default: the database's network, else mainnet)")


def db_path(args: argparse.Namespace) -> Path:
    return args.db if getattr(args, "db", None) else default_db_path()


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
