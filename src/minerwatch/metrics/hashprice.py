"""Hashprice (USD) and hashvalue (BTC) per unit of hashrate per day, by three vendors' definitions.

Hashrate Index (Luxor), the index the press quotes, per block:
    hashvalue_btc_per_ph_day = (subsidy + SMA144(fees per block)) × 86,400 × 1e15 / (difficulty × 2^32)
BRK: coinbase value of the trailing 24 h's blocks / the trailing-24 h hashrate estimate.
Coin Metrics (RevHashRate): revenue of the UTC day / that day's block-count hashrate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb

from minerwatch.consensus import HASHES_PER_DIFFICULTY, hashvalue_btc_per_ph_day
from minerwatch.errors import UsageError
from minerwatch.metrics.history import History
from minerwatch.metrics.network import TRAILING_24H_HISTORY, daily_column
from minerwatch.metrics.registry import Query, metric

_SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def parse_difficulty(text: str) -> float:
    """'149.3T' → 1.493e14; plain numbers and K/M/G/T/P/E suffixes (case-insensitive)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtTpPeE]?)\s*", text)
    if not m:
        raise UsageError(f"cannot read difficulty {text!r}",
                         "give a number, optionally with a K/M/G/T/P suffix, e.g. 149.3T or 149300000000000")
    value = float(m.group(1)) * _SUFFIX[m.group(2).upper()]
    if value <= 0:
        raise UsageError(f"difficulty must be positive, got {text!r}", "e.g. --difficulty 149.3T")
    return value


def implied_hashrate_ehs(difficulty: float) -> float:
    """Hashrate at which blocks come every 600 s on average: D × 2^32 / 600, in EH/s."""
    return difficulty * HASHES_PER_DIFFICULTY / 600 / 1e18


@dataclass(frozen=True, slots=True)
class HashpriceCalc:
    difficulty: float
    price_usd: float
    subsidy_btc: float
    fees_btc_per_block: float
    hashvalue_btc_per_ph_day: float
    hashvalue_sat_per_th_day: float
    hashprice_usd_per_ph_day: float
    hashprice_usd_per_th_day: float
    implied_hashrate_ehs: float
    revenue_btc_per_day: float        # 144 blocks × (subsidy + fees)
    revenue_usd_per_day: float


def calc_hashprice(difficulty: float, price_usd: float, subsidy_btc: float,
                   fees_btc_per_block: float = 0.0) -> HashpriceCalc:
    """What-if hashprice with no chain: the Hashrate Index formula on given inputs (the subsidy is
    the caller's: the consensus rule at a height, see minerwatch.metrics.chain_tip)."""
    if price_usd <= 0 or subsidy_btc < 0 or fees_btc_per_block < 0:
        raise UsageError("price must be positive; subsidy and fees must not be negative",
                         "e.g. --price 86075 --fees-btc-per-block 0.025 (the subsidy follows --height)")
    hv = hashvalue_btc_per_ph_day(difficulty, subsidy_btc, fees_btc_per_block)
    revenue_btc = 144 * (subsidy_btc + fees_btc_per_block)
    return HashpriceCalc(
        difficulty=difficulty, price_usd=price_usd, subsidy_btc=subsidy_btc,
        fees_btc_per_block=fees_btc_per_block,
        hashvalue_btc_per_ph_day=hv, hashvalue_sat_per_th_day=hv * 1e8 / 1000,
        hashprice_usd_per_ph_day=hv * price_usd, hashprice_usd_per_th_day=hv * price_usd / 1000,
        implied_hashrate_ehs=implied_hashrate_ehs(difficulty),
        revenue_btc_per_day=revenue_btc, revenue_usd_per_day=revenue_btc * price_usd)


# ---- stored series -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BlockHashprice:
    height: int
    time_s: int
    hashvalue_btc_per_ph_day: float
    hashprice_usd_per_ph_day: float | None


def block_hashprice(con: duckdb.DuckDBPyConnection, from_height: int, to_height: int) -> list[BlockHashprice]:
    """The Hashrate Index hashprice at every block of a height range (it changes every block)."""
    rows = con.execute(
        "SELECT n.height, b.time_s, n.hashvalue_btc_per_ph_day, n.hashprice_usd_per_ph_day "
        "FROM block_network n JOIN blocks b USING (height) WHERE n.height BETWEEN ? AND ? ORDER BY n.height",
        [from_height, to_height]).fetchall()
    return [BlockHashprice(*r) for r in rows]


# The Hashrate Index averages the fees of the block and the 143 before it.
_SMA144 = History("the 143 blocks before each day's last block (its 144-block fee average)", blocks=143)
_SERIES = (
    ("hashprice_usd_per_ph_day", "USD/PH/day",
     "Hashrate Index: (subsidy + 144-block average fees) × 86,400 × 1e15 / (difficulty × 2^32) × price; daily close",
     "hashprice_usd_per_ph_day", _SMA144),
    ("hashvalue_btc_per_ph_day", "BTC/PH/day",
     "Hashrate Index hashvalue: (subsidy + 144-block average fees) × 86,400 × 1e15 / (difficulty × 2^32); daily close",
     "hashvalue_btc_per_ph_day", _SMA144),
    ("hashprice_usd_per_th_day", "USD/TH/day", "Hashrate Index hashprice per TH/s: hashprice_usd_per_ph_day / 1,000",
     "hashprice_usd_per_ph_day / 1000", _SMA144),
    ("hashvalue_sat_per_th_day", "sat/TH/day", "Hashrate Index hashvalue per TH/s in sats",
     "hashvalue_btc_per_ph_day * 1e8 / 1000", _SMA144),
    ("hashprice_brk_usd_per_ph_day", "USD/PH/day",
     "BRK: USD coinbase value of the trailing 24 h's blocks / trailing-24 h hashrate; daily close",
     "hashprice_brk_usd_per_ph_day", TRAILING_24H_HISTORY),
    ("hashvalue_brk_btc_per_ph_day", "BTC/PH/day",
     "BRK: coinbase value of the trailing 24 h's blocks / trailing-24 h hashrate; daily close",
     "hashvalue_brk_btc_per_ph_day", TRAILING_24H_HISTORY),
    # The Hashrate Index formula without fees: all a header gives, so it covers heights whose block
    # is not stored (headers first, a pruned node) and reads below the full index by the fee share.
    ("hashprice_subsidy_usd_per_ph_day", "USD/PH/day",
     "Hashrate Index formula with the subsidy alone: subsidy × 86,400 × 1e15 / (difficulty × 2^32) × price; daily close",
     "hashprice_subsidy_usd_per_ph_day", None),
    ("hashvalue_subsidy_btc_per_ph_day", "BTC/PH/day",
     "Hashrate Index formula with the subsidy alone: subsidy × 86,400 × 1e15 / (difficulty × 2^32); daily close",
     "hashvalue_subsidy_btc_per_ph_day", None),
    # Revenue and hashrate of the same (possibly partial) day: the ratio lacks nothing.
    ("hashprice_cm_usd_per_ph_day", "USD/PH/day",
     "Coin Metrics RevHashRateUSD: USD revenue of the UTC day / the day's block-count hashrate",
     "hashprice_cm_usd_per_ph_day", None),
    ("hashvalue_cm_btc_per_ph_day", "BTC/PH/day",
     "Coin Metrics RevHashRateNtv: revenue of the UTC day / the day's block-count hashrate",
     "hashvalue_cm_btc_per_ph_day", None),
)


def _register(name: str, unit: str, definition: str, expr: str, history: History | None) -> None:
    def series(con: duckdb.DuckDBPyConnection, q: Query) -> list[tuple[date, float | None]]:
        return daily_column(con, "daily_network", expr, q)
    series.__name__ = name
    metric(name, unit, definition, "hashprice", history=history)(series)


for _name, _unit, _definition, _expr, _history in _SERIES:
    _register(_name, _unit, _definition, _expr, _history)
