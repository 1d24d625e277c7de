"""Today's market as the database knows it: the inputs of the Hashrate Index at the stored tip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.queries.db import meta_value, table_exists


@dataclass(frozen=True, slots=True)
class TipMarket:
    """Difficulty, 144-block mean fees and BTC price at the tip, with the heights and days they are from."""

    network: str
    height: int
    day: date                       # UTC day of the tip's header time
    difficulty: float               # the tip block's
    fees_btc_per_block: float       # mean fees claimed by the tip and the 143 blocks before it
    price_usd: float | None         # the tip day's price, else the latest before it; None: no price stored
    price_day: date | None


def tip_market(con: duckdb.DuckDBPyConnection) -> TipMarket | None:
    """The market at the highest stored block with its network figures; None before any is stored."""
    if not (table_exists(con, "blocks") and table_exists(con, "block_network")):
        return None
    # max(height), not ORDER BY … DESC LIMIT 1: see store.connect on DuckDB's row-group pruner.
    row = con.execute(
        "SELECT b.height, n.day, b.difficulty, n.fees_sma144_sat FROM blocks b JOIN block_network n USING (height) "
        "WHERE b.height = (SELECT max(height) FROM block_network)").fetchone()
    if row is None:
        return None
    height, day, difficulty, fees_sat = int(row[0]), row[1], float(row[2]), float(row[3])
    price = con.execute("SELECT date, price_usd FROM prices WHERE date = (SELECT max(date) FROM prices WHERE date <= ?)",
                        [day]).fetchone() if table_exists(con, "prices") else None
    return TipMarket(meta_value(con, "network") or "mainnet", height, day, difficulty, fees_sat / 1e8,
                     None if price is None else float(price[1]), None if price is None else price[0])
