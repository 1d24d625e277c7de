"""The rules file (TOML): where alerts go (channels) and when they fire (rules).

    [[channels]]
    name = "ops"
    type = "webhook"                    # stdout | webhook | email
    url = "https://hooks.example.com/minerwatch"

    [[channels]]
    name = "mail"
    type = "email"
    host = "smtp.example.com"
    port = 587
    starttls = true
    from = "minerwatch@example.com"
    to = ["desk@example.com"]
    username = "minerwatch"             # optional
    password_env = "MINERWATCH_SMTP_PASSWORD"   # the password comes from the environment only

    [[rules]]
    name = "hashprice under 40"
    metric = "hashprice_usd_per_ph_day"
    below = 40.0                        # or: above = …, or crosses = … (either direction)
    channels = ["ops"]                  # default: every channel

    [[rules]]
    name = "miners capitulating"
    capitulation = "capitulation"       # fires when the capitulation state becomes this
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minerwatch.economics.catalog import read_user_text
from minerwatch.errors import UsageError

CHANNEL_TYPES = ("stdout", "webhook", "email")
CAPITULATION_STATES = ("capitulation", "watch", "calm")


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    type: str
    url: str = ""
    host: str = ""
    port: int = 25
    starttls: bool = False
    sender: str = ""
    recipients: tuple[str, ...] = ()
    username: str = ""
    password_env: str = ""
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    metric: str | None                 # None for a capitulation rule
    op: str                            # below | above | crosses | capitulation
    threshold: float | None
    state: str | None                  # the capitulation state that fires
    cohort: str
    channels: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """Changes when the condition changes, so that an edited rule starts afresh."""
        key = json.dumps([self.metric, self.op, self.threshold, self.state, self.cohort])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def condition(self) -> str:
        if self.op == "capitulation":
            return f"capitulation state is {self.state}"
        return f"{self.metric} {self.op} {self.threshold:g}"  # type: ignore[str-format]


@dataclass(frozen=True, slots=True)
class RuleSet:
    channels: tuple[Channel, ...]
    rules: tuple[Rule, ...]


def _err(where: str, what: str) -> UsageError:
    return UsageError(f"{where}: {what}", "see docs/economics.md (Alerts) for the rules file")


def _channel(d: dict[str, Any], i: int) -> Channel:
    where = f"channels #{i}"
    name, kind = str(d.get("name", "")).strip(), str(d.get("type", "")).strip()
    if not name:
        raise _err(where, "needs a name")
    if kind not in CHANNEL_TYPES:
        raise _err(where, f"type {kind!r} is not one of {', '.join(CHANNEL_TYPES)}")
    if kind == "webhook" and not str(d.get("url", "")).startswith(("http://", "https://")):
        raise _err(where, "a webhook needs url = \"http(s)://…\"")
    to = d.get("to", [])
    recipients = (to,) if isinstance(to, str) else tuple(str(x) for x in to)
    if kind == "email" and (not d.get("host") or not d.get("from") or not recipients):
        raise _err(where, "an email channel needs host, from and to")
    if "password" in d:
        raise _err(where, "passwords do not belong in the rules file: set password_env to an environment variable")
    return Channel(name, kind, str(d.get("url", "")), str(d.get("host", "")), int(d.get("port", 25)),
                   bool(d.get("starttls", False)), str(d.get("from", "")), recipients,
                   str(d.get("username", "")), str(d.get("password_env", "")), float(d.get("timeout_s", 10.0)))


def _rule(d: dict[str, Any], i: int, channel_names: tuple[str, ...]) -> Rule:
    name = str(d.get("name", "")).strip() or f"rule {i}"
    where = f"rules #{i} ({name})"
    ops = [k for k in ("below", "above", "crosses") if k in d]
    chans = tuple(str(c) for c in d.get("channels", channel_names))
    unknown = [c for c in chans if c not in channel_names]
    if unknown:
        raise _err(where, f"unknown channel(s) {', '.join(unknown)}")
    if "capitulation" in d:
        state = str(d["capitulation"])
        if state not in CAPITULATION_STATES or ops or "metric" in d:
            raise _err(where, f"capitulation = one of {', '.join(CAPITULATION_STATES)}, with no metric or threshold")
        return Rule(name, None, "capitulation", None, state, "0hop", chans)
    if "metric" not in d or len(ops) != 1:
        raise _err(where, "give metric = \"…\" and exactly one of below, above, crosses")
    value = d[ops[0]]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _err(where, f"{ops[0]} must be a finite number")
    return Rule(name, str(d["metric"]), ops[0], float(value), None, str(d.get("cohort", "0hop")), chans)


def parse_rules(doc: dict[str, Any]) -> RuleSet:
    """A RuleSet from a parsed TOML document; names must be unique."""
    channels = tuple(_channel(c, i) for i, c in enumerate(doc.get("channels", []), start=1))
    if not channels:
        channels = (Channel("stdout", "stdout"),)
    names = tuple(c.name for c in channels)
    rules = tuple(_rule(r, i, names) for i, r in enumerate(doc.get("rules", []), start=1))
    for kind, seen in (("channel", names), ("rule", tuple(r.name for r in rules))):
        dup = {n for n in seen if seen.count(n) > 1}
        if dup:
            raise _err("rules file", f"{kind} name(s) used twice: {', '.join(sorted(dup))}")
    if not rules:
        raise _err("rules file", "no [[rules]]")
    return RuleSet(channels, rules)


def load_rules(path: Path) -> RuleSet:
    """Read and check a rules file."""
    text = read_user_text(path, "rules file")
    try:
        return parse_rules(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: not valid TOML: {e}", "see docs/economics.md (Alerts)") from e
