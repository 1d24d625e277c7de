"""After `minerwatch demo`, the README's commands work without --db, and a real sync never mixes
with the demo's simnet data: readers fall back to the demo's database while the default one holds
no blocks; writers never do."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from minerwatch.cli import WRITING_COMMANDS, main
from web_support import build_db

ROOT = Path(__file__).resolve().parents[1]
BLK = ROOT / "tests" / "data" / "blkfiles" / "mainnet-heights-0-438.dat"
MAINNET_438 = "0000000025c6b644f8add734be7e666fa4afa43ca0204d623a0c0b1fd2104c7a"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's data directory (XDG_DATA_HOME/minerwatch) with nothing in it yet."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MINERWATCH_DB", raising=False)
    d = tmp_path / "xdg" / "minerwatch"
    d.mkdir(parents=True)
    return d


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simnet database standing in for the demo's (web_support's 30-day chain: tip 840,000 + 30 × 144 − 1)."""
    return build_db(tmp_path_factory.mktemp("small-demo") / "demo.duckdb", days=30, network="simnet")


def test_readers_fall_back_to_the_demo_writers_never(data_dir: Path, small_demo: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(small_demo, data_dir / "demo.duckdb")
    demo_bytes = (data_dir / "demo.duckdb").read_bytes()
    code, out, err = _run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["network"] == "simnet" and json.loads(out)["tip_height"] == 844_319
    assert f"reading the demo's database, {data_dir / 'demo.duckdb'} (simulated chain)" in err
    # A real sync without --db writes the default database, not the demo's.
    (tmp_path / "blocks").mkdir()
    shutil.copy(BLK, tmp_path / "blocks" / "blk00000.dat")
    code, _, err = _run(capsys, "sync", "--blocks-dir", str(tmp_path / "blocks"), "--workers", "1")
    assert code == 0 and f"writing to {data_dir / 'minerwatch.duckdb'}" in err
    assert (data_dir / "demo.duckdb").read_bytes() == demo_bytes          # untouched
    # From then on every command reads the real database, silently.
    code, out, err = _run(capsys, "status", "--json")
    doc = json.loads(out)
    assert (doc["network"], doc["tip_height"], doc["tip_hash"]) == ("mainnet", 438, MAINNET_438)
    assert "demo" not in err
    # The demo's file refuses mainnet blocks: its network is simnet.
    code, _, err = _run(capsys, "sync", "--blocks-dir", str(tmp_path / "blocks"), "--workers", "1",
                        "--db", str(data_dir / "demo.duckdb"))
    assert code == 1 and "not simnet" in err
    assert (data_dir / "demo.duckdb").read_bytes() == demo_bytes


def test_an_empty_default_database_still_reads_the_demo(data_dir: Path, small_demo: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # A command that writes (here a pool list; or a first sync refused before its first block)
    # creates the default database with no blocks: readers keep to the demo until it holds some.
    shutil.copy(small_demo, data_dir / "demo.duckdb")
    code, _, _ = _run(capsys, "pools", "update", str(ROOT / "src" / "minerwatch" / "data" / "pools-v2.json"))
    assert code == 0 and (data_dir / "minerwatch.duckdb").exists()
    code, out, err = _run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["network"] == "simnet" and "reading the demo's database" in err


def test_no_fallback_when_the_user_names_a_database(data_dir: Path, small_demo: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(small_demo, data_dir / "demo.duckdb")
    monkeypatch.setenv("MINERWATCH_DB", str(tmp_path / "mine.duckdb"))
    code, _, err = _run(capsys, "status")
    assert code == 1 and f"no database at {tmp_path / 'mine.duckdb'}" in err
    monkeypatch.delenv("MINERWATCH_DB")
    code, _, err = _run(capsys, "status", "--db", str(tmp_path / "other.duckdb"))
    assert code == 1 and f"no database at {tmp_path / 'other.duckdb'}" in err


def _readme_commands() -> list[list[str]]:
    """The command lines of the README's *Use it on your node* block, comments dropped."""
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("## Use it on your node"):readme.index("Every command takes `--db PATH`")]
    lines = [ln.strip().split("  #")[0].strip() for ln in block.splitlines() if ln.startswith("    minerwatch ")]
    return [shlex.split(ln)[1:] for ln in lines]


def test_readme_commands_work_on_the_demo(data_dir: Path, demo_db: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (data_dir / "demo.duckdb").symlink_to(demo_db)
    monkeypatch.chdir(ROOT)                              # docs/examples/… as the README writes them
    commands = _readme_commands()
    assert ["brief", "--since", "2024-04-01"] in commands and len(commands) >= 15
    ran = []
    for args in commands:
        if (f"minerwatch {' '.join(args[:2])}" in WRITING_COMMANDS or args[0] in ("sync", "serve")
                or "--file" in args):
            continue                     # they write your database (never the demo's), or need a node or a server
        code, out, err = _run(capsys, *args)
        if args[:2] == ["block", "840000"]:
            # The demo's chain is 69,710 blocks long: a clear error, not a wrong block.
            assert code == 1 and "block 840000 is not in the database (stored tip: 69709)" in err
            continue
        assert code == 0, (args, err)
        assert "reading the demo's database" in err or args[:2] == ["metrics", "--list"], args
        assert out.strip(), args
        ran.append(args[0])
    assert {"status", "metrics", "miners", "calc", "capitulation", "alerts", "brief"} <= set(ran)
    # The README's breakeven line, on the demo: the market is its tip's, so the power price is there too.
    code, out, _ = _run(capsys, "calc", "breakeven", "--efficiency-j-per-th", "20", "--power-usd-per-kwh",
                        "0.072", "--json")
    doc = json.loads(out)
    assert doc["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(34.56)          # 20 × 24 × 0.072
    assert doc["breakeven_power_usd_per_kwh"] == pytest.approx(doc["hashprice_usd_per_ph_day"] / 480)
    assert "simnet database" in doc["difficulty_source"]
