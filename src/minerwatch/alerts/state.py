"""What each rule last saw, kept in a JSON file in the data directory, so an alert fires once per
crossing and an alert a channel did not take is sent to that channel again, and to no other."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from minerwatch.errors import MinerwatchError


@dataclass(frozen=True, slots=True)
class RuleState:
    fingerprint: str            # the rule's condition when this was recorded
    active: bool                # the condition held at the last evaluation
    side: str | None            # for `crosses`: "above" or "below" the threshold
    day: str | None             # the day of the value last evaluated (ISO)
    value: float | str | None
    last_fired_day: str | None
    undelivered: tuple[str, ...] = ()   # channels that have not taken the last alert yet
    alert: dict[str, Any] | None = field(default=None)   # that alert's payload, to send again as it was


def default_state_path(rules_path: Path, db_path: Path, data_dir: Path) -> Path:
    """The state of one rules file judged on one database, in the data directory: a file per pair,
    so the same rules on the demo's and on the real database keep apart, and a read-only checkout
    of the rules file is no obstacle."""
    key = f"{rules_path.resolve()}\0{db_path.resolve()}".encode()
    return data_dir / "alerts" / f"{rules_path.stem}-{hashlib.sha256(key).hexdigest()[:12]}.state.json"


def beside_rules_path(rules_path: Path) -> Path:
    """Where earlier versions kept the state: RULES.state.json beside the rules file."""
    return rules_path.with_name(rules_path.name + ".state.json")


def load_state(path: Path) -> dict[str, RuleState]:
    """Rule name → last state; empty when the file does not exist yet."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: RuleState(**(d | {"undelivered": tuple(d.get("undelivered", ()))})) for name, d in raw.items()}
    except (OSError, ValueError, TypeError) as e:
        raise MinerwatchError(f"alert state file {path} is unreadable: {e}",
                              "delete it to start afresh (every active condition fires once more)") from e


def save_state(path: Path, state: dict[str, RuleState]) -> None:
    """Write atomically (temp file + rename): a crash never leaves half a state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(state.items())}, indent=2), encoding="utf-8")
    os.replace(tmp, path)
