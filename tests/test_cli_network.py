"""Every command that reads a database takes --db and --network; a mismatch is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from minerwatch.cli import _leaves, build_parser, main

BLK = Path(__file__).parent / "data" / "blkfiles"


def test_every_database_command_takes_db_and_network() -> None:
    for command, leaf in _leaves(build_parser(), "minerwatch"):
        options = {o for a in leaf._actions for o in a.option_strings}
        if command.startswith("minerwatch calc "):
            continue  # the calculators need no chain and no database
        if command in ("minerwatch lake export", "minerwatch lake cohorts", "minerwatch lake spark"):
            # They read blk files, a node or a lake and write Parquet: no database. (lake import,
            # which writes one, is checked.) The lake records its network in its manifest.
            continue
        assert "--db" in options, command
        if command != "minerwatch demo":  # the demo builds its own simnet database
            assert "--network" in options, command


def test_network_mismatch_is_refused_before_anything_is_read(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(BLK / "mainnet-heights-1-255.dat", blocks / "blk00000.dat")
    db = tmp_path / "m.duckdb"
    assert main(["sync", "--blocks-dir", str(blocks), "--db", str(db), "--workers", "1"]) == 0
    capsys.readouterr()
    for argv in (["status"], ["metrics", "difficulty"], ["miners", "reserve"], ["brief"]):
        assert main([*argv, "--db", str(db), "--network", "signet"]) == 1, argv
        err = capsys.readouterr().err
        assert "holds mainnet data, not signet" in err and "hint: use --network mainnet" in err
    assert main(["status", "--db", str(db), "--network", "mainnet", "--json"]) == 0
