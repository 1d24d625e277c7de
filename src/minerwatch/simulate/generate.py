"""The block loop of the demo chain: who mines each block, when, and which transactions it carries.

Block times follow the story's hashrate: each interval is exponential with mean
600 s × (difficulty / genesis difficulty) / hashrate factor, and the builder retargets every 2,016
blocks from those times, so difficulty chases hashrate as on mainnet.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from minerwatch.chain.builder import ChainBuilder, OutPoint, key, key65, p2pk
from minerwatch.consensus import BLOCK_INTERVAL_S, SAT_PER_BTC, difficulty_from_bits
from minerwatch.networks import get_network
from minerwatch.simulate import story as S
from minerwatch.simulate.actors import EXCHANGES, MINERS, ONE_HOP_BUYERS, POOL_FEE, Cast, make_cast
from minerwatch.simulate.story import Story, make_story

DAY_S = 86_400
COINBASE_MATURITY = 100            # blocks before a coinbase output may be spent (consensus)
_MAX_ACTIONS_PER_BLOCK = 4         # keeps every block a few KB; the rest waits for the next block
_MAX_INPUTS_PER_TX = 120
_ECONOMY_FUNDING_SAT = 50_000 * SAT_PER_BTC
_SELLS_AT = {"Basalt Mining": "Meridian Exchange", "Aurora Digital": "Quayside", "solo miners": "Quayside",
             "early coins": "Meridian Exchange"}
_COMPANY_KEEP = 0.3                 # until the sell-off the companies hold 30 % of what they mine
_COMPANY_DUMP = 0.75                # on its dump day a company sells 75 % of its treasury
_AWAKENED_SHARE = 0.15              # of the early coinbases, sold during the fall
_AWAKENING_BATCH = 40


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 2025
    days: int = S.STORY_DAYS


@dataclass(frozen=True, slots=True)
class SimChain:
    """A generated demo chain: raw blocks from the simnet genesis, and the story behind them."""

    raw_blocks: list[bytes] = field(repr=False)
    story: Story = field(repr=False)
    cast: Cast = field(repr=False)
    start_time_s: int
    block_times_s: list[int] = field(repr=False)
    block_bits: list[int] = field(repr=False)
    # The economy's coins from outside the chain (ChainBuilder.fund): its undo data spends them.
    funded_coins: dict = field(default_factory=dict, repr=False)

    def dates(self) -> list[str]:
        """The chain's UTC days (YYYY-MM-DD), day 0 first."""
        start = datetime.fromtimestamp(self.start_time_s, timezone.utc).date()
        return [(start + timedelta(days=d)).isoformat() for d in range(self.story.days)]


class _Loop:
    def __init__(self, config: SimConfig) -> None:
        self.rng = random.Random(config.seed)
        self.story = make_story(config.days, self.rng)
        self.cast = make_cast(self.rng)
        self.b = ChainBuilder(get_network("simnet"))
        self.t0 = self.b.times[0]
        self.d0 = difficulty_from_bits(self.b.bits[0])
        # (due time, sequence, action); actions: ("payout", pool index), ("treasury", miner index,
        # dump?), ("sell", Member, fraction), ("sweep", exchange), ("awaken", number of old coins)
        self.queue: list[tuple[int, int, tuple]] = []
        self.seq = 0
        self.economy = [self.b.fund(s, _ECONOMY_FUNDING_SAT, f"economy:{k}") for k, s in
                        enumerate(self.cast.economy)]
        self.early: list[OutPoint] = []                  # unspent early (P2PK) coinbase outputs
        self.early_minted = 0
        self.companies = [i for i, m in enumerate(MINERS) if m.kind == "company"]
        self.t_day = 0
        self.sold_up_to: dict[int, int] = {}             # company → height of the newest coin it dealt with
        self.dumped: set[int] = set()                    # companies that sold their treasury (then sell all they mine)
        self.cum_shares = []
        acc = 0.0
        for m in MINERS:
            acc += m.share
            self.cum_shares.append(acc)
        self.action_fees_sat = 0

    # --- scheduling --------------------------------------------------------------------------

    def at(self, due_s: int, action: tuple) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (due_s, self.seq, action))

    def plan_day(self, day: int) -> None:
        rng, st, start = self.rng, self.story, self.t0 + day * DAY_S
        for i, m in enumerate(MINERS):
            if m.kind == "pool":
                self.at(start + (3 + 2 * i) * 3600 + rng.randrange(1800), ("payout", i))
            elif m.kind == "company":
                j = self.companies.index(i)
                dump = day == st.day(S.TREASURY_DUMPS[j])
                if dump or day % 30 == 11 + 7 * j:
                    self.at(start + rng.randrange(DAY_S), ("treasury", i, dump))
            elif day % 7 == 3:
                self.at(start + rng.randrange(DAY_S), ("treasury", i, False))
        if day % 7 == 6:
            for name in EXCHANGES:
                self.at(start + rng.randrange(DAY_S), ("sweep", name))
        panic = st.in_window(day, S.PANIC_START, S.PANIC_END)
        for member in self.cast.members:
            # Calm weeks: a third of the members sell 20–60 % of their coins, so holdings build up to
            # ~8 weeks of payouts; in the panic nearly all sell everything, once a week.
            if member.weekday == day % 7 and rng.random() < (0.9 if panic else 0.3):
                self.at(start + rng.randrange(DAY_S), ("sell", member, 1.0 if panic else rng.uniform(0.2, 0.6)))
        if self.early:
            if st.in_window(day, S.AWAKENING_START, S.AWAKENING_END):
                window = st.day(S.AWAKENING_END) - st.day(S.AWAKENING_START) + 1
                n = round(self.early_minted * _AWAKENED_SHARE / window)
                for k in range(0, n, _AWAKENING_BATCH):
                    self.at(start + rng.randrange(DAY_S), ("awaken", min(_AWAKENING_BATCH, n - k)))
            elif day > st.day(S.EARLY_ERA_END) + 1 and rng.random() < 0.3:  # +1 day: past coinbase maturity
                self.at(start + rng.randrange(DAY_S), ("awaken", 1))

    # --- actions (each queues one or more transactions for the next block) --------------------

    def matured(self, script: bytes) -> list[OutPoint]:
        limit = self.b.height + 1 - COINBASE_MATURITY
        utxos = self.b.utxos
        return [op for op in self.b.coins_of(script) if not utxos[op].is_coinbase or utxos[op].height <= limit]

    def _spend(self, coins: list[OutPoint], outputs: list[tuple[bytes, int]], fee_sat: int,
               change: bytes | None = None) -> None:
        self.b.spend(coins, outputs, fee_sat, change)
        self.action_fees_sat += fee_sat

    def run(self, action: tuple) -> None:
        kind, b, rng = action[0], self.b, self.rng
        if kind == "payout":
            i = action[1]
            coins = self.matured(MINERS[i].payout)[:_MAX_INPUTS_PER_TX]
            total = sum(b.utxos[op].value_sat for op in coins)
            members = self.cast.by_pool[i]
            fee = 2_000 + 100 * len(coins) + 40 * len(members)
            if total < 10 * fee:
                return
            pay = (total - fee) * (1 - POOL_FEE)
            outs = [(m.script, int(pay * m.weight)) for m in members]
            outs = [o for o in outs if o[1] >= 546]   # below the dust limit a pool carries it over
            outs.append((self.cast.operators[i], total - fee - sum(v for _, v in outs)))
            self._spend(coins, outs, fee)
        elif kind == "sell":
            member, fraction = action[1], action[2]
            coins = b.coins_of(member.script)[:_MAX_INPUTS_PER_TX]
            balance = sum(b.utxos[op].value_sat for op in coins)
            if balance < 1_000_000:
                return
            fee = 1_000 + 150 * len(coins)
            amount = int((balance - fee) * fraction)
            self._spend(coins, [(self.deposit(rng.choice(ONE_HOP_BUYERS)), amount)], fee, member.script)
        elif kind == "treasury":
            self.treasury(action[1], action[2])
        elif kind == "sweep":
            coins = [op for s in self.cast.deposits[action[1]] for op in b.coins_of(s)][:_MAX_INPUTS_PER_TX]
            if coins:
                fee = 2_000 + 100 * len(coins)
                self._spend(coins, [(self.cast.cold[action[1]], sum(b.utxos[op].value_sat for op in coins) - fee)],
                            fee)
        elif kind == "awaken":
            n = min(action[1], len(self.early))
            if not n:
                return
            picks = sorted(rng.sample(range(len(self.early)), n), reverse=True)
            coins = [self.early.pop(p) for p in picks]
            fee = 2_000 + 150 * n
            value = sum(b.utxos[op].value_sat for op in coins) - fee
            self._spend(coins, [(self.deposit(_SELLS_AT["early coins"]), value)], fee)

    def treasury(self, i: int, dump: bool) -> None:
        """A self-miner sells: the companies keep 30 % until their dump day, sell 75 % of the treasury
        that day, and afterwards sell what they mine (the remaining quarter stays); solo miners sell all."""
        m, b = MINERS[i], self.b
        coins = self.matured(m.payout)
        if m.kind == "company" and coins:
            last = self.sold_up_to.get(i, 0)
            self.sold_up_to[i] = b.utxos[coins[-1]].height
            if dump:
                self.dumped.add(i)
                coins = coins[:int(len(coins) * _COMPANY_DUMP)]
            elif i in self.dumped:
                coins = [op for op in coins if b.utxos[op].height > last]
            else:
                new = [op for op in coins if b.utxos[op].height > last]
                coins = new[:int(len(new) * (1 - _COMPANY_KEEP))]
        for k in range(0, len(coins), _MAX_INPUTS_PER_TX):
            chunk = coins[k:k + _MAX_INPUTS_PER_TX]
            fee = 2_000 + 100 * len(chunk)
            value = sum(b.utxos[op].value_sat for op in chunk) - fee
            self._spend(chunk, [(self.deposit(_SELLS_AT[m.name]), value)], fee)

    def deposit(self, exchange: str) -> bytes:
        return self.rng.choice(self.cast.deposits[exchange])

    # --- the loop ----------------------------------------------------------------------------

    def fees_for_block(self) -> None:
        rng, b = self.rng, self.b
        target = int(self.story.fee_level_btc[self.t_day] * rng.lognormvariate(0.0, 0.35) * SAT_PER_BTC)
        target = min(int(S.MAX_FEE_BTC * SAT_PER_BTC), max(int(S.MIN_FEE_BTC * SAT_PER_BTC), target))
        n = 1 + (rng.random() < 0.6) + (rng.random() < 0.3)
        rest = max(target - self.action_fees_sat, 1_000 * n)
        for k in range(n):
            fee = rest // n + (rest % n if k == 0 else 0)
            w = rng.randrange(len(self.economy))
            value = min(SAT_PER_BTC, int(rng.lognormvariate(14.9, 1.2)))   # median e^14.9 sat ≈ 0.03 BTC
            tx = b.spend([self.economy[w]], [(rng.choice(self.cast.users), value)], fee, self.cast.economy[w])
            self.economy[w] = tx.outpoint(1)

    def coinbase(self, height: int) -> tuple[str, bytes, bool]:
        """(tag, payout script, early era?) of the block at `height`."""
        r = self.rng.random()
        m = MINERS[next((k for k, c in enumerate(self.cum_shares) if r < c), len(MINERS) - 1)]
        early_end = self.story.day(S.EARLY_ERA_END)
        if self.t_day < early_end:
            # The old era: a fresh bare public key per block (uncompressed first, as 2009 did).
            label = f"simnet:early:{height}"
            return m.tag, p2pk(key65(label) if self.t_day < early_end // 2 else key(label)), True
        return m.tag, m.payout, False

    def run_all(self) -> SimChain:
        b, rng, end = self.b, self.rng, self.t0 + self.story.days * DAY_S
        t, day = self.t0, -1
        while True:
            mean_s = BLOCK_INTERVAL_S * difficulty_from_bits(b.next_bits()) / self.d0 \
                / self.story.hashrate_factor[min((t - self.t0) // DAY_S, self.story.days - 1)]
            t += max(1, round(rng.expovariate(1.0 / mean_s)))
            if t >= end:
                break
            self.t_day = (t - self.t0) // DAY_S
            while day < self.t_day:
                day += 1
                self.plan_day(day)
            self.action_fees_sat = 0
            done = 0
            while self.queue and self.queue[0][0] <= t and done < _MAX_ACTIONS_PER_BLOCK:
                self.run(heapq.heappop(self.queue)[2])
                done += 1
            self.fees_for_block()
            height = b.height + 1
            tag, payout, early = self.coinbase(height)
            b.mine(tag=tag, payouts=[(payout, None)], time_s=t)
            if early:
                self.early.append(b.coinbase_outpoint(height))
                self.early_minted += 1
        return SimChain(b.blocks, self.story, self.cast, self.t0, b.times, b.bits, b.funded_coins)


def generate(config: SimConfig = SimConfig()) -> SimChain:
    """Generate the demo chain for `config` (same config → byte-identical blocks)."""
    return _Loop(config).run_all()
