"""The network's median machine at any date, from the ASIC catalog, and the hashprice it needs.

Nobody observes which machines run. The model: a model becomes the median unit of network hashrate
`adoption_lag_months` after its release, so the median machine on a date is the most efficient
catalog model released at least that long before. With the default 18 months it is the Antminer S9
(98 J/TH) through 2020-09, the S17 Pro (39.5) from 2020-10, the S19 Pro (29.55) from 2021-11, the
S19j Pro (29.5) from 2022-12, the S19 XP (21.5) from 2024-01, the S21 (17.5) from 2025-07 and the
S21 Pro (15.0) from 2026-01. Late 2025 thus agrees with the assumed late-2025 fleet mix of
economics/surface.py, whose median unit is the 17.5 J/TH class (any lag from 18 to 21 months gives
the S21 from October to December 2025). Before the first catalog model plus the lag (2017-12 by
default) there is no median machine: the catalog starts in 2016.

This is the one definition of "the median machine's breakeven": the capitulation watch, the
dashboard, the API, `calc surface` and the brief all take it from `median_machine_on` (default
lag and power price) or from a `BreakevenModel` the user configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from minerwatch.economics.breakeven import Market, Site, breakeven
from minerwatch.economics.catalog import Asic, load_catalog
from minerwatch.economics.surface import MixClass, median_class_breakeven
from minerwatch.errors import UsageError

DEFAULT_ADOPTION_LAG_MONTHS = 18
# The power price of the assumed late-2025 mix's median class (economics/surface.py DEFAULT_MIX):
# 17.5 J/TH × 24 h × 0.045 USD/kWh = 18.90 USD/PH/day, the figure that mix gives.
DEFAULT_POWER_USD_PER_KWH = 0.045


@dataclass(frozen=True, slots=True)
class MedianMachine:
    """The machine whose energy cost is the network's median on a date, and its breakeven hashprice
    (energy only: E J/TH × 24 h × power price, PUE 1, no pool fee)."""

    day: date                                      # the date it is the median machine on
    model: str
    efficiency_j_per_th: float
    released: str                                  # YYYY-MM
    power_usd_per_kwh: float
    breakeven_hashprice_usd_per_ph_day: float

    def describe(self) -> str:
        """'Antminer S19 XP (21.5 J/TH, released 2022-07) at 0.045 USD/kWh' — for people."""
        return (f"{self.model} ({self.efficiency_j_per_th:.1f} J/TH, released {self.released}) "
                f"at {self.power_usd_per_kwh:g} USD/kWh")


def _month_index(released: str) -> int:
    year, month = released.split("-")
    return int(year) * 12 + int(month) - 1


@dataclass(frozen=True, slots=True)
class BreakevenModel:
    """Where "hashprice below the median machine's breakeven" draws its line on each date: the
    catalog with an adoption lag (default), or one fleet mix the user gives for every date."""

    adoption_lag_months: int = DEFAULT_ADOPTION_LAG_MONTHS
    power_usd_per_kwh: float = DEFAULT_POWER_USD_PER_KWH
    models: tuple[Asic, ...] = ()                  # with a release month, oldest first
    mix: tuple[MixClass, ...] | None = None        # a fixed mix instead of the catalog

    def at(self, day: date) -> MedianMachine | None:
        """The median machine on `day`; None when no catalog model is old enough yet."""
        if self.mix is not None:
            return MedianMachine(day, "the fleet mix's median class", 0.0, "", 0.0, median_class_breakeven(self.mix))
        cutoff = day.year * 12 + day.month - 1 - self.adoption_lag_months
        best: Asic | None = None
        for a in self.models:
            if _month_index(a.released) <= cutoff and (best is None
                                                        or a.efficiency_j_per_th < best.efficiency_j_per_th):
                best = a
        if best is None:
            return None
        b = breakeven(best.efficiency_j_per_th, Site(self.power_usd_per_kwh), Market(0.0))
        return MedianMachine(day, best.model, best.efficiency_j_per_th, best.released, self.power_usd_per_kwh,
                             b.breakeven_hashprice_usd_per_ph_day)

    def first_day(self) -> date | None:
        """The first day with a median machine (the first model's release month plus the lag)."""
        if self.mix is not None:
            return None
        if not self.models:
            return None
        m = min(_month_index(a.released) for a in self.models) + self.adoption_lag_months
        return date(m // 12, m % 12 + 1, 1)


def breakeven_model(adoption_lag_months: int = DEFAULT_ADOPTION_LAG_MONTHS,
                    power_usd_per_kwh: float = DEFAULT_POWER_USD_PER_KWH,
                    catalog: Iterable[Asic] | None = None,
                    mix: tuple[MixClass, ...] | None = None) -> BreakevenModel:
    """The catalog's models with a release month (default: the shipped nominal specs), or `mix`."""
    if not 0 <= adoption_lag_months <= 120:
        raise UsageError(f"adoption lag {adoption_lag_months} months is out of range",
                         "give a number of months from 0 to 120 (default 18)")
    if not power_usd_per_kwh > 0:
        raise UsageError(f"power price {power_usd_per_kwh} USD/kWh must be positive", "e.g. 0.045")
    models = tuple(sorted((a for a in (catalog if catalog is not None else load_catalog().values()) if a.released),
                          key=lambda a: a.released))
    return BreakevenModel(adoption_lag_months, power_usd_per_kwh, models, mix)


def median_machine_on(day: date) -> MedianMachine | None:
    """The network's median machine on `day` with the default lag and power price (18 months,
    0.045 USD/kWh), and its breakeven hashprice in USD/PH/day; None before the catalog reaches."""
    return breakeven_model().at(day)
