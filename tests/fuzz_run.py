"""Runs fuzz cases in a child process under a per-case watchdog and a memory limit.

The parent (`run`, called by the tests) starts `python fuzz_run.py MODE SEED CASES OUT_DIR` and
reads one line per case; a case that sends nothing for `case_timeout_s` is a hang: the child is
killed and the test fails naming the case, instead of CI hanging. The child caps its own address
space (RLIMIT_AS, the memory it has at start + 1 GiB), so a case that tries to allocate by a
hostile count fails with MemoryError, reported like any other unexpected exception; one mutated
block in 20 also has its peak allocation measured (tracemalloc makes a parse ~50× slower, too slow
for every case) and held to 32 bytes per input byte + 64 KiB.

Child protocol, one line each: `c I` (case I starts), `f JSON` (case failed), `d JSON` (done, with
the counts). A failing case's input is written to OUT_DIR, ready to be kept in tests/data/fuzz/.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASE_TIMEOUT_S = 30.0   # a case parses in < 50 ms (a 2 MB block); 30 s is a hang even on a loaded CI
MEMORY_HEADROOM_BYTES = 1 << 30
PEAK_BYTES_PER_INPUT_BYTE = 32
PEAK_SLACK_BYTES = 64 * 1024
TRACE_EVERY = 20


# --- parent -------------------------------------------------------------------------------------

def run(mode: str, seed: int, cases: int, out_dir: Path, case_timeout_s: float = CASE_TIMEOUT_S) -> dict[str, Any]:
    """Run `cases` cases of `mode` in a child; its summary, or AssertionError naming what failed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), mode, str(seed), str(cases),
                                 str(out_dir)], stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        assert proc.stdout is not None
        failures: list[dict[str, Any]] = []
        summary: dict[str, Any] | None = None
        current = "start-up"
        buffer = b""
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                if not sel.select(timeout=case_timeout_s):
                    proc.kill()
                    raise AssertionError(f"{mode} seed {seed}: case {current} ran over {case_timeout_s:.0f} s "
                                         f"(a hang); rebuild it with the case generator for seed {seed}")
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    tag, _, rest = line.decode().partition(" ")
                    if tag == "c":
                        current = rest
                    elif tag == "f":
                        failures.append(json.loads(rest))
                    elif tag == "d":
                        summary = json.loads(rest)
        finally:
            sel.close()
            proc.stdout.close()
            code = proc.wait()
        err.seek(0)
        stderr = err.read().decode(errors="replace")[-4000:]
    if failures:
        shown = "\n".join(json.dumps(f) for f in failures[:10])
        raise AssertionError(f"{mode} seed {seed}: {len(failures)} case(s) failed otherwise than with the "
                             f"project's error (inputs written to {out_dir}):\n{shown}")
    assert code == 0 and summary is not None, f"{mode} seed {seed}: the fuzz child exited {code}\n{stderr}"
    return summary


# --- child --------------------------------------------------------------------------------------

def _limit_memory() -> None:
    try:
        import resource
    except ImportError:       # not on Windows: the per-case peaks still bound the parser
        return
    try:
        with open("/proc/self/status") as f:
            vm_bytes = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (OSError, StopIteration):   # no /proc (macOS): RLIMIT_AS is not enforced there anyway
        return
    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes + MEMORY_HEADROOM_BYTES, resource.RLIM_INFINITY))


def _say(tag: str, text: str) -> None:
    sys.stdout.write(f"{tag} {text}\n")
    sys.stdout.flush()


def _failure(i: int | str, what: str, e: BaseException) -> dict[str, Any]:
    where = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    return {"case": i, "mutation": what, "error": f"{type(e).__name__}: {e}"[:300],
            "at": f"{Path(where.filename).name}:{where.lineno}" if where else ""}


def _parser_cases(mode: str, seed: int, cases: int) -> Iterator[tuple[int, Any]]:
    """(case number, fuzz_cases.Case) of a parser mode."""
    import fuzz_cases
    if mode == "parser-mutations":
        return ((i, fuzz_cases.mutated_case(seed, i)) for i in range(cases))
    if mode == "parser-truncations":
        return enumerate(fuzz_cases.truncation_cases())
    if mode == "parser-full-size":
        return enumerate(fuzz_cases.full_size_cases(seed))
    return enumerate(fuzz_cases.kept_parser_cases())


def _parser_child(mode: str, seed: int, cases: int, out_dir: Path) -> Counter[str]:
    import tracemalloc

    from minerwatch.chain.block import parse_block
    from minerwatch.errors import ParseError

    counts: Counter[str] = Counter()
    for i, case in _parser_cases(mode, seed, cases):
        _say("c", str(i))
        base = 1000 * (i % 7)       # an offset into a blk file, as the blk reader passes
        verify = i % 2 == 0         # without the merkle check more mutations parse to the end
        traced = mode == "parser-mutations" and i % TRACE_EVERY == 0
        try:
            if traced:
                tracemalloc.start()
            try:
                block = parse_block(case.data, source=case.name, base_offset=base, verify_merkle=verify)
                counts["parsed"] += 1
                if block.size_bytes != len(case.data) or block.tx_count != len(block.txids) \
                        or len(block.out_tx) != len(block.out_value_sat) or block.weight > 4 * block.size_bytes:
                    raise AssertionError("a parsed block whose columns do not agree with its bytes")
            except ParseError as e:
                counts["ParseError"] += 1
                if e.source != case.name or not base <= e.offset <= base + len(case.data):
                    raise AssertionError(f"ParseError names {e.source!r} byte {e.offset}, not a byte of "
                                         f"{case.name!r} ({base}…{base + len(case.data)})") from None
            if traced:
                peak = tracemalloc.get_traced_memory()[1]
                limit = PEAK_BYTES_PER_INPUT_BYTE * len(case.data) + PEAK_SLACK_BYTES
                if peak > limit:
                    raise AssertionError(f"parsing {len(case.data)} bytes allocated {peak} bytes at peak "
                                         f"(limit {limit})")
                counts["traced"] += 1
        except Exception as e:  # anything but the project's own error is what the fuzz looks for
            counts["failed"] += 1
            _say("f", json.dumps(_failure(i, f"{case.name}: {case.mutation}", e)))
            (out_dir / f"{mode}-{seed}-{i}.bin").write_bytes(case.data)
        finally:
            if traced:
                tracemalloc.stop()
        counts["cases"] += 1
    return counts


def _blk_child(mode: str, seed: int, cases: int, out_dir: Path) -> Counter[str]:
    import shutil

    import fuzz_blkdirs
    from minerwatch.chain.blkfiles import best_chain, iter_blocks, scan
    from minerwatch.errors import MinerwatchError
    from minerwatch.networks import get_network

    mainnet = get_network("mainnet")
    work = Path(tempfile.mkdtemp(prefix="blkfuzz-"))
    counts: Counter[str] = Counter()
    if mode == "blk-mutations":
        jobs = ((i, *fuzz_blkdirs.mutated_dir(seed, i)) for i in range(cases))
    else:
        jobs = ((p.name, "kept", p) for p in fuzz_blkdirs.kept_dirs())
    try:
        for i, what, d in jobs:
            _say("c", str(i))
            if isinstance(d, Path):
                blocks = d
            else:
                blocks = work / "blocks"
                d.write(blocks)
            try:
                chain = best_chain(scan(blocks, mainnet), mainnet)
                read = sum(1 for _ in iter_blocks(blocks, mainnet, chain=chain))
                counts["read"] += 1
                counts["blocks read"] += read
            except MinerwatchError as e:
                counts[type(e).__name__] += 1
            except Exception as e:  # anything else is what the fuzz looks for
                counts["failed"] += 1
                _say("f", json.dumps(_failure(i, what, e)))
                if not isinstance(d, Path):
                    shutil.copytree(blocks, out_dir / f"{mode}-{seed}-{i}", dirs_exist_ok=True)
            counts["cases"] += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return counts


def _selftest_child(mode: str, seed: int, cases: int, out_dir: Path) -> Counter[str]:
    """Cases that misbehave on purpose, so the tests can show the harness catches each kind."""
    import time

    counts: Counter[str] = Counter()
    for i in range(cases):
        _say("c", str(i))
        try:
            if i == cases - 1 and mode == "selftest-hang":
                time.sleep(3600)
            if i == cases - 1 and mode == "selftest-memory":
                bytearray(2 * MEMORY_HEADROOM_BYTES)
            if i == cases - 1 and mode == "selftest-leak":
                raise OverflowError("Python int too large to convert to C ssize_t")
        except Exception as e:
            counts["failed"] += 1
            _say("f", json.dumps(_failure(i, mode, e)))
        counts["cases"] += 1
    return counts


def main(argv: list[str]) -> None:
    mode, seed, cases, out_dir = argv[0], int(argv[1]), int(argv[2]), Path(argv[3])
    out_dir.mkdir(parents=True, exist_ok=True)
    _limit_memory()
    child = _blk_child if mode.startswith("blk-") else _selftest_child if mode.startswith("selftest-") \
        else _parser_child
    _say("d", json.dumps(child(mode, seed, cases, out_dir)))


if __name__ == "__main__":
    main(sys.argv[1:])
