"""Breakeven arithmetic for one machine class: hashprice, power price, BTC price and cost per BTC.

Units follow DOMAIN.md: a machine of E J/TH running 1 PH/s draws E kW, so it uses E × 24 kWh a day;
hashprice is USD per PH/s per day before pool fees.
"""

from __future__ import annotations

from dataclasses import dataclass

from minerwatch import consensus
from minerwatch.errors import UsageError

TH = 1e12
J_PER_KWH = 3.6e6


@dataclass(frozen=True, slots=True)
class Market:
    """What the network pays: hashprice, and (when known) the BTC price and hashvalue behind it."""

    hashprice_usd_per_ph_day: float
    price_usd: float | None = None
    difficulty: float | None = None
    subsidy_btc: float | None = None
    fees_btc_per_block: float | None = None

    @property
    def hashvalue_btc_per_ph_day(self) -> float | None:
        """BTC earned by 1 PH/s in a day; None when the BTC price is unknown."""
        if self.price_usd is None:
            return None
        return self.hashprice_usd_per_ph_day / self.price_usd


@dataclass(frozen=True, slots=True)
class Site:
    """Where a machine runs: power price, facility overhead (PUE) and the pool's cut."""

    power_usd_per_kwh: float
    pue: float = 1.0
    pool_fee_pct: float = 0.0

    def __post_init__(self) -> None:
        if self.power_usd_per_kwh < 0:
            raise UsageError(f"power price {self.power_usd_per_kwh} USD/kWh is negative", "give a price ≥ 0")
        if self.pue < 1.0:
            raise UsageError(f"PUE {self.pue} is below 1", "PUE is facility power / machine power, ≥ 1.0")
        if not 0 <= self.pool_fee_pct < 100:
            raise UsageError(f"pool fee {self.pool_fee_pct} % is out of range", "give a percentage in [0, 100)")

    @property
    def revenue_share(self) -> float:
        return 1.0 - self.pool_fee_pct / 100.0


@dataclass(frozen=True, slots=True)
class EnergyBreakeven:
    """What 1 PH/s of one machine class costs in energy a day, and the hashprice that pays it: no
    market needed."""

    efficiency_j_per_th: float
    power_usd_per_kwh: float
    pue: float
    pool_fee_pct: float
    energy_kwh_per_ph_day: float
    energy_cost_usd_per_ph_day: float
    breakeven_hashprice_usd_per_ph_day: float    # gross hashprice at which energy cost = net revenue


@dataclass(frozen=True, slots=True)
class Breakeven:
    """The economics of 1 PH/s of machines of one efficiency at one site, per day."""

    efficiency_j_per_th: float
    power_usd_per_kwh: float
    pue: float
    pool_fee_pct: float
    energy_kwh_per_ph_day: float
    energy_cost_usd_per_ph_day: float
    hashprice_usd_per_ph_day: float
    net_hashprice_usd_per_ph_day: float          # after the pool fee
    breakeven_hashprice_usd_per_ph_day: float    # gross hashprice at which energy cost = net revenue
    breakeven_power_usd_per_kwh: float
    margin_usd_per_ph_day: float
    margin_pct: float | None                     # margin / net revenue; None when revenue is zero
    hashvalue_btc_per_ph_day: float | None
    cost_per_btc_usd: float | None               # energy only; None without a BTC price
    energy_per_btc_kwh: float | None
    breakeven_price_usd: float | None            # = cost per BTC


def hashvalue_btc_per_ph_day(difficulty: float, subsidy_btc: float, fees_btc_per_block: float) -> float:
    """BTC per PH/s per day: (subsidy + fees) × 86,400 × 1e15 / (difficulty × 2^32) (Hashrate Index)."""
    if difficulty <= 0:
        raise UsageError(f"difficulty {difficulty} must be positive", "mainnet difficulty is ~1e14; try 149.3T")
    return consensus.hashvalue_btc_per_ph_day(difficulty, subsidy_btc, fees_btc_per_block)


def market_from_chain(difficulty: float, price_usd: float, fees_btc_per_block: float, subsidy_btc: float) -> Market:
    """The market implied by difficulty, BTC price (USD), mean fees per block and the subsidy (BTC;
    the caller's, by the consensus rule at a height: no era is assumed here)."""
    if price_usd <= 0 or fees_btc_per_block < 0 or subsidy_btc < 0:
        raise UsageError("the price must be positive; fees and subsidy must not be negative",
                         "e.g. --price 86075 --fees-btc-per-block 0.025")
    hv = hashvalue_btc_per_ph_day(difficulty, subsidy_btc, fees_btc_per_block)
    return Market(hv * price_usd, price_usd, difficulty, subsidy_btc, fees_btc_per_block)


def energy_kwh_per_ph_day(efficiency_j_per_th: float, pue: float = 1.0) -> float:
    """kWh a day drawn by 1 PH/s at E J/TH: E J/TH × 1,000 TH/PH = E kW, × 24 h, × PUE."""
    if efficiency_j_per_th <= 0:
        raise UsageError(f"efficiency {efficiency_j_per_th} J/TH must be positive", "an Antminer S21 is ~17.5 J/TH")
    return efficiency_j_per_th * 24.0 * pue


def energy_breakeven(efficiency_j_per_th: float, site: Site) -> EnergyBreakeven:
    """Energy use and cost of 1 PH/s of machines of `efficiency_j_per_th` at `site`, and the gross
    hashprice (USD/PH/day) that pays that cost after the pool fee."""
    kwh = energy_kwh_per_ph_day(efficiency_j_per_th, site.pue)
    cost = kwh * site.power_usd_per_kwh
    return EnergyBreakeven(efficiency_j_per_th, site.power_usd_per_kwh, site.pue, site.pool_fee_pct, kwh, cost,
                           cost / site.revenue_share)


def breakeven(efficiency_j_per_th: float, site: Site, market: Market) -> Breakeven:
    """Energy-only breakeven of machines of `efficiency_j_per_th` at `site` in `market`."""
    energy = energy_breakeven(efficiency_j_per_th, site)
    kwh, cost = energy.energy_kwh_per_ph_day, energy.energy_cost_usd_per_ph_day
    share = site.revenue_share
    net = market.hashprice_usd_per_ph_day * share
    hv = market.hashvalue_btc_per_ph_day
    net_btc = hv * share if hv is not None else None
    cost_per_btc = cost / net_btc if net_btc else None
    return Breakeven(
        efficiency_j_per_th=efficiency_j_per_th,
        power_usd_per_kwh=site.power_usd_per_kwh,
        pue=site.pue,
        pool_fee_pct=site.pool_fee_pct,
        energy_kwh_per_ph_day=kwh,
        energy_cost_usd_per_ph_day=cost,
        hashprice_usd_per_ph_day=market.hashprice_usd_per_ph_day,
        net_hashprice_usd_per_ph_day=net,
        breakeven_hashprice_usd_per_ph_day=energy.breakeven_hashprice_usd_per_ph_day,
        breakeven_power_usd_per_kwh=net / kwh,
        margin_usd_per_ph_day=net - cost,
        margin_pct=(net - cost) / net * 100.0 if net else None,
        hashvalue_btc_per_ph_day=hv,
        cost_per_btc_usd=cost_per_btc,
        energy_per_btc_kwh=kwh / net_btc if net_btc else None,
        breakeven_price_usd=cost_per_btc,
    )
