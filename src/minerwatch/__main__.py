"""`minerwatch` and `python -m minerwatch`: the command line, with Ctrl-C during start-up (loading
the modules takes a moment) answered like Ctrl-C later on, not with a traceback."""

import sys


def run() -> int:
    try:
        from minerwatch.cli import main
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
