"""The demo's market story: daily price, network hashrate and fee level, seeded and repeatable.

The story is written on a 480-day calendar and stretched to any length, so a short chain (tests)
tells the same story as the full demo. The sell-off comes after day 365 so that the 365-day
ratios (Miner Position Index, Puell Multiple) are defined when it happens.

- price: ~94k USD, a rise to ~121k (day 345), then a 49 % fall to ~61.5k (day 400) — with
  difficulty still high this gives the hashprice record low — and a partial recovery to ~79k;
- hashrate: +0.07 %/day growth (about +2.1 % a month; difficulty 1.1e14 → ~1.45e14), then from
  day 372 an 18 % capitulation over three weeks, a month at the bottom and a recovery by day 465,
  so the 30-day hashrate average crosses below the 60-day one (hash-ribbon capitulation) and back;
- fees: ~0.04 BTC per block with three spikes (up to 0.5 BTC), the last during the sell-off;
- miners (pool members, self-mining companies, holders of early coinbases) sell out of their
  reserves during the fall.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

STORY_DAYS = 480
# (day on the 480-day calendar, price in USD)
_PRICE_ANCHORS = (
    (0, 94_000), (60, 101_000), (130, 97_000), (200, 112_000), (260, 107_000), (345, 121_000),
    (362, 104_000), (382, 71_000), (400, 61_500), (420, 66_000), (450, 74_000), (480, 79_000),
)
_HASHRATE_GROWTH_PER_DAY = 0.0007
# (day, multiplier on the growth path): the capitulation and recovery
_CAPITULATION = ((0, 1.0), (372, 1.0), (394, 0.82), (418, 0.82), (465, 1.0), (480, 1.0))
# (first day, last day, fee multiplier)
_FEE_SPIKES = ((40, 44, 6.0), (181, 183, 11.0), (378, 383, 5.0))
BASE_FEE_BTC = 0.04
MIN_FEE_BTC, MAX_FEE_BTC = 0.02, 0.5
# Event windows (480-day calendar) that the generator's actors follow.
EARLY_ERA_END = 27           # coinbases pay bare public keys (P2PK) until here: the old-era reserve
FALL_START, FALL_BOTTOM = 345, 400
CAPITULATION_START, CAPITULATION_BOTTOM, RECOVERY = 372, 394, 465
PANIC_START, PANIC_END = 352, 410     # pool members sell out of their reserve
AWAKENING_START, AWAKENING_END = 362, 397  # dormant early coinbases move to exchanges
TREASURY_DUMPS = (374, 386)           # the self-mining companies sell much of their treasury


@dataclass(frozen=True, slots=True)
class Story:
    """Daily paths for a chain of `days` days (index = day since the simnet genesis)."""

    days: int
    price_usd: list[float]
    hashrate_factor: list[float]   # network hashrate / the hashrate that mines at 600 s on day 0
    fee_level_btc: list[float]     # typical fee per block that day

    def day(self, story_day: float) -> int:
        """A day on the 480-day calendar → the day of this chain."""
        return min(self.days - 1, int(story_day * self.days / STORY_DAYS))

    def in_window(self, day: int, start: float, end: float) -> bool:
        return self.day(start) <= day <= self.day(end)


def _interp(anchors: tuple[tuple[float, float], ...], x: float) -> float:
    for (x0, y0), (x1, y1) in zip(anchors, anchors[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return anchors[-1][1]


def _ar1(rng: random.Random, n: int, sigma: float, phi: float) -> list[float]:
    """Mean-reverting noise (AR(1)): deviations that wander for days but return to the path."""
    out, x = [], 0.0
    for _ in range(n):
        x = phi * x + rng.gauss(0.0, sigma)
        out.append(x)
    return out


def make_story(days: int, rng: random.Random) -> Story:
    """The price, hashrate and fee paths for `days` days."""
    scale = STORY_DAYS / days
    price_noise = _ar1(rng, days, 0.02, 0.85)       # ±2 %/day moves, ~4 % typical deviation
    hash_noise = _ar1(rng, days, 0.006, 0.9)
    fee_noise = _ar1(rng, days, 0.25, 0.7)
    price, hashrate, fees = [], [], []
    for d in range(days):
        s = d * scale
        price.append(round(_interp(_PRICE_ANCHORS, s) * math.exp(price_noise[d]), 2))
        hashrate.append(math.exp(_HASHRATE_GROWTH_PER_DAY * s + hash_noise[d]) * _interp(_CAPITULATION, s))
        spike = next((m for a, b, m in _FEE_SPIKES if a <= s <= b), 1.0)
        fees.append(min(MAX_FEE_BTC, max(MIN_FEE_BTC, BASE_FEE_BTC * spike * math.exp(fee_noise[d]))))
    return Story(days, price, hashrate, fees)
