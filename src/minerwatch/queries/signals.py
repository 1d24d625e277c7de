"""The capitulation state (the network-economics definition in minerwatch.metrics.capitulation) and
the past episodes the stored history shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.metrics import capitulation
from minerwatch.metrics.capitulation import CapitulationState, Episode, SignalState
from minerwatch.metrics.signals import RibbonSignal, hash_ribbon_days, hash_ribbon_signals

__all__ = ["CapitulationState", "Episode", "RibbonSignal", "SignalState", "Watch", "capitulation_state",
           "ribbon_signals", "watch"]


@dataclass(frozen=True, slots=True)
class Watch:
    state: CapitulationState
    episodes: list[Episode]


def capitulation_state(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> CapitulationState:
    """Each signal with its value, threshold and since-when, and the state they add up to."""
    return capitulation.capitulation_state(con, as_of)


def watch(con: duckdb.DuckDBPyConnection) -> Watch:
    """Today's state plus every past capitulation episode."""
    return Watch(capitulation.capitulation_state(con), capitulation.episodes(capitulation.daily_states(con)))


def ribbon_signals(con: duckdb.DuckDBPyConnection) -> list[RibbonSignal]:
    """Every dated hash-ribbon capitulation, recovery and buy (Edwards) in the stored history."""
    return hash_ribbon_signals(hash_ribbon_days(con))
