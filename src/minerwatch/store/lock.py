"""Who holds a database file, for the error a command gets when DuckDB will not let it in.

DuckDB admits one process that writes a file or many that only read it. Its lock error names the
holder's process id and says whether the holder only reads; on Linux the holder's command line then
tells a `minerwatch serve` from a `sync`, so the hint can name the way out that fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from minerwatch.errors import StoreError

# "Conflicting lock is held in /usr/bin/python3.11 (PID 9267)[. However, you would be able to open
# this database in read-only mode …]" (DuckDB 1.x and 2.x).
_HELD_IN = re.compile(r"held in (.+?) \(PID (\d+)\)")
_HOLDER_READS = "read-only mode"

SERVE_FOLLOW = "minerwatch serve --follow"


@dataclass(frozen=True, slots=True)
class Holder:
    """The process that holds the file, as far as can be told."""

    pid: int | None
    program: str | None     # the holder's executable, as DuckDB names it
    command: str | None     # e.g. "minerwatch serve", "minerwatch sync --follow"; None: not minerwatch, or unknown
    reads_only: bool        # it opened the file read-only: other readers may still come in

    @property
    def named(self) -> str:
        if self.command:
            return f"`{self.command}` (pid {self.pid})"
        return f"another process (pid {self.pid}, {self.program})"


def holder_of(reason: str, proc: Path = Path("/proc")) -> Holder:
    """The holder DuckDB's lock error `reason` names; its command from `proc` when readable."""
    found = _HELD_IN.search(reason)
    if found is None:
        return Holder(None, None, None, _HOLDER_READS in reason)
    pid = int(found.group(2))
    return Holder(pid, found.group(1), minerwatch_command(pid, proc), _HOLDER_READS in reason)


def minerwatch_command(pid: int, proc: Path = Path("/proc")) -> str | None:
    """"minerwatch <command>[ --follow]" when process `pid` runs minerwatch, else None.

    Only the command word and --follow are taken from the command line: the rest can carry an RPC
    URL with a password or a --token, and must never reach a message.
    """
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None   # not Linux, the process is gone, or it belongs to another user
    words = [a.decode(errors="replace") for a in argv if a]
    for i, word in enumerate(words):
        # `minerwatch serve …` (the script) or `python -m minerwatch serve …`
        if Path(word).name == "minerwatch" and i + 1 < len(words) and not words[i + 1].startswith("-"):
            command = f"minerwatch {words[i + 1]}"
            return command + " --follow" if "--follow" in words[i + 2:] else command
    return None


def lock_error(path: Path, reason: str, read_only: bool) -> StoreError:
    """The StoreError for a file another process holds, saying who holds it and what to do."""
    holder = holder_of(reason)
    command = holder.command or ""
    if command.startswith("minerwatch serve"):
        if command == SERVE_FOLLOW:
            what = "which stores the node's new blocks itself"
            hint = ("read it through the server (the dashboard, /api/v1/…), or stop it first" if read_only else
                    "no separate sync is needed while it runs; stop it first to write to this file yourself")
        else:
            what = "which keeps it open for reading"
            hint = (f"stop the server while this runs, or run `{SERVE_FOLLOW} --rpc URL` instead of both: "
                    "it follows the node and serves the dashboard in one process")
        return StoreError(f"the database {path} is held by {holder.named}, {what}", hint)
    if command:
        if command.startswith("minerwatch sync"):
            hint = ("wait for it to finish or stop it (Ctrl-C stops it after the batch in hand); to follow the "
                    f"node and serve the dashboard at once, use `{SERVE_FOLLOW}`")
            if read_only and command.endswith("--follow"):
                hint = "retry in a moment: a following sync lets the file go while it waits for the next block"
        else:
            hint = "wait for it to finish, or stop it"
        return StoreError(f"the database {path} is held by {holder.named}", hint)
    # A process we cannot name (another program, another user's, or not Linux).
    hint = (f"stop that process or use another --db; if it is `minerwatch serve`, `{SERVE_FOLLOW}` "
            "follows the node and serves the dashboard in one process")
    if holder.pid is None:   # a lock message in a form this code does not know: show it as it came
        return StoreError(f"the database {path} is in use by another process ({reason})", hint)
    return StoreError(f"the database {path} is in use by {holder.named}", hint)
