"""The breakeven surface at the latest stored market: margin and cost per BTC by machine class, and
the network's median machine on that day (the line the capitulation watch draws)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.economics.breakeven import Breakeven, Market, Site, breakeven
from minerwatch.economics.catalog import Asic, load_catalog
from minerwatch.economics.network_efficiency import MedianMachine, breakeven_model, median_machine_on
from minerwatch.economics.surface import (
    DEFAULT_EFFICIENCIES_J_PER_TH,
    DEFAULT_MIX,
    DEFAULT_MIX_NAME,
    DEFAULT_POWER_PRICES_USD_PER_KWH,
    SurfaceCell,
    cost_surface,
    network_cost,
)
from minerwatch.queries.headline import latest_value
from minerwatch.queries.series import full_history, has_metric

__all__ = ["Calculation", "MedianMachine", "Surface", "calculate", "machines", "median_machine_line",
           "median_machine_on", "surface"]


@dataclass(frozen=True, slots=True)
class Surface:
    market_date: date | None
    hashprice_usd_per_ph_day: float | None     # None: no hashprice stored yet (no price or no blocks)
    price_usd: float | None
    pue: float
    pool_fee_pct: float
    efficiencies_j_per_th: tuple[float, ...]
    power_prices_usd_per_kwh: tuple[float, ...]
    cells: list[SurfaceCell]
    # The network's median machine on market_date and its energy breakeven (PUE 1): the capitulation
    # watch's line that day. None: no hashprice, or a day before the catalog reaches.
    median_machine: MedianMachine | None
    # One date's fleet, a different figure from the median machine's: named after the mix it assumes.
    fleet_mix: str
    fleet_mix_mean_cost_usd_per_ph_day: float | None
    fleet_mix_share_at_loss_pct: float | None


def median_machine_line(days: Iterable[date]) -> list[tuple[date, float | None]]:
    """The median machine's breakeven hashprice (USD/PH/day) on each day: the network's breakeven line."""
    model = breakeven_model()
    out: list[tuple[date, float | None]] = []
    for d in days:
        m = model.at(d)
        out.append((d, m.breakeven_hashprice_usd_per_ph_day if m is not None else None))
    return out


def surface(con: duckdb.DuckDBPyConnection, pue: float = 1.0, pool_fee_pct: float = 0.0) -> Surface:
    """Cost surface over the default efficiency and power-price grids at the latest daily hashprice."""
    hp = latest_value(con, "hashprice_usd_per_ph_day")
    prices = dict(full_history(con, "price_usd")) if has_metric("price_usd") else {}
    price = (hp[0], prices[hp[0]]) if hp is not None and prices.get(hp[0]) is not None else None
    effs, prices = DEFAULT_EFFICIENCIES_J_PER_TH, DEFAULT_POWER_PRICES_USD_PER_KWH
    if hp is None:
        return Surface(None, None, price[1] if price else None, pue, pool_fee_pct, effs, prices, [], None,
                       DEFAULT_MIX_NAME, None, None)
    market = Market(hp[1], price[1] if price and price[0] == hp[0] else None)
    cells = cost_surface(effs, prices, market, pue, pool_fee_pct)
    net = network_cost(DEFAULT_MIX, market, pue)
    return Surface(hp[0], hp[1], market.price_usd, pue, pool_fee_pct, effs, prices, cells, median_machine_on(hp[0]),
                   DEFAULT_MIX_NAME, net.energy_cost_usd_per_ph_day, net.share_at_loss_pct)


@dataclass(frozen=True, slots=True)
class Calculation:
    """One machine at one site priced at the latest stored market (the breakeven page's calculator)."""

    market_date: date
    machine: str | None                 # the catalog model, None for a typed efficiency
    result: Breakeven


def machines() -> list[Asic]:
    """The shipped catalog of machine models, most efficient first."""
    return sorted(load_catalog().values(), key=lambda a: a.efficiency_j_per_th)


def calculate(con: duckdb.DuckDBPyConnection, efficiency_j_per_th: float, power_usd_per_kwh: float, pue: float = 1.0,
              pool_fee_pct: float = 0.0, machine: str | None = None) -> Calculation | None:
    """Breakeven, margin and cost per BTC of `efficiency_j_per_th` at the site, at the latest stored
    hashprice and that day's price (economics.breakeven: the CLI's `calc breakeven`); None without a
    stored hashprice."""
    hp = latest_value(con, "hashprice_usd_per_ph_day")
    if hp is None:
        return None
    prices = dict(full_history(con, "price_usd")) if has_metric("price_usd") else {}
    market = Market(hp[1], prices.get(hp[0]))
    return Calculation(hp[0], machine, breakeven(efficiency_j_per_th, Site(power_usd_per_kwh, pue, pool_fee_pct), market))
