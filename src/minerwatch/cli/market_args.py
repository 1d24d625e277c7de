"""The market a calculator assumes: the difficulty, BTC price and fees the user gave, each of the
others taken from the database's tip (difficulty, the 144-block mean fees of the Hashrate Index,
the tip day's price) when there is a database, and every figure's source said."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from minerwatch.cli.common import db_path
from minerwatch.errors import StoreError
from minerwatch.queries.market import TipMarket, tip_market


@dataclass(frozen=True, slots=True)
class MarketInputs:
    difficulty: float | None               # None: not given and no database to take it from
    price_usd: float | None
    fees_btc_per_block: float
    sources: dict[str, str] = field(default_factory=dict)   # "difficulty" | "price_usd" | "fees_btc_per_block" → where from
    missing: str = ""                      # why the database gave nothing (when it was asked)
    day: date | None = None                # the tip's UTC day, when the database gave any figure

    def as_fields(self) -> dict[str, Any]:
        return {f"{k}_source": v for k, v in self.sources.items()}


def add_market_args(g: Any, price_dest: str = "price") -> None:
    """--difficulty, --price and --fees-btc-per-block on a calculator (in argument group `g`)."""
    from minerwatch.cli.metrics_cmds import finite_float
    from minerwatch.metrics.hashprice import parse_difficulty

    g.add_argument("--difficulty", type=parse_difficulty,
                   help="network difficulty (plain, or 149.3T; default: the tip's, when there is a database)")
    g.add_argument("--price", dest=price_dest, type=finite_float,
                   help="BTC price, USD (default: the database's price on the tip's day)")
    g.add_argument("--fees-btc-per-block", type=finite_float, default=None,
                   help="mean fees per block, BTC (default: the mean of the database's last 144 blocks, else 0)")


def _stored(args: argparse.Namespace) -> TipMarket | str:
    """The database's market at its tip, or why there is none."""
    from minerwatch.queries.db import connect_readonly

    path = db_path(args)
    if not path.exists():
        return f"no database at {path}"
    try:
        with connect_readonly(path) as con:
            market = tip_market(con)
    except StoreError as e:
        return f"the database at {path} cannot be read now ({e.message})"
    return market if market is not None else f"the database at {path} holds no blocks"


def market_inputs(args: argparse.Namespace, price_dest: str = "price") -> MarketInputs:
    """What the user gave, the rest from the database's tip when one exists."""
    difficulty, price = args.difficulty, getattr(args, price_dest)
    fees = args.fees_btc_per_block
    sources = {}
    if difficulty is not None:
        sources["difficulty"] = "given (--difficulty)"
    if price is not None:
        sources["price_usd"] = "given (--price)"
    if fees is not None:
        sources["fees_btc_per_block"] = "given (--fees-btc-per-block)"
    if difficulty is not None and price is not None and fees is not None:
        return MarketInputs(difficulty, price, fees, sources)
    stored = _stored(args)
    if isinstance(stored, str):
        if fees is None:
            sources["fees_btc_per_block"] = f"none given, so 0 ({stored})"
        return MarketInputs(difficulty, price, 0.0 if fees is None else fees, sources, stored)
    where = f"the {stored.network} database at {db_path(args)}"
    if difficulty is None:
        difficulty = stored.difficulty
        sources["difficulty"] = f"block {stored.height:,} ({stored.day}), the tip of {where}"
    if fees is None:
        fees = stored.fees_btc_per_block
        sources["fees_btc_per_block"] = f"the mean of blocks {max(stored.height - 143, 0):,}–{stored.height:,}, {where}"
    missing = ""
    if price is None and stored.price_usd is not None:
        price = stored.price_usd
        sources["price_usd"] = f"the price of {stored.price_day}, {where}"
    elif price is None:
        missing = f"{where} holds no BTC price on or before {stored.day}"
    return MarketInputs(difficulty, price, fees, sources, missing, stored.day)
