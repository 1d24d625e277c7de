"""Command line: one module per command group, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys

from minerwatch.errors import MinerwatchError

# Each module defines register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = [
    "minerwatch.cli.chain_cmds",     # sync, status, block
    "minerwatch.cli.miner_cmds",     # labels import, miners outflow|reserve
    "minerwatch.cli.demo_cmds",      # demo
    "minerwatch.cli.economics_cmds", # calc breakeven/fleet/surface/scenario, capitulation, alerts, brief
    "minerwatch.cli.metrics_cmds",   # metrics, calc hashprice, prices import|fetch, pools update|list
    "minerwatch.cli.web_cmds",       # serve
]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to generate docs/cli.md)."""
    parser = argparse.ArgumentParser(
        prog="minerwatch",
        description="Miner reserve, miner flows, hashprice and production cost from your own Bitcoin node.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `minerwatch` command; returns the exit status."""
    parser = build_parser()
    try:
        # Inside the try: an argument type may raise MinerwatchError, which argparse does not catch.
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return 2
        return int(args.func(args) or 0)
    except MinerwatchError as e:
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
        print("interrupted; everything committed so far is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
