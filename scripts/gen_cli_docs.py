"""Write docs/cli.md from the command line's own --help texts (tests/test_cli_docs.py keeps it current)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minerwatch.cli import build_parser

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _walk(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, str]]:
    out = [(prefix, parser.format_help())]
    for action in parser._actions:  # argparse exposes subcommands only through its actions
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _walk(sub, f"{prefix} {name}")
    return out


def render() -> str:
    """The whole CLI reference as Markdown."""
    parts = ["# Command-line reference\n",
             "Generated from `--help` by `python scripts/gen_cli_docs.py`; do not edit by hand.\n"]
    for command, text in _walk(build_parser(), "minerwatch"):
        parts.append(f"## `{command}`\n\n```\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    # A fixed width, so that the file does not depend on the terminal it was made in.
    import os

    os.environ["COLUMNS"] = "100"
    OUT.write_text(render())
    print(f"wrote {OUT}", file=sys.stderr)
