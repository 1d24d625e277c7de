"""One run of the alert rules: read each rule's value, compare with its last state, deliver what fired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.alerts.delivery import Alert, DeliveryError, deliver
from minerwatch.alerts.rules import Rule, RuleSet
from minerwatch.alerts.state import RuleState
from minerwatch.errors import MinerwatchError
from minerwatch.metrics.capitulation import capitulation_state
from minerwatch.metrics.registry import Query, read


@dataclass(frozen=True, slots=True)
class Outcome:
    rule: str
    condition: str
    value: float | str | None
    day: str | None
    active: bool | None         # None: no value to judge
    fired: bool
    note: str                   # why it did (not) fire, or why the value is missing


def _latest(con: duckdb.DuckDBPyConnection, rule: Rule, as_of: date | None) -> tuple[date, float] | str:
    """The rule's last value on or before `as_of`, or the reason there is none."""
    r = read(con, rule.metric or "", Query(None, as_of, rule.cohort))
    return r.values[-1] if r.values else r.missing or f"no data for {rule.metric}"


def _judge(rule: Rule, value: float | str, prev: RuleState | None) -> tuple[bool, str | None, bool, str]:
    """(condition holds, side, fires, note). Level rules fire when the condition starts to hold;
    `crosses` fires when the value changes side (the first value seen only sets the side)."""
    if rule.op == "crosses":
        side = "above" if float(value) >= (rule.threshold or 0.0) else "below"
        if prev is None or prev.side is None:
            return True, side, False, f"first value: {side} {rule.threshold:g}; fires when it crosses"
        crossed = side != prev.side
        return True, side, crossed, f"crossed to {side}" if crossed else f"still {side}"
    if rule.op == "capitulation":
        holds = value == rule.state
    elif rule.op == "below":
        holds = float(value) < (rule.threshold or 0.0)
    else:
        holds = float(value) > (rule.threshold or 0.0)
    was = prev.active if prev is not None else False
    fires = holds and not was
    note = "condition met: fired" if fires else ("condition still met: already fired" if holds else "condition not met")
    return holds, None, fires, note


def run_rules(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, state: dict[str, RuleState],
              as_of: date | None = None) -> tuple[list[Outcome], dict[str, RuleState], list[str]]:
    """Evaluate every rule, deliver what fires; returns outcomes, the new state and delivery errors.

    A rule whose delivery fails keeps its previous state, so it fires again on the next run."""
    channels = {c.name: c for c in ruleset.channels}
    new_state = dict(state)
    outcomes: list[Outcome] = []
    errors: list[str] = []
    cap = None
    for rule in ruleset.rules:
        prev = state.get(rule.name)
        if prev is not None and prev.fingerprint != rule.fingerprint:
            prev = None          # the condition was edited: start afresh
        if rule.op == "capitulation":
            cap = cap or capitulation_state(con, as_of)
            got: tuple[date, float | str] | str = (cap.as_of, cap.state) if cap.as_of else "no capitulation data"
        else:
            got = _latest(con, rule, as_of)
        if isinstance(got, str):
            outcomes.append(Outcome(rule.name, rule.condition, None, None, None, False, got))
            continue
        day, value = got
        holds, side, fires, note = _judge(rule, value, prev)
        shown = f"{value:.6g}" if isinstance(value, float) else value
        alert = Alert(rule.name, rule.condition, rule.metric, rule.cohort if rule.metric else None, value,
                      day.isoformat(),
                      f"{rule.metric or 'capitulation state'} is {shown} on {day.isoformat()}: {rule.condition}"
                      + (f" (crossed to {side})" if rule.op == "crosses" else ""))
        failed = False
        if fires:
            for name in rule.channels:
                try:
                    deliver(channels[name], alert)
                except DeliveryError as e:
                    failed = True
                    errors.append(f"{rule.name} → {name}: {e.message}")
        if failed:
            outcomes.append(Outcome(rule.name, rule.condition, value, day.isoformat(), holds, False,
                                    "delivery failed: will fire again on the next run"))
            continue
        new_state[rule.name] = RuleState(rule.fingerprint, holds, side, day.isoformat(), value,
                                         day.isoformat() if fires else (prev.last_fired_day if prev else None))
        outcomes.append(Outcome(rule.name, rule.condition, value, day.isoformat(), holds, fires, note))
    return outcomes, new_state, errors


def raise_if_failed(errors: list[str]) -> None:
    if errors:
        raise MinerwatchError("some alerts could not be delivered: " + "; ".join(errors),
                              "they stay armed and are sent on the next run once the channel works")
