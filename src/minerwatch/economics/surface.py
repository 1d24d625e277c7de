"""Cost surface over efficiency × power price, and the network's cost of production under an assumed fleet mix.

Nobody observes which machines the network runs; the default mix below is an assumption, written
down so that a reader can disagree with it and pass their own (`--mix FILE`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minerwatch.economics.breakeven import Market, Site, breakeven, energy_kwh_per_ph_day
from minerwatch.economics.catalog import read_user_text
from minerwatch.errors import UsageError

DEFAULT_EFFICIENCIES_J_PER_TH = (12.0, 15.0, 17.5, 21.5, 25.0, 29.5, 34.0, 40.0)
DEFAULT_POWER_PRICES_USD_PER_KWH = (0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.10)


@dataclass(frozen=True, slots=True)
class MixClass:
    """A share of network hashrate running at one efficiency and one power price."""

    efficiency_j_per_th: float
    share_pct: float
    power_usd_per_kwh: float
    label: str


# Assumed network mix, late 2025 (one date's fleet: "the median machine" of any date is
# economics/network_efficiency.py's, not this mix's median class): S21-generation machines
# (13.5–18.5 J/TH) carry most new hashrate, S19 XP/k Pro-class (21.5–23) the middle, S19j
# Pro/S19-class (29.5–34) the tail still plugged in at cheap power. Power prices: 0.045 USD/kWh
# for the newest (large hosted sites), 0.035 for the old machines that only survive where power is
# cheapest. Override with a CSV of the same columns.
DEFAULT_MIX: tuple[MixClass, ...] = (
    MixClass(13.5, 10.0, 0.045, "S21 XP class"),
    MixClass(15.0, 15.0, 0.045, "S21 Pro class"),
    MixClass(17.5, 30.0, 0.045, "S21 / M60S class"),
    MixClass(21.5, 15.0, 0.045, "S19 XP / A1466 class"),
    MixClass(23.0, 10.0, 0.040, "S19k Pro class"),
    MixClass(26.0, 10.0, 0.040, "M50S class"),
    MixClass(29.5, 7.0, 0.035, "S19j Pro class"),
    MixClass(34.0, 3.0, 0.035, "S19 class"),
)
DEFAULT_MIX_NAME = "assumed late-2025 fleet mix"


@dataclass(frozen=True, slots=True)
class SurfaceCell:
    efficiency_j_per_th: float
    power_usd_per_kwh: float
    energy_cost_usd_per_ph_day: float
    margin_usd_per_ph_day: float
    cost_per_btc_usd: float | None


def cost_surface(efficiencies: tuple[float, ...], power_prices: tuple[float, ...], market: Market,
                 pue: float = 1.0, pool_fee_pct: float = 0.0) -> list[SurfaceCell]:
    """One cell per (efficiency, power price), efficiencies outer."""
    cells: list[SurfaceCell] = []
    for e in efficiencies:
        for p in power_prices:
            b = breakeven(e, Site(p, pue, pool_fee_pct), market)
            cells.append(SurfaceCell(e, p, b.energy_cost_usd_per_ph_day, b.margin_usd_per_ph_day, b.cost_per_btc_usd))
    return cells


def surface_chart(cells: list[SurfaceCell], efficiencies: tuple[float, ...],
                  power_prices: tuple[float, ...]) -> dict[str, list[Any]]:
    """Chart-ready grids: z[i][j] for efficiencies[i] × power_prices[j] (heatmap libraries take this shape)."""
    n = len(power_prices)
    grid = [cells[i * n:(i + 1) * n] for i in range(len(efficiencies))]
    return {
        "x_power_usd_per_kwh": list(power_prices),
        "y_efficiency_j_per_th": list(efficiencies),
        "z_margin_usd_per_ph_day": [[c.margin_usd_per_ph_day for c in row] for row in grid],
        "z_cost_per_btc_usd": [[c.cost_per_btc_usd for c in row] for row in grid],
    }


def parse_mix_csv(text: str, source: str) -> tuple[MixClass, ...]:
    """Rows of `efficiency_j_per_th,share_pct,power_usd_per_kwh[,label]`; shares must sum to 100."""
    mix: list[MixClass] = []
    try:
        for row in csv.DictReader(io.StringIO(text)):
            mix.append(MixClass(float(row["efficiency_j_per_th"]), float(row["share_pct"]),
                                float(row["power_usd_per_kwh"]), (row.get("label") or "").strip()))
    except (KeyError, ValueError) as e:
        raise UsageError(f"{source}: bad fleet-mix row ({e})",
                         "columns: efficiency_j_per_th,share_pct,power_usd_per_kwh[,label]") from e
    total = sum(m.share_pct for m in mix)
    if not mix or abs(total - 100.0) > 0.01:
        raise UsageError(f"{source}: shares sum to {total:g} %, not 100 %", "make share_pct add up to 100")
    return tuple(mix)


def load_mix(path: Path | None) -> tuple[MixClass, ...]:
    """The user's fleet-mix CSV (named in any error, also when it is not UTF-8), or the default."""
    if path is None:
        return DEFAULT_MIX
    return parse_mix_csv(read_user_text(path, "fleet-mix file"), path.name)


@dataclass(frozen=True, slots=True)
class NetworkCost:
    """The network's production cost under a fleet mix."""

    mean_efficiency_j_per_th: float              # hashrate-weighted
    energy_cost_usd_per_ph_day: float            # hashrate-weighted mean
    cost_per_btc_usd: float | None               # energy only; None without a BTC price
    share_at_loss_pct: float                     # share of hashrate whose energy cost exceeds hashprice
    median_class_breakeven_usd_per_ph_day: float  # energy cost of the mix's class holding its median unit of hashrate
    classes_at_loss: tuple[str, ...]


def network_cost(mix: tuple[MixClass, ...], market: Market, pue: float = 1.0) -> NetworkCost:
    """Average cost of production and hashrate share at a loss (energy only, no pool fee)."""
    total = sum(m.share_pct for m in mix)
    costs = [(energy_kwh_per_ph_day(m.efficiency_j_per_th, pue) * m.power_usd_per_kwh, m) for m in mix]
    mean_cost = sum(c * m.share_pct for c, m in costs) / total
    hv = market.hashvalue_btc_per_ph_day
    loss = [(c, m) for c, m in costs if c > market.hashprice_usd_per_ph_day]
    # Median: walk the classes from cheapest to dearest until half the hashrate is covered.
    acc = 0.0
    median = costs[0][0]
    for c, m in sorted(costs, key=lambda x: x[0]):
        acc += m.share_pct
        median = c
        if acc >= total / 2:
            break
    return NetworkCost(
        mean_efficiency_j_per_th=sum(m.efficiency_j_per_th * m.share_pct for m in mix) / total,
        energy_cost_usd_per_ph_day=mean_cost,
        cost_per_btc_usd=mean_cost / hv if hv else None,
        share_at_loss_pct=sum(m.share_pct for _, m in loss) / total * 100.0,
        median_class_breakeven_usd_per_ph_day=median,
        classes_at_loss=tuple(m.label or f"{m.efficiency_j_per_th:g} J/TH" for _, m in loss),
    )


def median_class_breakeven(mix: tuple[MixClass, ...], pue: float = 1.0) -> float:
    """Energy breakeven (USD/PH/day) of the class holding the median unit of hashrate in `mix`: the
    market does not matter."""
    return network_cost(mix, Market(0.0), pue).median_class_breakeven_usd_per_ph_day
