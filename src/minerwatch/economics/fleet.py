"""A miner's fleet: machines by model and count, the site's costs, and what the fleet earns per day.

The fleet file is TOML (docs/economics.md shows one):

    [site]
    power_usd_per_kwh = 0.06      # all-in energy price
    pue = 1.05                    # facility power / machine power
    pool_fee_pct = 2.0
    hosting_usd_per_month = 0.0   # fixed site costs, shared by hashrate
    other_opex_usd_per_month = 0.0
    depreciation_months = 36      # default for machines that give none

    [[machines]]
    model = "Antminer S21"        # from the catalog, or give hashrate_ths and power_w per unit
    count = 100                   # or: hashrate_ths = 20000 (total)
    unit_cost_usd = 3500.0        # purchase price per machine, depreciated straight-line
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minerwatch.economics.breakeven import Market, Site, energy_kwh_per_ph_day
from minerwatch.economics.catalog import Asic, find_model, read_user_text
from minerwatch.errors import UsageError

DAYS_PER_MONTH = 365.25 / 12           # 30.4375: fixed monthly costs and depreciation spread per day


@dataclass(frozen=True, slots=True)
class FleetLine:
    """One model in the fleet."""

    model: str
    hashrate_ths: float                 # total for the line
    efficiency_j_per_th: float
    units: float                        # machines (total hashrate / unit hashrate when given by hashrate)
    unit_cost_usd: float
    depreciation_months: float


@dataclass(frozen=True, slots=True)
class Fleet:
    site: Site
    lines: tuple[FleetLine, ...]
    hosting_usd_per_month: float = 0.0
    other_opex_usd_per_month: float = 0.0

    @property
    def hashrate_ths(self) -> float:
        return sum(line.hashrate_ths for line in self.lines)


@dataclass(frozen=True, slots=True)
class LineEconomics:
    """Daily economics of a fleet line (or of the whole fleet, model "fleet")."""

    model: str
    hashrate_ths: float
    efficiency_j_per_th: float
    power_kw: float                      # machines' draw × PUE
    revenue_btc_per_day: float | None
    revenue_usd_per_day: float
    energy_cost_usd_per_day: float
    fixed_cost_usd_per_day: float        # hosting + other opex, shared by hashrate
    depreciation_usd_per_day: float
    cost_usd_per_day: float              # all-in
    profit_energy_only_usd_per_day: float
    profit_usd_per_day: float            # all-in
    breakeven_hashprice_energy_usd_per_ph_day: float
    breakeven_hashprice_usd_per_ph_day: float      # all-in
    breakeven_power_usd_per_kwh: float             # all-in: power price at which profit is zero
    cost_per_btc_energy_usd: float | None
    cost_per_btc_usd: float | None                 # all-in = breakeven BTC price
    shutoff_price_usd: float | None                # below this BTC price the power bill exceeds revenue


def _num(d: dict[str, Any], key: str, default: float | None, where: str) -> float | None:
    v = d.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise UsageError(f"{where}: {key} must be a number, got {v!r}", "see docs/economics.md for the fleet file")
    if not math.isfinite(v):  # TOML allows inf and nan; neither is a cost, count or rate
        raise UsageError(f"{where}: {key} = {v} is not a finite number", "costs, counts and rates are finite numbers ≥ 0")
    if v < 0:
        raise UsageError(f"{where}: {key} = {v} is negative", "costs, counts and rates are ≥ 0")
    return float(v)


def parse_fleet(doc: dict[str, Any], catalog: dict[str, Asic], source: str = "fleet") -> Fleet:
    """A Fleet from a parsed TOML document (see the module docstring for the keys)."""
    site_d = doc.get("site", {})
    where = f"{source} [site]"
    power = _num(site_d, "power_usd_per_kwh", None, where)
    if power is None:
        raise UsageError(f"{where}: power_usd_per_kwh is required", "e.g. power_usd_per_kwh = 0.06")
    site = Site(power, _num(site_d, "pue", 1.0, where) or 1.0, _num(site_d, "pool_fee_pct", 0.0, where) or 0.0)
    default_dep = _num(site_d, "depreciation_months", 36.0, where) or 36.0
    lines: list[FleetLine] = []
    for i, m in enumerate(doc.get("machines", []), start=1):
        w = f"{source} machines #{i}"
        unit_ths = _num(m, "hashrate_ths_per_unit", None, w)
        unit_w = _num(m, "power_w", None, w)
        name = str(m.get("model", "")).strip()
        if unit_ths is None or unit_w is None:
            if not name:
                raise UsageError(f"{w}: no model", "give model = \"…\" or hashrate_ths_per_unit and power_w")
            spec = find_model(catalog, name)
            unit_ths = unit_ths if unit_ths is not None else spec.hashrate_ths
            unit_w = unit_w if unit_w is not None else spec.power_w
            name = spec.model
        eff = _num(m, "efficiency_j_per_th", None, w) or unit_w / unit_ths
        count = _num(m, "count", None, w)
        total_ths = _num(m, "hashrate_ths", None, w)
        if (count is None) == (total_ths is None):
            raise UsageError(f"{w} ({name}): give exactly one of count and hashrate_ths", "count = 100")
        if total_ths is None:
            total_ths = count * unit_ths  # type: ignore[operator]
        lines.append(FleetLine(name or f"machine {i}", total_ths, eff, total_ths / unit_ths,
                               _num(m, "unit_cost_usd", 0.0, w) or 0.0,
                               _num(m, "depreciation_months", default_dep, w) or default_dep))
    if not lines:
        raise UsageError(f"{source}: no [[machines]]", "add at least one [[machines]] table")
    return Fleet(site, tuple(lines), _num(site_d, "hosting_usd_per_month", 0.0, where) or 0.0,
                 _num(site_d, "other_opex_usd_per_month", 0.0, where) or 0.0)


def load_fleet(path: Path, catalog: dict[str, Asic]) -> Fleet:
    """Read a fleet TOML file."""
    text = read_user_text(path, "fleet file")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: not valid TOML: {e}", "see docs/economics.md for an example") from e
    return parse_fleet(doc, catalog, path.name)


def _economics(model: str, ths: float, eff: float, energy_usd: float, fixed_usd: float, dep_usd: float,
               site: Site, market: Market) -> LineEconomics:
    ph = ths / 1000.0
    share = site.revenue_share
    revenue = market.hashprice_usd_per_ph_day * share * ph
    hv = market.hashvalue_btc_per_ph_day
    btc = hv * share * ph if hv is not None else None
    kwh = energy_kwh_per_ph_day(eff, site.pue) * ph
    cost = energy_usd + fixed_usd + dep_usd
    # Breakeven power: the price p at which revenue = kwh × p + fixed + depreciation.
    be_power = (revenue - fixed_usd - dep_usd) / kwh if kwh else 0.0
    per_btc = (lambda usd: usd / btc if btc else None)
    return LineEconomics(
        model=model, hashrate_ths=ths, efficiency_j_per_th=eff, power_kw=kwh / 24.0,
        revenue_btc_per_day=btc, revenue_usd_per_day=revenue,
        energy_cost_usd_per_day=energy_usd, fixed_cost_usd_per_day=fixed_usd,
        depreciation_usd_per_day=dep_usd, cost_usd_per_day=cost,
        profit_energy_only_usd_per_day=revenue - energy_usd, profit_usd_per_day=revenue - cost,
        breakeven_hashprice_energy_usd_per_ph_day=energy_usd / ph / share if ph else 0.0,
        breakeven_hashprice_usd_per_ph_day=cost / ph / share if ph else 0.0,
        breakeven_power_usd_per_kwh=be_power,
        cost_per_btc_energy_usd=per_btc(energy_usd), cost_per_btc_usd=per_btc(cost),
        # Switching a machine off saves only its power bill: hosting and depreciation are owed anyway.
        shutoff_price_usd=per_btc(energy_usd),
    )


def fleet_economics(fleet: Fleet, market: Market) -> tuple[list[LineEconomics], LineEconomics]:
    """Per-line and whole-fleet daily economics in `market`."""
    total_ths = fleet.hashrate_ths
    fixed_day = (fleet.hosting_usd_per_month + fleet.other_opex_usd_per_month) / DAYS_PER_MONTH
    site = fleet.site
    out: list[LineEconomics] = []
    for ln in fleet.lines:
        ph = ln.hashrate_ths / 1000.0
        energy = energy_kwh_per_ph_day(ln.efficiency_j_per_th, site.pue) * ph * site.power_usd_per_kwh
        fixed = fixed_day * ln.hashrate_ths / total_ths if total_ths else 0.0
        dep = ln.units * ln.unit_cost_usd / (ln.depreciation_months * DAYS_PER_MONTH) if ln.depreciation_months else 0.0
        out.append(_economics(ln.model, ln.hashrate_ths, ln.efficiency_j_per_th, energy, fixed, dep, site, market))
    energy_all = sum(x.energy_cost_usd_per_day for x in out)
    eff_all = sum(x.efficiency_j_per_th * x.hashrate_ths for x in out) / total_ths if total_ths else 0.0
    whole = _economics("fleet", total_ths, eff_all, energy_all, sum(x.fixed_cost_usd_per_day for x in out),
                       sum(x.depreciation_usd_per_day for x in out), site, market)
    return out, whole
