"""Alerts against a real local HTTP server and a real local SMTP server (aiosmtpd), once per crossing."""

from __future__ import annotations

import email
import json
import socket
import threading
import tomllib
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller

from handfilled_series import days, install
from minerwatch.alerts.engine import run_rules
from minerwatch.alerts.rules import parse_rules
from minerwatch.alerts.state import RuleState, load_state, save_state
from minerwatch.cli import main
from minerwatch.errors import UsageError

D0 = date(2024, 3, 1)
# Hashprice over five days: 50 (above 40), 38 (crosses below: fires), 35 (still below: silent),
# 45 (back above: re-arms), 39 (below again: fires). Two alerts in all.
HASHPRICE = [50.0, 38.0, 35.0, 45.0, 39.0]
# Price for the `crosses 100,000` rule: 90,000 (first value: only sets the side), 110,000 (crosses
# up: fires), 120,000 (silent), 95,000 (crosses down: fires), 95,000 (silent). Two alerts.
PRICE = [90_000.0, 110_000.0, 120_000.0, 95_000.0, 95_000.0]


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"content_type": self.headers["Content-Type"], **json.loads(body)})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))  # type: ignore[attr-defined]
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[tuple[int, _Inbox]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield port, inbox
    ctl.stop()


@pytest.fixture()
def con(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(tmp_path / "t.duckdb"))
    install(c, monkeypatch, {"hashprice_usd_per_ph_day": days(D0, HASHPRICE), "price_usd": days(D0, PRICE)})
    return c


def _rules(url: str, smtp_port: int) -> str:
    return f"""
[[channels]]
name = "hook"
type = "webhook"
url = "{url}"

[[channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {smtp_port}
from = "minerwatch@example.org"
to = ["desk@example.org"]

[[rules]]
name = "hashprice under 40"
metric = "hashprice_usd_per_ph_day"
below = 40

[[rules]]
name = "price crosses 100k"
metric = "price_usd"
crosses = 100000
channels = ["hook"]
"""


def test_each_crossing_fires_once(con: duckdb.DuckDBPyConnection, hook: tuple[str, type[_Hook]],
                                  smtp: tuple[int, _Inbox]) -> None:
    url, received = hook
    port, inbox = smtp
    rules = parse_rules(tomllib.loads(_rules(url, port)))
    state: dict[str, RuleState] = {}
    fired_days = []
    for i in range(5):
        outcomes, state, errors = run_rules(con, rules, state, date(2024, 3, 1 + i))
        assert errors == []
        fired_days.append([o.rule for o in outcomes if o.fired])
    assert fired_days == [[], ["hashprice under 40", "price crosses 100k"], [], ["price crosses 100k"],
                          ["hashprice under 40"]]
    # The webhook got four JSON POSTs: both hashprice alerts and both price crossings.
    posts = received.received
    assert [(p["rule"], p["value"], p["day"]) for p in posts] == [
        ("hashprice under 40", 38.0, "2024-03-02"), ("price crosses 100k", 110000.0, "2024-03-02"),
        ("price crosses 100k", 95000.0, "2024-03-04"), ("hashprice under 40", 39.0, "2024-03-05")]
    assert posts[0]["content_type"] == "application/json" and posts[0]["source"] == "minerwatch"
    assert posts[0]["message"] == "hashprice_usd_per_ph_day is 38 on 2024-03-02: hashprice_usd_per_ph_day below 40"
    assert "crossed to below" in str(posts[2]["message"])
    # The mail server got the two hashprice alerts only (the price rule names just the hook).
    assert [m["Subject"] for m in inbox.messages] == ["minerwatch alert: hashprice under 40"] * 2
    assert inbox.envelopes[0] == ("minerwatch@example.org", ["desk@example.org"])
    assert "is 39 on 2024-03-05" in inbox.messages[1].get_payload()


def test_failed_delivery_is_retried_to_that_channel_only(con: duckdb.DuckDBPyConnection,
                                                          hook: tuple[str, type[_Hook]],
                                                          smtp: tuple[int, _Inbox]) -> None:
    url, received = hook
    port, inbox = smtp
    rules = parse_rules(tomllib.loads(_rules(url, port)))
    rules = type(rules)(rules.channels, rules.rules[:1])          # "hashprice under 40": hook and mail
    received.status = 500
    # Day 2: 38 < 40 fires. The mail server takes it, the webhook answers 500.
    outcomes, state, errors = run_rules(con, rules, {}, date(2024, 3, 2))
    assert errors == ["hashprice under 40 → hook: webhook hook answered HTTP 500"]
    assert outcomes[0].fired and "not delivered to hook" in outcomes[0].note
    assert state["hashprice under 40"].undelivered == ("hook",)
    assert len(inbox.messages) == 1 and len(received.received) == 1
    received.status = 200
    # Day 3: 35, still below, so nothing new fires; the webhook gets day 2's alert (38 on
    # 2024-03-02), and the mail server, which has it already, gets nothing.
    outcomes, state, errors = run_rules(con, rules, state, date(2024, 3, 3))
    assert errors == [] and not outcomes[0].fired and "earlier alert delivered to hook" in outcomes[0].note
    assert [(p["rule"], p["value"], p["day"]) for p in received.received[1:]] == [("hashprice under 40", 38.0, "2024-03-02")]
    assert len(inbox.messages) == 1
    assert state["hashprice under 40"].undelivered == () and state["hashprice under 40"].alert is None
    # Day 4: 45, back above: no one is sent anything.
    outcomes, state, errors = run_rules(con, rules, state, date(2024, 3, 4))
    assert errors == [] and len(received.received) == 2 and len(inbox.messages) == 1


def test_a_failed_delivery_survives_in_the_state_file(con: duckdb.DuckDBPyConnection, tmp_path: Path,
                                                      hook: tuple[str, type[_Hook]]) -> None:
    url, received = hook
    rules = parse_rules({"channels": [{"name": "hook", "type": "webhook", "url": url}],
                         "rules": [{"name": "low", "metric": "hashprice_usd_per_ph_day", "below": 40}]})
    received.status = 503
    _, state, _ = run_rules(con, rules, {}, date(2024, 3, 2))
    save_state(tmp_path / "s.json", state)
    received.status = 200
    _, state, errors = run_rules(con, rules, load_state(tmp_path / "s.json"), date(2024, 3, 3))
    assert errors == [] and [p["day"] for p in received.received] == ["2024-03-02", "2024-03-02"]
    assert state["low"].last_fired_day == "2024-03-02"


def test_unreachable_webhook(con: duckdb.DuckDBPyConnection) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]               # nothing listens here once the socket closes
    rules = parse_rules({"channels": [{"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{dead}/"}],
                         "rules": [{"name": "low", "metric": "hashprice_usd_per_ph_day", "below": 40}]})
    _, _, errors = run_rules(con, rules, {}, date(2024, 3, 2))
    assert len(errors) == 1 and errors[0].startswith("low → hook: webhook hook:")


def test_edited_rule_starts_afresh(con: duckdb.DuckDBPyConnection, capsys: pytest.CaptureFixture[str]) -> None:
    below40 = parse_rules({"rules": [{"name": "low", "metric": "hashprice_usd_per_ph_day", "below": 40}]})
    _, state, _ = run_rules(con, below40, {}, date(2024, 3, 2))
    below36 = parse_rules({"rules": [{"name": "low", "metric": "hashprice_usd_per_ph_day", "below": 36}]})
    # 35 < 36 on day 3: the old state (fired at 40) belongs to another condition, so this fires.
    outcomes, _, _ = run_rules(con, below36, state, date(2024, 3, 3))
    assert outcomes[0].fired
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ALERT")]
    assert lines == ["ALERT 2024-03-02 low: hashprice_usd_per_ph_day is 38 on 2024-03-02: hashprice_usd_per_ph_day below 40",
                     "ALERT 2024-03-03 low: hashprice_usd_per_ph_day is 35 on 2024-03-03: hashprice_usd_per_ph_day below 36"]


def test_missing_metric_data_is_reported(tmp_path: Path) -> None:
    empty = duckdb.connect(str(tmp_path / "empty.duckdb"))
    rules = parse_rules({"rules": [{"name": "low", "metric": "hashprice_usd_per_ph_day", "below": 40}]})
    outcomes, state, _ = run_rules(empty, rules, {})
    assert outcomes[0].active is None and outcomes[0].note.startswith("no data for hashprice_usd_per_ph_day")
    assert state == {}


def test_capitulation_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    c = duckdb.connect(str(tmp_path / "c.duckdb"))
    # Hash ribbons negative from day 2 and MPI above 2 from day 3: capitulation from 2024-03-03 on.
    install(c, monkeypatch, {"hash_ribbon_spread_pct": days(D0, [1.0, -1.0, -1.0, -1.0]),
                             "mpi": days(D0, [1.0, 1.0, 3.0, 3.0])})
    rules = parse_rules({"rules": [{"name": "cap", "capitulation": "capitulation"}]})
    state: dict[str, RuleState] = {}
    fired = []
    for i in range(4):
        outcomes, state, _ = run_rules(c, rules, state, date(2024, 3, 1 + i))
        fired.append((outcomes[0].value, outcomes[0].fired))
    assert fired == [("calm", False), ("watch", False), ("capitulation", True), ("capitulation", False)]


@pytest.mark.parametrize("doc, message", [
    ({"rules": [{"metric": "x", "below": 1, "above": 2}]}, "exactly one of below, above, crosses"),
    ({"rules": [{"metric": "x", "below": 1, "channels": ["nope"]}]}, "unknown channel"),
    ({"channels": [{"name": "m", "type": "email", "host": "h", "from": "a@b", "to": "c@d", "password": "x"}],
      "rules": [{"metric": "x", "below": 1}]}, "passwords do not belong"),
    ({"channels": [{"name": "p", "type": "pager"}], "rules": [{"metric": "x", "below": 1}]}, "type 'pager'"),
    ({"rules": [{"capitulation": "panic"}]}, "capitulation = one of"),
    ({"rules": []}, "no \\[\\[rules\\]\\]"),
])
def test_bad_rules(doc: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_rules(doc)


def test_state_file_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "rules.toml.state.json"
    s = {"low": RuleState("abc", True, None, "2024-03-02", 38.0, "2024-03-02")}
    save_state(p, s)
    assert load_state(p) == s and not (tmp_path / "rules.toml.state.json.tmp").exists()


def test_cli_alerts_run(con: duckdb.DuckDBPyConnection, tmp_path: Path, hook: tuple[str, type[_Hook]],
                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, received = hook
    con.close()
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv("MINERWATCH_DB", raising=False)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    rules = rules_dir / "rules.toml"
    rules.write_text(f'[[channels]]\nname = "hook"\ntype = "webhook"\nurl = "{url}"\n'
                     '[[rules]]\nname = "low"\nmetric = "hashprice_usd_per_ph_day"\nbelow = 40\n')
    db = str(tmp_path / "t.duckdb")
    for day in ("2024-03-02", "2024-03-03"):     # the second run sees the same condition: silent
        assert main(["alerts", "run", str(rules), "--db", db, "--as-of", day, "--json"]) == 0
    runs = [json.loads(x) for x in capsys.readouterr().out.replace("}\n{", "}\n\x00{").split("\x00")]
    assert [r["outcomes"][0]["fired"] for r in runs] == [True, False]
    assert len(received.received) == 1
    # The state is in the data directory (XDG_DATA_HOME/minerwatch/alerts/), one file for this
    # rules file on this database; nothing beside the rules.
    state_file = Path(runs[0]["state_file"])
    assert state_file.parent == data / "minerwatch" / "alerts" and state_file.name.startswith("rules-")
    assert sorted(p.name for p in rules_dir.iterdir()) == ["rules.toml"]
    assert json.loads(state_file.read_text())["low"]["last_fired_day"] == "2024-03-02"
    # The same rules on another database keep their own state.
    other = str(tmp_path / "other.duckdb")
    Path(db).rename(other)
    assert main(["alerts", "run", str(rules), "--db", other, "--as-of", "2024-03-03", "--json"]) == 0
    third = json.loads(capsys.readouterr().out)
    assert third["state_file"] != str(state_file) and third["outcomes"][0]["fired"] is True


def test_state_beside_the_rules_is_carried_over(con: duckdb.DuckDBPyConnection, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    con.close()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "low"\nmetric = "hashprice_usd_per_ph_day"\nbelow = 40\n')
    db = str(tmp_path / "t.duckdb")
    # A state file where earlier versions kept it, saying "low" fired on day 2.
    fired = parse_rules(tomllib.loads(rules.read_text())).rules[0]
    save_state(tmp_path / "rules.toml.state.json",
               {"low": RuleState(fired.fingerprint, True, None, "2024-03-02", 38.0, "2024-03-02")})
    assert main(["alerts", "run", str(rules), "--db", db, "--as-of", "2024-03-03", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["outcomes"][0]["fired"] is False          # 35 on day 3: still below, fired already


def test_the_example_rules_run_as_the_readme_writes_them(con: duckdb.DuckDBPyConnection, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`minerwatch alerts run docs/examples/alerts.toml` delivers to stdout and exits 0: its webhook
    and mail channels are commented-out examples."""
    con.close()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    example = Path(__file__).resolve().parents[1] / "docs" / "examples" / "alerts.toml"
    assert [c.type for c in parse_rules(tomllib.loads(example.read_text())).channels] == ["stdout"]
    assert "hooks.example.com" in example.read_text()       # still shown, as an example
    assert main(["alerts", "run", str(example), "--db", str(tmp_path / "t.duckdb"), "--as-of", "2024-03-02"]) == 0
    # Day 2: hashprice 38 < 40 fires; the price, 110,000, is only the first value of its `crosses` rule.
    alerts = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ALERT")]
    assert alerts == ["ALERT 2024-03-02 hashprice under 40: hashprice_usd_per_ph_day is 38 on 2024-03-02: "
                      "hashprice_usd_per_ph_day below 40"]
