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


def own_cpu_s(pid: int) -> float | None:
    """User and system CPU seconds of process `pid` itself (its children not counted), from /proc;
    None when it is gone. An exited process not yet reaped still answers with its final figure."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # utime and stime, in clock ticks: fields 14 and 15, counted after the command's parenthesis.
    return sum(map(int, stat[stat.rindex(")") + 2:].split()[11:13])) / os.sysconf("SC_CLK_TCK")
