"""What each rule last saw, kept in a JSON file beside the rules, so an alert fires once per crossing."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from minerwatch.errors import MinerwatchError


@dataclass(frozen=True, slots=True)
class RuleState:
    fingerprint: str            # the rule's condition when this was recorded
    active: bool                # the condition held at the last evaluation
    side: str | None            # for `crosses`: "above" or "below" the threshold
    day: str | None             # the day of the value last evaluated (ISO)
    value: float | str | None
    last_fired_day: str | None


def default_state_path(rules_path: Path) -> Path:
    return rules_path.with_name(rules_path.name + ".state.json")


def load_state(path: Path) -> dict[str, RuleState]:
    """Rule name → last state; empty when the file does not exist yet."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: RuleState(**d) for name, d in raw.items()}
    except (OSError, ValueError, TypeError) as e:
        raise MinerwatchError(f"alert state file {path} is unreadable: {e}",
                              "delete it to start afresh (every active condition fires once more)") from e


def save_state(path: Path, state: dict[str, RuleState]) -> None:
    """Write atomically (temp file + rename): a crash never leaves half a state file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(state.items())}, indent=2), encoding="utf-8")
    os.replace(tmp, path)
