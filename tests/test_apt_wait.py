"""scripts/apt-get-wait.sh: `scripts/test.sh` waits for another package install instead of failing.

Real apt-get, pointed at a scratch state directory (its own dpkg status, lists and cache, no
sources), so the locks it takes are files of the test; a child process holds one with the same
fcntl lock apt uses, as a running install would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "apt-get-wait.sh"

pytestmark = pytest.mark.skipif(shutil.which("apt-get") is None or os.geteuid() != 0,
                                reason="needs Debian's apt-get, run as root (apt refuses to lock otherwise)")

HOLD = ("import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)\n"
        "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n")


def _apt_dirs(tmp: Path) -> list[str]:
    for d in ("dpkg/updates", "lists/partial", "cache/archives/partial"):
        (tmp / d).mkdir(parents=True)
    (tmp / "dpkg" / "status").touch()
    return ["-o", f"Dir::State::status={tmp}/dpkg/status", "-o", f"Dir::State::Lists={tmp}/lists",
            "-o", f"Dir::Cache={tmp}/cache", "-o", "Dir::Etc::sourcelist=/dev/null",
            "-o", "Dir::Etc::sourceparts=/nonexistent"]


def _hold(lock: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.parametrize(("command", "lock"), [("update", "lists/lock"), ("install", "dpkg/lock-frontend")])
def test_waits_for_the_lock_another_install_holds(tmp_path: Path, command: str, lock: str) -> None:
    opts = _apt_dirs(tmp_path)
    # Plain apt-get fails at once while the lock is held: the failure the script exists for.
    holder = _hold(tmp_path / lock, 3.0)
    plain = subprocess.run(["apt-get", *opts, command, "-y"], capture_output=True, text=True, timeout=60)
    assert plain.returncode != 0 and "Could not get lock" in plain.stderr
    holder.wait(timeout=30)
    # The script waits until the holder (3 s) lets go, then succeeds.
    holder = _hold(tmp_path / lock, 3.0)
    started = time.monotonic()
    r = subprocess.run([str(SCRIPT), *opts, command, "-y"], capture_output=True, text=True, timeout=120)
    waited_s = time.monotonic() - started
    holder.wait(timeout=30)
    assert r.returncode == 0, r.stderr
    assert waited_s >= 2.0, waited_s       # the holder had ≥ 2.5 s left when the script started
    if command == "update":                # install waits inside apt-get (DPkg::Lock::Timeout), silently
        assert "another package install holds apt's lock" in r.stderr


def test_gives_up_after_the_wait_and_says_how_to_wait_longer(tmp_path: Path) -> None:
    opts = _apt_dirs(tmp_path)
    holder = _hold(tmp_path / "lists/lock", 20.0)
    try:
        r = subprocess.run([str(SCRIPT), *opts, "update"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "APT_LOCK_WAIT_S": "2"})
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode != 0
    assert "gave up after 2 s; raise APT_LOCK_WAIT_S" in r.stderr


def test_test_sh_installs_through_the_waiting_wrapper() -> None:
    text = (ROOT / "scripts" / "test.sh").read_text()
    assert "scripts/apt-get-wait.sh update" in text and "scripts/apt-get-wait.sh install" in text
    assert "\n    apt-get " not in text
