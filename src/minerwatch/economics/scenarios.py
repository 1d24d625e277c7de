"""Month-by-month projections: a BTC price path and difficulty growth → hashprice and fleet profit,
and how long a treasury (BTC plus cash) lasts against the fleet's costs."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from minerwatch.economics.breakeven import Market, market_from_chain
from minerwatch.economics.fleet import Fleet, fleet_economics
from minerwatch.errors import UsageError


@dataclass(frozen=True, slots=True)
class Scenario:
    """Start point and paths. Month 0 is the month of `start`; each month is a calendar month."""

    start: date
    months: int
    difficulty: float
    fees_btc_per_block: float
    subsidy_btc: float
    price_path_usd: tuple[float, ...]            # one price per month; the last repeats
    difficulty_growth_pct_per_month: float = 0.0
    halving_month: int | None = None             # month index from which the subsidy is halved


@dataclass(frozen=True, slots=True)
class MonthProjection:
    month: str                                   # YYYY-MM
    days: int
    price_usd: float
    difficulty: float
    hashprice_usd_per_ph_day: float
    revenue_usd: float
    cost_usd: float                              # all-in: energy, fixed costs, depreciation
    cash_cost_usd: float                         # energy and fixed costs: what must be paid out
    profit_usd: float
    revenue_btc: float


@dataclass(frozen=True, slots=True)
class Runway:
    months_covered: int | None                   # None: the treasury outlasts the horizon
    runs_out: str | None                         # YYYY-MM of the month it cannot pay, None if it never does
    treasury_btc: tuple[float, ...]              # at the end of each month
    treasury_cash_usd: tuple[float, ...]


def price_path(start_price_usd: float, change_pct_per_month: float, months: int) -> tuple[float, ...]:
    """A constant-rate price path: price × (1 + r)^m for m = 0 … months − 1."""
    return tuple(start_price_usd * (1 + change_pct_per_month / 100.0) ** m for m in range(months))


def _month_start(start: date, m: int) -> date:
    y, mo = divmod(start.month - 1 + m, 12)
    return date(start.year + y, mo + 1, 1)


def market_in_month(s: Scenario, m: int) -> Market:
    """The market of month m: difficulty grown by (1 + g)^m, the path's price, the subsidy after halvings."""
    if not s.price_path_usd:
        raise UsageError("the price path is empty", "give --price-path or --price with --price-change-pct")
    price = s.price_path_usd[min(m, len(s.price_path_usd) - 1)]
    subsidy = s.subsidy_btc / 2 if s.halving_month is not None and m >= s.halving_month else s.subsidy_btc
    difficulty = s.difficulty * (1 + s.difficulty_growth_pct_per_month / 100.0) ** m
    return market_from_chain(difficulty, price, s.fees_btc_per_block, subsidy)


def project(fleet: Fleet, s: Scenario) -> list[MonthProjection]:
    """Fleet revenue, cost and profit for each month of the scenario."""
    if s.months < 1:
        raise UsageError(f"{s.months} months is not a horizon", "give --months ≥ 1")
    out: list[MonthProjection] = []
    for m in range(s.months):
        first = _month_start(s.start, m)
        days = calendar.monthrange(first.year, first.month)[1]
        market = market_in_month(s, m)
        _, whole = fleet_economics(fleet, market)
        out.append(MonthProjection(
            month=first.strftime("%Y-%m"), days=days, price_usd=market.price_usd or 0.0,
            difficulty=market.difficulty or 0.0, hashprice_usd_per_ph_day=market.hashprice_usd_per_ph_day,
            revenue_usd=whole.revenue_usd_per_day * days, cost_usd=whole.cost_usd_per_day * days,
            cash_cost_usd=(whole.energy_cost_usd_per_day + whole.fixed_cost_usd_per_day) * days,
            profit_usd=whole.profit_usd_per_day * days, revenue_btc=(whole.revenue_btc_per_day or 0.0) * days))
    return out


def runway(months: list[MonthProjection], treasury_btc: float, treasury_cash_usd: float,
           hodl_production: bool = False) -> Runway:
    """Months the treasury pays the cash costs: production sold (or held, if `hodl_production`), cash
    spent first, then BTC sold at the month's price; it runs out in the first month it cannot pay."""
    btc, cash = treasury_btc, treasury_cash_usd
    btcs: list[float] = []
    cashes: list[float] = []
    for i, p in enumerate(months):
        if hodl_production:
            btc += p.revenue_btc
        else:
            cash += p.revenue_usd
        cash -= p.cash_cost_usd
        if cash < 0:
            need_btc = -cash / p.price_usd if p.price_usd else float("inf")
            if need_btc > btc:
                return Runway(i, p.month, tuple(btcs), tuple(cashes))
            btc -= need_btc
            cash = 0.0
        btcs.append(btc)
        cashes.append(cash)
    return Runway(None, None, tuple(btcs), tuple(cashes))
