"""Who lives on the demo chain: pools, self-mining companies, solo miners, pool members, exchanges.

Every name and coinbase tag is invented and matches no pool in mempool.space's list (a test checks
this), so nothing on the simulated chain can be read as a real pool's blocks; the demo ships its own
pool list (pools.json, the same format) for them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from minerwatch.chain.builder import h20, h32, p2pkh, p2sh, p2tr, p2wpkh, p2wsh

_SCRIPT_MAKERS = {"p2wpkh": lambda l: p2wpkh(h20(l)), "p2sh": lambda l: p2sh(h20(l)),
                  "p2pkh": lambda l: p2pkh(h20(l)), "p2tr": lambda l: p2tr(h32(l)),
                  "p2wsh": lambda l: p2wsh(h32(l))}


def script_for(kind: str, label: str) -> bytes:
    """An output script of `kind` (p2wpkh, p2sh, p2pkh, p2tr, p2wsh) owned by `label`."""
    return _SCRIPT_MAKERS[kind](f"simnet:{label}")


@dataclass(frozen=True, slots=True)
class Miner:
    """A coinbase recipient: a pool (pays its members daily) or a self-miner (keeps a treasury)."""

    name: str
    tag: str               # coinbase tag text
    share: float           # of network hashrate
    payout: bytes          # the coinbase payout script
    kind: str              # "pool" | "company" | "solo"
    member_count: int = 0  # pools: how many member addresses it pays


# Shares roughly like today's top of the distribution (a few large pools, a long tail).
MINERS = (
    Miner("Ridgeline Pool", "/Ridgeline/", 0.27, script_for("p2wpkh", "ridgeline"), "pool", 160),
    Miner("Harbor Hash", "/HarborHash/", 0.20, script_for("p2wpkh", "harbor"), "pool", 120),
    Miner("Tundra Mining", "/Tundra Mining/", 0.14, script_for("p2sh", "tundra"), "pool", 90),
    Miner("Copperfield Pool", "/Copperfield/", 0.11, script_for("p2wpkh", "copperfield"), "pool", 70),
    Miner("Lumen Pool", "/LumenPool/", 0.08, script_for("p2tr", "lumen"), "pool", 60),
    Miner("Kestrelhash", "/Kestrelhash/", 0.06, script_for("p2pkh", "kestrel"), "pool", 40),
    Miner("Basalt Mining", "/BasaltMining/", 0.06, script_for("p2wpkh", "basalt"), "company"),
    Miner("Aurora Digital", "/AuroraDigital/", 0.05, script_for("p2wpkh", "aurora"), "company"),
    # ~3 % of blocks from solo miners whose tag names no pool: they show as "unknown"
    Miner("solo miners", "/sim solo/", 0.03, script_for("p2wpkh", "solo"), "solo"),
)
POOL_FEE = 0.02            # pools keep 2 % (FPPS-like) and pay it to their operator's wallet

EXCHANGES = ("Meridian Exchange", "Quayside", "Bluefin Markets", "Orbit Trade")
# Who sells where. Coin Metrics' 1-hop set takes in every script paid by a 0-hop spend, so an
# exchange that buys straight from coinbase recipients becomes "1-hop" itself; pool members (1-hop)
# therefore sell at the two other exchanges, whose deposits stay outside both cohorts and make the
# 1-hop outflow visible.
ZERO_HOP_BUYERS = ("Meridian Exchange", "Quayside")     # companies, solo miners, old coins
ONE_HOP_BUYERS = ("Bluefin Markets", "Orbit Trade")     # pool members
DEPOSITS_PER_EXCHANGE = 8


@dataclass(frozen=True, slots=True)
class Member:
    """A pool member's payout address: receives daily payouts (1-hop), sells weekly."""

    script: bytes
    pool: int              # index into MINERS
    weekday: int           # the day of the week it considers selling
    weight: float          # its share of the pool's hashrate


@dataclass(frozen=True, slots=True)
class Cast:
    members: tuple[Member, ...]
    by_pool: dict[int, tuple[Member, ...]]
    operators: dict[int, bytes]        # pool → operator wallet (receives the pool fee)
    deposits: dict[str, tuple[bytes, ...]]  # exchange → deposit scripts
    cold: dict[str, bytes]             # exchange → the cold wallet its deposits are swept to weekly
    users: tuple[bytes, ...]           # everybody else: receivers of ordinary payments
    economy: tuple[bytes, ...]         # the wallets that pay ordinary payments (and most fees)


def make_cast(rng: random.Random) -> Cast:
    """Every actor's scripts; deterministic for a seeded `rng`."""
    kinds = ("p2wpkh",) * 11 + ("p2tr",) * 4 + ("p2sh",) * 3 + ("p2pkh",) * 2
    members: list[Member] = []
    by_pool: dict[int, tuple[Member, ...]] = {}
    operators: dict[int, bytes] = {}
    for i, m in enumerate(MINERS):
        if m.kind != "pool":
            continue
        # Heavy-tailed member sizes: a few large farms and many small miners, as pools report.
        weights = [rng.paretovariate(1.2) for _ in range(m.member_count)]
        total = sum(weights)
        mine = tuple(Member(script_for(rng.choice(kinds), f"member:{i}:{k}"), i, rng.randrange(7), w / total)
                     for k, w in enumerate(weights))
        members.extend(mine)
        by_pool[i] = mine
        operators[i] = script_for("p2wpkh", f"operator:{i}")
    deposits = {name: tuple(script_for("p2wpkh" if k % 4 else "p2sh", f"deposit:{name}:{k}")
                            for k in range(DEPOSITS_PER_EXCHANGE)) for name in EXCHANGES}
    cold = {name: script_for("p2wsh", f"cold:{name}") for name in EXCHANGES}
    users = tuple(script_for(rng.choice(kinds), f"user:{k}") for k in range(4000))
    economy = tuple(script_for("p2wpkh" if k % 3 else "p2tr", f"economy:{k}") for k in range(6))
    return Cast(tuple(members), by_pool, operators, deposits, cold, users, economy)
