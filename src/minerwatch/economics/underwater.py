"""Which catalog machines are underwater at a hashprice: the breakeven efficiency per power price.

A machine of E J/TH at p USD/kWh spends E × 24 × p USD per PH/s per day on power (PUE 1, no pool
fee), so at hashprice h every machine above h / (24 × p) J/TH loses money on power alone. The brief
and `minerwatch calc underwater` both print this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from minerwatch.economics.breakeven import energy_kwh_per_ph_day
from minerwatch.economics.catalog import Asic

# Power prices the brief and `calc underwater` show by default: cheap hydro to retail.
UNDERWATER_POWER_PRICES_USD_PER_KWH = (0.03, 0.05, 0.07, 0.10)


@dataclass(frozen=True, slots=True)
class Underwater:
    power_usd_per_kwh: float
    breakeven_efficiency_j_per_th: float      # machines above it lose money on power alone
    underwater: tuple[str, ...]               # catalog models above it, most efficient first
    models: int                               # catalog models in all


def underwater(hashprice_usd_per_ph_day: float, power_prices_usd_per_kwh: Iterable[float],
               catalog: Iterable[Asic]) -> list[Underwater]:
    """Per power price: the breakeven efficiency hashprice / (24 h × p) and the models above it."""
    models = sorted(catalog, key=lambda a: a.efficiency_j_per_th)
    out = []
    for p in power_prices_usd_per_kwh:
        max_eff = hashprice_usd_per_ph_day / energy_kwh_per_ph_day(1.0) / p
        out.append(Underwater(p, max_eff, tuple(a.model for a in models if a.efficiency_j_per_th > max_eff),
                              len(models)))
    return out


def sentence(u: Underwater) -> str:
    """'above 31.7 J/TH at 0.05 USD/kWh (3 of 17 catalog models, e.g. Antminer S19)'."""
    return (f"above {u.breakeven_efficiency_j_per_th:.1f} J/TH at {u.power_usd_per_kwh:g} USD/kWh "
            f"({len(u.underwater)} of {u.models} catalog models" + (f", e.g. {u.underwater[0]}" if u.underwater else "")
            + ")")
