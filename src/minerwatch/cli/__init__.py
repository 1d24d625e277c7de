"""Command line: one module per command group, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys

import duckdb

from minerwatch.cli.common import choose_db
from minerwatch.errors import MinerwatchError
from minerwatch.networks import NETWORKS

# Each module defines register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = [
    "minerwatch.cli.chain_cmds",     # sync, status, block
    "minerwatch.cli.difficulty_cmds", # difficulty
    "minerwatch.cli.miner_cmds",     # labels import, miners outflow|reserve
    "minerwatch.cli.demo_cmds",      # demo
    "minerwatch.cli.economics_cmds", # calc breakeven/fleet/surface/scenario, alerts, brief
    "minerwatch.cli.capitulation_cmds",  # capitulation
    "minerwatch.cli.metrics_cmds",   # metrics, calc hashprice, prices import|fetch, pools update|list
    "minerwatch.cli.web_cmds",       # serve
    "minerwatch.cli.lake_cmds",      # lake export|cohorts|spark|import
]


# Commands that write to the database: without --db they use the default file even when only the
# demo's exists (every other command then reads the demo's). `serve --follow` writes too.
WRITING_COMMANDS = frozenset({
    "minerwatch sync", "minerwatch demo", "minerwatch labels import", "minerwatch prices import",
    "minerwatch prices fetch", "minerwatch pools update", "minerwatch lake import",
})


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to generate docs/cli.md)."""
    parser = argparse.ArgumentParser(
        prog="minerwatch",
        description="Miner reserve, miner flows, hashprice and production cost from your own Bitcoin node.",
        epilog="Databases: without --db, commands use $MINERWATCH_DB, else "
               "~/.local/share/minerwatch/minerwatch.duckdb. While that holds no blocks, a command that only "
               "reads uses the demo's database (demo.duckdb beside it, built by `minerwatch demo`) and says so "
               "on stderr; commands that write (sync, labels import, prices import|fetch, pools update, "
               "serve --follow) never do, so the demo's simulated chain and yours stay in separate files.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command, leaf in _leaves(parser, "minerwatch"):
        options = {o for a in leaf._actions for o in a.option_strings}
        leaf.set_defaults(writes_db=command in WRITING_COMMANDS)
        if "--db" in options and "--network" not in options and command != "minerwatch demo":
            # Every command that reads chain data takes --network: here an assertion about the
            # database, so that a script aimed at the wrong file fails instead of answering.
            leaf.add_argument("--network", choices=list(NETWORKS), default=None,
                              help="the network the database must hold (refused if it holds another)")
            leaf.set_defaults(check_network=True)
    return parser


def _leaves(parser: argparse.ArgumentParser, name: str) -> list[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(name, parser)]
    return [leaf for a in subs for n, p in a.choices.items() for leaf in _leaves(p, f"{name} {n}")]


def _check_network(args: argparse.Namespace) -> None:
    """--network given to a command that reads a database: the database must hold that network."""
    from minerwatch.cli.common import db_path
    from minerwatch.errors import NetworkMismatchError
    from minerwatch.store import connect, get_meta

    path = db_path(args)
    if not path.exists():
        return  # the command itself says what is missing
    con = connect(path, read_only=True)
    try:
        stored = get_meta(con, "network")
    finally:
        con.close()
    if stored is not None and stored != args.network:
        raise NetworkMismatchError(f"{path} holds {stored} data, not {args.network}",
                                   f"use --network {stored}, or the --db of your {args.network} database")


def _caused_by_interrupt(e: BaseException | None) -> bool:
    """Whether Ctrl-C is the cause of `e` or of an error raised while handling it.

    Ctrl-C during a DuckDB call comes back as DuckDB's error: "Query interrupted" (a
    RuntimeError) from a query, or one wrapping the KeyboardInterrupt from a call that runs
    Python (reading a registered Arrow table). Clean-up code that runs after it (a `finally`
    that unregisters a table) may then fail on the aborted transaction, and that error is the
    one that arrives here, with the interruption as its context.
    """
    seen = 0
    while e is not None and seen < 20:
        if isinstance(e, (KeyboardInterrupt, duckdb.InterruptException)) or any(
                s in str(e) for s in ("KeyboardInterrupt", "Query interrupted")):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


def _interrupted() -> int:
    print("interrupted; everything committed so far is kept", file=sys.stderr)
    return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `minerwatch` command; returns the exit status."""
    try:
        # Inside the try: loading the commands' modules may be interrupted by Ctrl-C, and an
        # argument type may raise MinerwatchError, which argparse does not catch.
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return 2
        if args.command != "demo":   # the demo's --db has its own default (demo.duckdb)
            choose_db(args, args.writes_db or bool(getattr(args, "follow", False)))
        if getattr(args, "check_network", False) and args.network:
            _check_network(args)
        return int(args.func(args) or 0)
    except MinerwatchError as e:
        if _caused_by_interrupt(e.__cause__ or e.__context__):   # an error raised while stopping on Ctrl-C
            return _interrupted()
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as e:
        # A last resort for readers that do not name their file: say what is wrong, not a traceback.
        print(f"error: an input file is not UTF-8 text (byte {e.object[e.start]:#04x} at position {e.start})",
              file=sys.stderr)
        print("hint: save the file as UTF-8 (CSV, TOML and JSON inputs are text files)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return _interrupted()
    except (duckdb.Error, RuntimeError) as e:
        # The same interruption, not a failure: the transaction it interrupted was rolled back.
        if _caused_by_interrupt(e):
            return _interrupted()
        raise
    except BrokenPipeError:
        return 0
