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


def add_db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None,
                   help=f"database file (default: ${DB_ENV} or ~/.local/share/minerwatch/minerwatch.duckdb)")


def add_network_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", choices=list(NETWORKS), default=None,
                   help="Bitcoin network (default: the database's network, else mainnet)")


def db_path(args: argparse.Namespace) -> Path:
    return args.db if getattr(args, "db", None) else default_db_path()


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
