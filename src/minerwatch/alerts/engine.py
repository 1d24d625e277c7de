"""One run of the alert rules: read each rule's value, compare with its last state, deliver what fired."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import duckdb

from minerwatch.alerts.delivery import Alert, DeliveryError, deliver
from minerwatch.alerts.rules import Channel, Rule, RuleSet
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


def _send(channels: dict[str, Channel], names: tuple[str, ...], alert: Alert, rule: str,
          errors: list[str]) -> tuple[str, ...]:
    """Deliver `alert` to each named channel; returns those that did not take it (errors appended)."""
    failed = []
    for name in names:
        try:
            deliver(channels[name], alert)
        except DeliveryError as e:
            failed.append(name)
            errors.append(f"{rule} → {name}: {e.message}")
    return tuple(failed)


def _retry(channels: dict[str, Channel], rule: Rule, prev: RuleState, errors: list[str]) -> RuleState:
    """Send the alert some channels did not take on an earlier run to those channels (only those
    still configured for the rule: one removed from the file is given up)."""
    if not prev.undelivered or prev.alert is None:
        return prev
    names = tuple(n for n in prev.undelivered if n in channels and n in rule.channels)
    failed = _send(channels, names, Alert(**prev.alert), rule.name, errors)
    return replace(prev, undelivered=failed, alert=prev.alert if failed else None)


def run_rules(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, state: dict[str, RuleState],
              as_of: date | None = None) -> tuple[list[Outcome], dict[str, RuleState], list[str]]:
    """Evaluate every rule, deliver what fires; returns outcomes, the new state and delivery errors.

    An alert counts as fired once any channel was tried: the channels that did not take it are
    remembered and sent that same alert on the next runs until they do; the others are not sent it
    again."""
    channels = {c.name: c for c in ruleset.channels}
    new_state = dict(state)
    outcomes: list[Outcome] = []
    errors: list[str] = []
    cap = None
    for rule in ruleset.rules:
        prev = state.get(rule.name)
        if prev is not None and prev.fingerprint != rule.fingerprint:
            prev = None          # the condition was edited: start afresh
        retried = ()
        if prev is not None and prev.undelivered:
            retried = prev.undelivered
            prev = _retry(channels, rule, prev, errors)
            new_state[rule.name] = prev
        if rule.op == "capitulation":
            cap = cap or capitulation_state(con, as_of)
            got: tuple[date, float | str] | str = (cap.as_of, cap.state) if cap.as_of else "no capitulation data"
        else:
            got = _latest(con, rule, as_of)
        if isinstance(got, str):
            outcomes.append(Outcome(rule.name, rule.condition, None, None, None, False,
                                    got + _retry_note(retried, prev)))
            continue
        day, value = got
        holds, side, fires, note = _judge(rule, value, prev)
        shown = f"{value:.6g}" if isinstance(value, float) else value
        alert = Alert(rule.name, rule.condition, rule.metric, rule.cohort if rule.metric else None, value,
                      day.isoformat(),
                      f"{rule.metric or 'capitulation state'} is {shown} on {day.isoformat()}: {rule.condition}"
                      + (f" (crossed to {side})" if rule.op == "crosses" else ""))
        undelivered, pending = (prev.undelivered, prev.alert) if prev is not None else ((), None)
        if fires:
            # A new alert supersedes one a channel still owes: that channel gets the new one.
            undelivered = _send(channels, rule.channels, alert, rule.name, errors)
            pending = alert.payload_fields() if undelivered else None
            if undelivered:
                note = f"fired; not delivered to {', '.join(undelivered)}: sent to it again on the next run"
        new_state[rule.name] = RuleState(rule.fingerprint, holds, side, day.isoformat(), value,
                                         day.isoformat() if fires else (prev.last_fired_day if prev else None),
                                         undelivered, pending)
        outcomes.append(Outcome(rule.name, rule.condition, value, day.isoformat(), holds, fires,
                                note + ("" if fires else _retry_note(retried, prev))))
    return outcomes, new_state, errors


def _retry_note(retried: tuple[str, ...], prev: RuleState | None) -> str:
    """What the retry of an earlier alert did, for the outcome's note ("" when there was none)."""
    if not retried:
        return ""
    left = prev.undelivered if prev is not None else ()
    done = [n for n in retried if n not in left]
    return ((f"; earlier alert delivered to {', '.join(done)}" if done else "")
            + (f"; earlier alert still not delivered to {', '.join(left)}" if left else ""))


def raise_if_failed(errors: list[str]) -> None:
    if errors:
        raise MinerwatchError("some alerts could not be delivered: " + "; ".join(errors),
                              "each is sent again on the next run, to the channels that did not take it only")
