"""`minerwatch lake export --workers N`: worker processes write whole parts side by side, the export's
process lists them in height order. The lake they make is the one-process export's, file for file and
byte for byte — written at once, appended to, and resumed after a SIGKILL at any moment — and the
workers of a killed export leave with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minerwatch.chain.blkfiles import write_blk_files
from minerwatch.chain.builder import ChainBuilder, h20, p2tr, p2wpkh
from minerwatch.cli import main
from minerwatch.errors import ParseError
from minerwatch.lake.layout import open_lake, read_manifest
from minerwatch.networks import get_network

from procs import descendants
from test_parser_workers_exit import _alive

REGTEST = get_network("regtest")
BLK = Path(__file__).parent / "data" / "blkfiles"
# 1,200 blocks in parts of 10: 120 parts, a few seconds of work for two workers, so a kill lands mid-run.
CHAIN_BLOCKS = 1_200
PART_BLOCKS = 10


@pytest.fixture(scope="module")
def real_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real mainnet blocks 0–438 as a blocks directory."""
    d = tmp_path_factory.mktemp("lake-workers-real") / "blocks"
    d.mkdir()
    (d / "blk00000.dat").write_bytes((BLK / "mainnet-heights-0-438.dat").read_bytes())
    return d


@pytest.fixture(scope="module")
def chain_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A regtest chain whose blocks have payments as well as coinbases (P2WPKH and P2TR outputs, inputs)."""
    b = ChainBuilder("regtest", start_time_s=1_700_000_000)
    for h in range(1, CHAIN_BLOCKS + 1):
        if h > 1:
            # Small amounts: regtest's subsidy halves every 150 blocks (0.195 BTC at height 1,200).
            b.spend([b.coinbase_outpoint(h - 1)], [(p2wpkh(h20(f"a{h}")), 10_000),
                                                   (p2tr(bytes(31) + bytes([h % 256])), 20_000)], fee_sat=1_000)
        b.mine(tag=f"/pool {h % 7}/", payouts=[(p2wpkh(h20(f"m{h % 50}")), None)])
    d = tmp_path_factory.mktemp("lake-workers") / "blocks"
    write_blk_files(d, REGTEST, b.blocks)
    return d


def _export(lake: Path, blocks: Path, workers: int, *more: str) -> None:
    assert main(["lake", "export", str(lake), "--blocks-dir", str(blocks), "--workers", str(workers), *more]) == 0


def _files(lake: Path) -> dict[str, bytes]:
    """Every file of a local lake, by its path inside the lake: what a byte-for-byte comparison compares."""
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file()}


def _listed(lake: Path) -> list[tuple[int, int]]:
    m = read_manifest(*open_lake(str(lake)))
    return [] if m is None else [(p.first_height, p.last_height) for p in m.parts]


def test_two_workers_write_the_one_process_lake(real_blocks: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    _export(one, real_blocks, 1, "--part-blocks", "50")
    _export(two, real_blocks, 2, "--part-blocks", "50")
    # 439 blocks in parts of 50: nine parts, the last (400–438) short of its range.
    assert _listed(two)[-2:] == [(350, 399), (400, 438)] and len(_listed(two)) == 9
    assert _files(two) == _files(one)
    # Appended as the chain grows, the short last part rewritten whole each time, by the workers.
    grown = tmp_path / "grown"
    _export(grown, real_blocks, 2, "--part-blocks", "50", "--stop-height", "120")
    assert _listed(grown)[-1] == (100, 120)
    _export(grown, real_blocks, 2, "--stop-height", "399")
    _export(grown, real_blocks, 2)
    assert _files(grown) == _files(one)


def test_workers_refuse_a_branch_below_the_lake_tip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As the one-process export (test_lake_export): parts of 2 over heights 0–4 of chain a; chain c forks
    below the kept part [2–3] and is refused, as is a source that ends below the lake's kept blocks."""
    a = ChainBuilder("regtest", start_time_s=1_700_000_000)
    for _ in range(4):
        a.mine()
    b, c = a.fork(3), a.fork(2)
    for _ in range(3):
        b.mine(tag="branch b")
        c.mine(tag="branch c")
    for name, chain in (("a", a), ("b", b), ("c", c)):
        write_blk_files(tmp_path / name, REGTEST, chain.blocks)
    lake, whole = tmp_path / "lake", tmp_path / "whole"
    _export(lake, tmp_path / "a", 2, "--network", "regtest", "--part-blocks", "2")
    _export(lake, tmp_path / "b", 2, "--network", "regtest")
    _export(whole, tmp_path / "b", 1, "--network", "regtest", "--part-blocks", "2")
    assert _files(lake) == _files(whole)
    capsys.readouterr()
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "c"), "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "the lake's block 5 is" in err and "the chain was reorganised below the lake's tip" in err
    assert main(["lake", "export", str(lake), "--blocks-dir", str(tmp_path / "a"), "--workers", "2"]) == 1
    assert "the source ends below the lake's tip 6: it has no block 5" in capsys.readouterr().err
    assert _files(lake) == _files(whole)


def test_a_workers_parse_error_names_the_file_and_byte(real_blocks: Path, tmp_path: Path) -> None:
    """A damaged block fails in the worker that reads it; the error comes back whole, nothing of its
    part is left, and the parts before it stay listed."""
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    data = bytearray((real_blocks / "blk00000.dat").read_bytes())
    # Block 170 (Satoshi to Hal Finney) is the chain's first with two transactions; flip a byte of the
    # second one's output value: the header stays valid (the scan keeps the block), the merkle root no longer matches.
    from minerwatch.chain.blkfiles import best_chain, scan

    rec = best_chain(scan(real_blocks, get_network("mainnet")), get_network("mainnet")).records[170]
    data[rec.offset + rec.size_bytes - 60] ^= 0xFF
    (blocks / "blk00000.dat").write_bytes(bytes(data))
    lake = tmp_path / "lake"
    with pytest.raises(ParseError) as e:
        from minerwatch.lake.export import blk_source, export

        export(str(lake), get_network("mainnet"), blk_source(blocks, get_network("mainnet"), workers=2),
               part_blocks=50)
    assert e.value.source == "blk00000.dat" and e.value.offset >= rec.offset
    assert [last for _, last in _listed(lake)] == [49, 99, 149]
    # Nothing but the manifest and the three parts' five files: the parts the other worker finished
    # after the failed one are deleted with it.
    assert len(_files(lake)) == 1 + 3 * 5


# Kills itself (SIGKILL: no clean-up, no flush) when the manifest has just listed its K-th part,
# after printing the processes it started (the fork server and the workers) for the test to watch.
_KILLED_EXPORT = """
import os, signal, sys
from pathlib import Path
from minerwatch.lake.export import blk_source, export
from minerwatch.networks import get_network
sys.path.insert(0, sys.argv[4])
from procs import descendants
net = get_network("regtest")
listed = 0
def die(part):
    global listed
    listed += 1
    if listed == int(sys.argv[3]):
        print(" ".join(map(str, descendants(os.getpid()))), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
export(sys.argv[1], net, blk_source(Path(sys.argv[2]), net, workers=2), part_blocks=%d, on_part=die)
""" % PART_BLOCKS


def _wait_gone(pids: set[int]) -> None:
    # A worker checks for its parent once a second (blkfiles.PARENT_CHECK_S).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)]


@pytest.mark.parametrize("killed_after_parts", [1, 7])
def test_killed_two_worker_export_resumes_to_the_one_process_lake(chain_blocks: Path, tmp_path: Path,
                                                                   killed_after_parts: int) -> None:
    whole = tmp_path / "whole"
    _export(whole, chain_blocks, 1, "--network", "regtest", "--part-blocks", str(PART_BLOCKS))
    lake = tmp_path / "lake"
    # Pipes: the workers hold the export's standard streams, and subprocess.run reaps the killed
    # export only once they end, so the workers must leave while their parent is a zombie.
    r = subprocess.run([sys.executable, "-c", _KILLED_EXPORT, str(lake), str(chain_blocks), str(killed_after_parts),
                        str(Path(__file__).parent)], capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    started = {int(p) for p in r.stdout.split()}
    assert len(started) >= 3, started                # the fork server and two workers
    _wait_gone(started)
    # The manifest lists the parts in height order up to the K-th, and nothing after it, although
    # the workers had gone on past it (their files, renamed or partial, are not listed).
    assert _listed(lake) == [(k * PART_BLOCKS, k * PART_BLOCKS + PART_BLOCKS - 1) for k in range(killed_after_parts)]
    assert len(_files(lake)) > 1 + 5 * killed_after_parts
    _export(lake, chain_blocks, 2, "--network", "regtest")
    assert _files(lake) == _files(whole)


def _until_two_parts_listed(proc: subprocess.Popen, lake: Path, what: str) -> set[int]:
    """Wait (≤ 60 s) until the running export `proc` has listed two parts; returns the processes seen
    below it meanwhile (its workers). Skips when the export ended first."""
    deadline = time.monotonic() + 60
    started: set[int] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        started |= descendants(proc.pid)
        try:
            if len(_listed(lake)) >= 2:
                break
        except Exception:  # noqa: BLE001 - the manifest is replaced by a move; a read may meet none
            pass
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip(f"the export ended before it could be {what} (machine too fast for this chain)")
    return started


def test_two_worker_export_killed_from_outside_resumes(chain_blocks: Path, tmp_path: Path) -> None:
    """`kill -9` of the command at whatever moment the second part shows in the manifest."""
    whole = tmp_path / "whole"
    _export(whole, chain_blocks, 1, "--network", "regtest", "--part-blocks", str(PART_BLOCKS))
    lake = tmp_path / "lake"
    proc = subprocess.Popen([sys.executable, "-m", "minerwatch", "lake", "export", str(lake), "--blocks-dir",
                             str(chain_blocks), "--network", "regtest", "--workers", "2", "--part-blocks",
                             str(PART_BLOCKS)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = _until_two_parts_listed(proc, lake, "killed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    _wait_gone(started)
    listed = _listed(lake)
    assert 2 <= len(listed) < CHAIN_BLOCKS // PART_BLOCKS
    assert listed == [(k * PART_BLOCKS, k * PART_BLOCKS + PART_BLOCKS - 1) for k in range(len(listed))]
    _export(lake, chain_blocks, 2, "--network", "regtest")
    assert _files(lake) == _files(whole)


def test_ctrl_c_stops_a_two_worker_export_leaving_only_listed_parts(chain_blocks: Path, tmp_path: Path) -> None:
    """Ctrl-C in a terminal interrupts the export and its workers together (one process group):
    the export stops at once, deletes what its workers had half-written or not yet listed, and the
    next run continues to the one-process lake."""
    whole = tmp_path / "whole"
    _export(whole, chain_blocks, 1, "--network", "regtest", "--part-blocks", str(PART_BLOCKS))
    lake = tmp_path / "lake"
    proc = subprocess.Popen([sys.executable, "-m", "minerwatch", "lake", "export", str(lake), "--blocks-dir",
                             str(chain_blocks), "--network", "regtest", "--workers", "2", "--part-blocks",
                             str(PART_BLOCKS)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _until_two_parts_listed(proc, lake, "interrupted")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    listed = _listed(lake)
    assert listed == [(k * PART_BLOCKS, k * PART_BLOCKS + PART_BLOCKS - 1) for k in range(len(listed))]
    # The manifest and the listed parts' five files each, nothing else.
    assert len(_files(lake)) == 1 + 5 * len(listed)
    _export(lake, chain_blocks, 2, "--network", "regtest")
    assert _files(lake) == _files(whole)
