"""Ctrl-C inside a DuckDB call, and the clean-up that fails after it, end as one interruption.

The sync runs inside a transaction. Ctrl-C during a query there aborts the transaction, and a
`finally` that unregisters a registered Arrow table then fails with DuckDB's "Current transaction
is aborted". That second error is the one that reaches the CLI, with the interruption as its
context: the CLI must still say "interrupted" and exit 130, not print a traceback (a Ctrl-C that
landed in `upsert_prices` during the final refresh did exactly that once).
"""
from __future__ import annotations

import argparse
import threading

import duckdb
import pyarrow as pa
import pytest

from minerwatch.cli import _caused_by_interrupt, main


def _interrupted_then_cleanup_fails() -> duckdb.Error:
    """The real sequence on a real connection: a registered table, a transaction, a long query
    interrupted from another thread (what Ctrl-C does), then the unregister in `finally`."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    con.execute("BEGIN")
    con.register("_rows", pa.table({"x": [1]}))
    timer = threading.Timer(0.3, con.interrupt)
    timer.start()
    try:
        try:
            con.execute("SELECT count(*) FROM range(100000000000) a, range(10) b").fetchall()
        finally:
            con.unregister("_rows")
    except duckdb.Error as e:
        return e
    finally:
        timer.cancel()
    raise AssertionError("the query was not interrupted")


def test_cleanup_error_after_an_interrupt_is_the_interruption() -> None:
    e = _interrupted_then_cleanup_fails()
    # The error itself is not an interruption: only its context says it came from one.
    assert isinstance(e, duckdb.TransactionException), e
    assert "aborted" in str(e)
    assert isinstance(e.__context__, duckdb.InterruptException)
    assert _caused_by_interrupt(e)


def test_a_failure_without_an_interrupt_is_not_called_one() -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as info:
        con.execute("SELECT * FROM no_such_table")
    assert not _caused_by_interrupt(info.value)
    assert not _caused_by_interrupt(RuntimeError("disk full"))


def test_main_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    error = _interrupted_then_cleanup_fails()

    def interrupted_command(args: argparse.Namespace) -> int:
        raise error

    class Parser:   # the parsed command is one that fails as an interrupted sync's refresh did
        def parse_args(self, argv: list[str]) -> argparse.Namespace:
            return argparse.Namespace(command="demo", func=interrupted_command)

    import minerwatch.cli as cli
    monkeypatch.setattr(cli, "build_parser", Parser)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err == "interrupted; everything committed so far is kept\n"


def test_our_error_raised_while_stopping_on_ctrl_c_is_the_interruption(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from minerwatch.errors import MinerwatchError

    def interrupted_command(args: argparse.Namespace) -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise MinerwatchError("the node stopped answering", "start it again")

    class Parser:
        def parse_args(self, argv: list[str]) -> argparse.Namespace:
            return argparse.Namespace(command="demo", func=interrupted_command)

    import minerwatch.cli as cli
    monkeypatch.setattr(cli, "build_parser", Parser)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err == "interrupted; everything committed so far is kept\n"
