"""Run `minerwatch ARGS…` and die as a kill -9 would at the Nth commit point.

    python tests/crash_driver.py N before|after -- sync --blocks-dir …

Every write of a sync goes through minerwatch.store.transaction, which calls COMMIT_HOOKS just ahead
of and just behind each COMMIT. At the Nth such point of the chosen kind the process ends with
os._exit: no atexit handlers, no flush, no checkpoint, the DuckDB file left as a killed process
leaves it. "before" dies with the transaction open (its writes must vanish), "after" dies right
behind the COMMIT (they must stay). Exit code 137 when it died; the command's own code when the run
had fewer than N commit points.
"""

from __future__ import annotations

import os
import sys

from minerwatch import store
from minerwatch.cli import main

DIED = 137


def run() -> int:
    n, where, sep, *args = sys.argv[1:]
    if sep != "--" or where not in ("before", "after"):
        raise SystemExit(__doc__)
    seen = 0

    def hook(point: str) -> None:
        nonlocal seen
        if point == where:
            seen += 1
            if seen == int(n):
                os._exit(DIED)

    store.COMMIT_HOOKS.append(hook)
    return main(args)


if __name__ == "__main__":
    sys.exit(run())
