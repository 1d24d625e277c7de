"""The processes below a process, read from /proc (Linux): what a test or a benchmark must see stop."""

from __future__ import annotations

import os
from pathlib import Path


def descendants(pid: int) -> set[int]:
    """Every process started below `pid`, at any depth (children of every thread, via /proc)."""
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            kids = {int(k) for t in os.listdir(f"/proc/{p}/task")
                    for k in Path(f"/proc/{p}/task/{t}/children").read_text().split()}
        except OSError:
            continue
        out |= kids
        todo.extend(kids)
    return out
