"""A mainnet-shaped rehearsal chain of full length, written as blk files (network `rehearsal`).

What follows mainnet (calibration and sources in docs/benchmarks.md, section "Rehearsal"):

- length and economics: ≥ 925,000 blocks, 50 BTC halved every 210,000 blocks;
- difficulty and time: every retarget period's first and last block carry the real mainnet header
  times of tests/data/headers/mainnet-retarget-headers-0-832608.csv (blocks between them evenly
  spaced), so Core's retarget rule, applied by the chain builder, gives mainnet's own bits for
  every period to 832,608 (checked and printed); later periods repeat the last year's mean timespan;
- who mines: solo miners paying a new bare public key per block (P2PK: uncompressed to 120,000,
  compressed after), then the pools of each era by their mempool.space tags (so the shipped
  pools-v2.json attributes them) with era shares; Eligius/P2Pool-style pools whose coinbases pay
  hundreds of miners directly; solo miners with a new address per block;
- what miners do: pools pay their members from matured coinbases in one payout transaction a day
  (hundreds to thousands of outputs); members consolidate their payouts and send them to exchange
  deposit addresses; solo miners sell their coinbases to exchanges; exchanges sweep deposits; a few
  early P2PK coins wake up;
- script types by era: P2PKH, P2SH from 2012 (BIP16), P2WPKH from segwit (481,824), P2TR from
  taproot (709,632), at the adoption shares of docs/benchmarks.md.

Ordinary traffic (payments the cohorts never see) is thinned: mainnet's transactions per block of
each era divided by `--thin`. Miner payouts are thinned by `--payout-thin`. Nothing is mined:
the network is simulated, its proof of work is not checked (networks.py).

    python benchmarks/rehearsal.py --out /work/rehearsal [--blocks 925000] [--thin 400] [--hold-back 6]

writes OUT/blocks/blk*.dat (XOR-obfuscated, xor.dat), their undo data OUT/blocks/rev*.dat as Bitcoin
Core writes it (chain/revchain.py, from the blk files), OUT/tail/NNNNNNN.blk (the last --hold-back
blocks, raw, for timing a sync that takes one new block at a time) with each one's undo data
(NNNNNNN.undo), and OUT/rehearsal.json (counts).
`python benchmarks/rehearsal.py --append OUT` appends the next held-back block to the blk files and
its undo record to the rev file of the same number; `--rev-only OUT` writes the rev files of a
rehearsal written before they were (OUT/rev.json: their size and the time taken).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import heapq
import json
import os
import random
import resource
import sys
import time
from collections import deque
from pathlib import Path

from minerwatch.chain.blkscan import xor_at
from minerwatch.chain.builder import ChainBuilder, OutPoint, key, key65, p2pk
from minerwatch.chain.blkwrite import write_blk_files
from minerwatch.chain.revchain import CoinSet, append_rev_record, write_rev_files
from minerwatch.consensus import RETARGET_INTERVAL_BLOCKS as PERIOD
from minerwatch.errors import MinerwatchError
from minerwatch.networks import get_network
from minerwatch.simulate.actors import script_for

NETWORK = get_network("rehearsal")
HEADERS_CSV = Path(__file__).resolve().parents[1] / "tests/data/headers/mainnet-retarget-headers-0-832608.csv"
XOR_KEY = bytes.fromhex("5a17c0de2b9e4f31")
MATURITY = 100
SEGWIT_HEIGHT, TAPROOT_HEIGHT, P2SH_HEIGHT = 481_824, 709_632, 173_805

# Mainnet transactions per block (blockchain.com "n-transactions-per-block", read at these heights;
# linear in between): ~1.0 billion by 820,000 (Dec 2023, mainnet's billionth transaction) and
# ~1.25 billion over 925,000 blocks.
TX_PER_BLOCK = ((0, 1), (60_000, 1.5), (100_000, 4), (130_000, 25), (170_000, 100), (210_000, 250),
                (260_000, 350), (300_000, 450), (340_000, 750), (390_000, 1300), (420_000, 1800),
                (470_000, 2100), (500_000, 1600), (560_000, 2100), (630_000, 2000), (680_000, 1700),
                (740_000, 2100), (780_000, 2900), (830_000, 3300), (880_000, 2500), (930_000, 2300))

# Who mines, by era: (name, mempool.space tag, share, kind). kind: "p2pk" a new bare key per block;
# "solo" a new address per block (tags naming no pool: "unknown"); "pool" one payout script per
# retarget period, a payout transaction a day; "direct" Eligius/P2Pool: the coinbase pays members.
ERAS = (
    (0, (("solo", "", 1.0, "p2pk"),)),
    (100_000, (("solo", "", 0.55, "p2pk"), ("Braiins Pool", "/slush/", 0.15, "pool"),
               ("BTC Guild", "BTC Guild", 0.15, "pool"), ("Eligius", "Eligius", 0.05, "direct"),
               ("solo", "/mined/", 0.10, "solo"))),
    (160_000, (("solo", "", 0.25, "p2pk"), ("Braiins Pool", "/slush/", 0.12, "pool"),
               ("BTC Guild", "BTC Guild", 0.25, "pool"), ("50BTC", "50BTC", 0.10, "pool"),
               ("Eligius", "Eligius", 0.05, "direct"), ("P2Pool", "/P2Pool/", 0.03, "direct"),
               ("solo", "/mined/", 0.20, "solo"))),
    (250_000, (("GHash.IO", "ghash.io", 0.28, "pool"), ("BTC Guild", "BTC Guild", 0.20, "pool"),
               ("Braiins Pool", "/slush/", 0.10, "pool"), ("F2Pool", "F2Pool", 0.10, "pool"),
               ("50BTC", "50BTC", 0.05, "pool"), ("Eligius", "Eligius", 0.04, "direct"),
               ("P2Pool", "/P2Pool/", 0.03, "direct"), ("solo", "/mined/", 0.20, "solo"))),
    (330_000, (("F2Pool", "F2Pool", 0.20, "pool"), ("AntPool", "/AntPool/", 0.15, "pool"),
               ("GHash.IO", "ghash.io", 0.10, "pool"), ("BTCC", "/BTCC/", 0.10, "pool"),
               ("BitFury", "/BitFury/", 0.10, "pool"), ("Braiins Pool", "/slush/", 0.08, "pool"),
               ("Eligius", "Eligius", 0.03, "direct"), ("P2Pool", "/P2Pool/", 0.01, "direct"),
               ("solo", "/mined/", 0.23, "solo"))),
    (420_000, (("AntPool", "/AntPool/", 0.20, "pool"), ("F2Pool", "F2Pool", 0.20, "pool"),
               ("BTC.com", "/BTC.COM/", 0.15, "pool"), ("ViaBTC", "/ViaBTC/", 0.10, "pool"),
               ("BTCC", "/BTCC/", 0.10, "pool"), ("BitFury", "/BitFury/", 0.08, "pool"),
               ("Braiins Pool", "/slush/", 0.07, "pool"), ("solo", "/mined/", 0.10, "solo"))),
    (540_000, (("BTC.com", "/BTC.COM/", 0.18, "pool"), ("AntPool", "/AntPool/", 0.14, "pool"),
               ("F2Pool", "F2Pool", 0.16, "pool"), ("Poolin", "/poolin.com", 0.15, "pool"),
               ("ViaBTC", "/ViaBTC/", 0.08, "pool"), ("Braiins Pool", "/slush/", 0.06, "pool"),
               ("solo", "/mined/", 0.23, "solo"))),
    (680_000, (("Foundry USA", "Foundry USA Pool", 0.18, "pool"), ("AntPool", "/AntPool/", 0.16, "pool"),
               ("F2Pool", "F2Pool", 0.16, "pool"), ("Poolin", "/poolin.com", 0.12, "pool"),
               ("ViaBTC", "/ViaBTC/", 0.10, "pool"), ("Binance Pool", "/Binance/", 0.10, "pool"),
               ("Braiins Pool", "/slush/", 0.05, "pool"), ("solo", "/mined/", 0.13, "solo"))),
    (780_000, (("Foundry USA", "Foundry USA Pool", 0.32, "pool"), ("AntPool", "/AntPool/", 0.22, "pool"),
               ("F2Pool", "F2Pool", 0.10, "pool"), ("ViaBTC", "/ViaBTC/", 0.10, "pool"),
               ("Binance Pool", "/Binance/", 0.08, "pool"), ("MARA Pool", "MARA Pool", 0.04, "pool"),
               ("Luxor", "/LUXOR/", 0.03, "pool"), ("SpiderPool", "SpiderPool", 0.03, "pool"),
               ("solo", "/mined/", 0.08, "solo"))),
    (860_000, (("Foundry USA", "Foundry USA Pool", 0.30, "pool"), ("AntPool", "/AntPool/", 0.20, "pool"),
               ("ViaBTC", "/ViaBTC/", 0.12, "pool"), ("F2Pool", "F2Pool", 0.10, "pool"),
               ("SpiderPool", "SpiderPool", 0.07, "pool"), ("MARA Pool", "MARA Pool", 0.06, "pool"),
               ("Luxor", "/LUXOR/", 0.03, "pool"), ("Binance Pool", "/Binance/", 0.03, "pool"),
               ("OCEAN", "OCEAN.XYZ", 0.02, "pool"), ("solo", "/mined/", 0.07, "solo"))),
)
ERA_STARTS = [e[0] for e in ERAS]
# Outputs of one pool payout (before --payout-thin) and members a pool has, by era: F2Pool and
# AntPool paid thousands of accounts a day (see docs/benchmarks.md).
PAYOUT_OUTPUTS = ((0, 200), (250_000, 800), (420_000, 2_000), (680_000, 3_000))
DIRECT_OUTPUTS = (150, 500)          # Eligius/P2Pool coinbases: hundreds of outputs
EXCHANGES = 12
CONSOLIDATE_AT = 12                  # a member sends its payouts on when it holds this many
HOLDER_SHARE = 0.25                  # members who never sell: the cohort reserve grows
USER_COINS_LIVE = 200_000            # ordinary coins waiting to be spent (bounds the builder's memory)


def _interp(anchors: tuple[tuple[int, float], ...], x: int) -> float:
    for (x0, y0), (x1, y1) in zip(anchors, anchors[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return anchors[-1][1]


def _step(anchors: tuple[tuple[int, int], ...], x: int) -> int:
    return [v for h, v in anchors if h <= x][-1]


def script_kind(rng: random.Random, height: int) -> str:
    """An output type at the adoption shares of `height`'s era."""
    p2sh = 0.0 if height < P2SH_HEIGHT else min(0.2, 0.2 * (height - P2SH_HEIGHT) / 150_000)
    wpkh = 0.0 if height < SEGWIT_HEIGHT else min(0.6, 0.6 * (height - SEGWIT_HEIGHT) / 200_000)
    tr = 0.0 if height < TAPROOT_HEIGHT else min(0.2, 0.2 * (height - TAPROOT_HEIGHT) / 200_000)
    r = rng.random()
    if r < tr:
        return "p2tr"
    if r < tr + wpkh:
        return "p2wpkh"
    if r < tr + wpkh + p2sh:
        return "p2sh"
    return "p2pkh"


def period_times(n_periods: int) -> list[tuple[int, int, int | None]]:
    """(time of the first block, time of the last block, mainnet bits or None) per retarget period."""
    rows = {int(r["height"]): r for r in csv.DictReader(open(HEADERS_CSV))}
    out: list[tuple[int, int, int | None]] = []
    for k in range(n_periods):
        first, last = rows.get(k * PERIOD), rows.get(k * PERIOD + PERIOD - 1)
        if first is not None and last is not None:
            out.append((int(first["time"]), int(last["time"]), int(first["bits"], 16)))
            continue
        if first is not None:  # the CSV's last row: a period's first block only
            t0, bits = int(first["time"]), int(first["bits"], 16)
        else:
            t0, bits = out[-1][1] + 600, None
        recent = out[-26:]      # the last year of periods: mean timespan
        span = sum(b - a for a, b, _ in recent) // len(recent)
        out.append((t0, t0 + span, bits))
    return out


class Rehearsal:
    def __init__(self, seed: int, thin: float, payout_thin: float) -> None:
        self.rng = random.Random(seed)
        self.thin, self.payout_thin = thin, payout_thin
        self.b = ChainBuilder(NETWORK)
        self.carry = 0.0
        self.queue: list[tuple[int, int, tuple]] = []    # (due height, seq, action)
        self.seq = 0
        self.economy = [self.b.fund(script_for("p2pkh", f"rh:economy:{k}"), 10**6 * 10**8, f"rh:economy:{k}")
                        for k in range(32)]
        self.user_coins: deque[OutPoint] = deque()
        self.users = 0
        self.pool_coins: dict[str, list[OutPoint]] = {}  # pool → matured-or-not coinbase outpoints
        self.members: dict[str, list[bytes]] = {}        # pool → member scripts
        self.member_count: dict[bytes, int] = {}         # member → payouts waiting
        self.holders: set[bytes] = set()
        self.deposits: list[list[bytes]] = [[] for _ in range(EXCHANGES)]
        self.early: list[OutPoint] = []
        self.stats = {"tx": 0, "ordinary_tx": 0, "coinbase_outputs": 0, "payout_tx": 0, "payout_outputs": 0,
                      "consolidations": 0, "sells": 0, "sweeps": 0, "awakened": 0, "bytes": 0, "bits_checked": 0,
                      "bits_differ": 0}

    # --- actors --------------------------------------------------------------------------------

    def at(self, height: int, action: tuple) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (height, self.seq, action))

    def member(self, pool: str, height: int) -> bytes:
        """A member of `pool`: an existing one, or (as the pool grows) a new one of the era's type."""
        ms = self.members.setdefault(pool, [])
        if not ms or self.rng.random() < 0.02:
            s = script_for(script_kind(self.rng, height), f"rh:member:{pool}:{len(ms)}")
            ms.append(s)
            if self.rng.random() < HOLDER_SHARE:
                self.holders.add(s)
            return s
        return ms[int(len(ms) * self.rng.random() ** 0.5)]    # newer members are paid more often

    def deposit(self, height: int) -> bytes:
        ex = self.rng.randrange(EXCHANGES)
        ds = self.deposits[ex]
        if len(ds) < 50 or self.rng.random() < 0.05:      # exchanges hand out new deposit addresses
            ds.append(script_for(script_kind(self.rng, height), f"rh:deposit:{ex}:{len(ds)}"))
            return ds[-1]
        return self.rng.choice(ds)

    def credit(self, script: bytes, height: int) -> None:
        if script in self.holders:
            return
        n = self.member_count.get(script, 0) + 1
        self.member_count[script] = n
        if n == CONSOLIDATE_AT:
            self.at(height + 1 + self.rng.randrange(144), ("consolidate", script))

    def run(self, action: tuple, height: int) -> None:
        b, kind = self.b, action[0]
        if kind == "consolidate":
            script = action[1]
            self.member_count[script] = 0
            coins = b.coins_of(script)[:200]
            if coins:
                value = sum(b.utxos[op].value_sat for op in coins)
                fee = 500 + 70 * len(coins)
                if value > 10 * fee:
                    b.spend(coins, [(self.deposit(height), value - fee)], fee)
                    self.stats["consolidations"] += 1
                    self.stats["tx"] += 1
        elif kind == "sell":                          # a solo miner sells a matured coinbase
            op = action[1]
            if op in b.utxos:
                v = b.utxos[op].value_sat
                b.spend([op], [(self.deposit(height), v - 2_000)], 2_000)
                self.stats["sells"] += 1
                self.stats["tx"] += 1
        elif kind == "sweep":                         # an exchange moves deposits to its cold wallet
            ex = action[1]
            coins = [op for s in self.deposits[ex][-400:] for op in b.coins_of(s)][:300]
            if coins:
                fee = 1_000 + 70 * len(coins)
                value = sum(b.utxos[op].value_sat for op in coins)
                if value > 10 * fee:
                    b.spend(coins, [(script_for("p2wsh", f"rh:cold:{ex}:{height // 52_560}"), value - fee)], fee)
                    self.stats["sweeps"] += 1
                    self.stats["tx"] += 1

    def payout(self, pool: str, height: int) -> None:
        """A pool pays its members from its matured coinbases: one transaction, many outputs."""
        b, coins = self.b, self.pool_coins.get(pool, [])
        ripe = [op for op in coins[:150] if op in b.utxos and b.utxos[op].height <= height - MATURITY]
        if not ripe:
            return
        self.pool_coins[pool] = coins[len(ripe):]
        total = sum(b.utxos[op].value_sat for op in ripe)
        n = max(1, round(_step(PAYOUT_OUTPUTS, height) / self.payout_thin))
        fee = 1_000 + 70 * len(ripe) + 32 * n
        share = (total - fee) * 98 // 100 // n
        if share < 546:
            n = max(1, (total - fee) * 98 // 100 // 546)
            share = (total - fee) * 98 // 100 // n
        paid = [self.member(pool, height) for _ in range(n)]
        b.spend(ripe, [(s, share) for s in paid], fee, script_for("p2wpkh", f"rh:operator:{pool}"))
        for s in paid:
            self.credit(s, height)
        self.stats["payout_tx"] += 1
        self.stats["payout_outputs"] += n
        self.stats["tx"] += 1

    def ordinary(self, height: int) -> None:
        """This block's share of mainnet's payments, thinned: 2-in-2-out once enough coins wait."""
        rng, b = self.rng, self.b
        self.carry += _interp(TX_PER_BLOCK, height) / self.thin
        n = int(self.carry)
        self.carry -= n
        fee = 200 if height < 400_000 else 2_000
        for _ in range(n):
            kind = script_kind(rng, height)
            pay = script_for(kind, f"rh:user:{self.users}")
            chg = script_for(kind, f"rh:user:{self.users + 1}")
            self.users += 2
            if len(self.user_coins) > USER_COINS_LIVE:
                ins = [self.user_coins.popleft(), self.user_coins.popleft()]
                total = b.utxos[ins[0]].value_sat + b.utxos[ins[1]].value_sat - fee
                if total < 100_000:   # fees have worn the coins down: a wallet tops the payment up
                    w = rng.randrange(len(self.economy))
                    tx = b.spend([*ins, self.economy[w]], [(pay, total + 50_000), (chg, 50_000)], fee,
                                 b.utxos[self.economy[w]].script)
                    self.economy[w] = tx.outpoint(2)
                else:
                    amount = total * rng.randrange(10, 90) // 100
                    tx = b.spend(ins, [(pay, amount), (chg, total - amount)], fee)
            else:
                w = rng.randrange(len(self.economy))
                amount = int(rng.lognormvariate(16.0, 1.5))       # median e^16 sat ≈ 0.09 BTC
                tx = b.spend([self.economy[w]], [(pay, amount), (chg, amount // 3 + 1_000)], fee,
                             b.utxos[self.economy[w]].script)
                self.economy[w] = tx.outpoint(2)
            self.user_coins.append(tx.outpoint(0))
            self.user_coins.append(tx.outpoint(1))
        self.stats["ordinary_tx"] += n
        self.stats["tx"] += n

    # --- the block loop --------------------------------------------------------------------------

    def miner_of(self, height: int) -> tuple[str, str, float, str]:
        era = ERAS[bisect.bisect_right(ERA_STARTS, height) - 1][1]
        r, acc = self.rng.random(), 0.0
        for m in era:
            acc += m[2]
            if r < acc:
                return m
        return era[-1]

    def blocks(self, n_blocks: int, hold_back: int, tail: list[bytes]):
        """Yield the raw blocks 0 … n_blocks − hold_back − 1; the rest go to `tail`."""
        b, rng = self.b, self.rng
        periods = period_times((n_blocks + PERIOD - 1) // PERIOD)
        yield b.blocks[0]
        t_start = time.perf_counter()
        for height in range(1, n_blocks):
            k, i = divmod(height, PERIOD)
            first, last, bits = periods[k]
            if i == 0 and bits is not None:
                self.stats["bits_checked"] += 1
                self.stats["bits_differ"] += b.next_bits() != bits
            t = first + (last - first) * i // (PERIOD - 1)
            while self.queue and self.queue[0][0] <= height:
                self.run(heapq.heappop(self.queue)[2], height)
            if height % 144 == 0:
                for name in list(self.pool_coins):
                    self.payout(name, height)
                self.at(height + rng.randrange(144), ("sweep", rng.randrange(EXCHANGES)))
            if height > 250_000 and self.early and rng.random() < 0.01:
                op = self.early.pop(rng.randrange(len(self.early)))
                self.at(height, ("sell", op))
                self.stats["awakened"] += 1
            self.ordinary(height)
            name, tag, _, kind = self.miner_of(height)
            if kind == "p2pk":
                label = f"rh:p2pk:{height}"
                payouts = [(p2pk(key65(label) if height < 120_000 else key(label)), None)]
            elif kind == "solo":
                payouts = [(script_for(script_kind(rng, height), f"rh:solo:{height}"), None)]
            elif kind == "direct":
                n = rng.randrange(*DIRECT_OUTPUTS)
                paid = [self.member(name, height) for _ in range(n)]
                reward = b.reward_sat()
                payouts = [(s, reward // n) for s in paid[1:]] + [(paid[0], None)]
                for s in paid:
                    self.credit(s, height)
            else:
                payouts = [(script_for("p2wpkh" if height >= SEGWIT_HEIGHT else "p2pkh",
                                       f"rh:pool:{name}:{height // PERIOD}"), None)]
            raw = b.mine(tag=tag, payouts=payouts, time_s=t, extra_nonce=height.to_bytes(4, "little"))
            self.stats["coinbase_outputs"] += len(payouts)
            self.stats["bytes"] += len(raw)
            self.stats["tx"] += 1
            op = b.coinbase_outpoint(height)
            if kind == "pool":
                self.pool_coins.setdefault(name, []).append(op)
            elif kind == "p2pk":
                self.early.append(op)
            elif kind == "solo" and rng.random() < 0.6:
                self.at(height + MATURITY + rng.randrange(2_000), ("sell", op))
            if height % 1_000 == 0:
                b.forget_below(height - 10)
            if height % 50_000 == 0:
                el = time.perf_counter() - t_start
                print(f"  {height:,} blocks  {el:7.0f} s  {height / el:6.0f} blocks/s  "
                      f"{self.stats['bytes'] / 1e6:8.0f} MB  {self.stats['tx']:,} tx  "
                      f"builder coins {len(b.utxos):,}", file=sys.stderr, flush=True)
            if height >= n_blocks - hold_back:
                tail.append(raw)
            else:
                yield raw


def append_next(out: Path) -> int:
    """Append the next held-back block to the last blk file (XORed at its offset) and, when the
    rehearsal has rev files, its undo record to the rev file of the same number, as Core does when
    it connects the block; its height."""
    tail = sorted((out / "tail").glob("*.blk"))
    if not tail:
        raise SystemExit("no held-back block left in " + str(out / "tail"))
    raw = tail[0].read_bytes()
    undo_path = tail[0].with_suffix(".undo")
    has_rev = any((out / "blocks").glob("rev*.dat"))
    if has_rev and not undo_path.exists():
        raise SystemExit(f"{undo_path} is missing: the rev files would lose this block's record "
                         f"(write the rehearsal's rev files anew: remove rev*.dat, then --rev-only {out})")
    last = sorted((out / "blocks").glob("blk*.dat"))[-1]
    record = NETWORK.magic + len(raw).to_bytes(4, "little") + raw
    with open(last, "ab") as f:
        f.write(xor_at(record, XOR_KEY, f.tell()))
    if has_rev:
        append_rev_record(out / "blocks", int(last.stem[3:]), NETWORK.magic, raw[4:36], undo_path.read_bytes())
        undo_path.unlink()
    tail[0].unlink()
    return int(tail[0].stem)


def write_rev(out: Path, seed: int) -> dict[str, float | int]:
    """Write OUT/blocks/rev*.dat from the blk files, and OUT/tail/NNNNNNN.undo for each held-back block;
    what was written and the time and memory it took."""
    t0, c0 = time.perf_counter(), os.times()
    funded = Rehearsal(seed, 1, 1).b.funded_coins      # the economy's coins: funded, in no block

    def progress(height: int, coins: CoinSet) -> None:
        if height % 50_000 == 0:
            print(f"  rev: {height:,} blocks  {time.perf_counter() - t0:7.0f} s  unspent outputs {len(coins):,}",
                  file=sys.stderr, flush=True)

    written = write_rev_files(out / "blocks", NETWORK, funded.items(), progress)
    held = sorted((out / "tail").glob("*.blk"))
    for k, path in enumerate(held):
        height = int(path.stem)
        if height != written.tip_height + 1 + k:
            raise SystemExit(f"held-back block {path.name} does not follow the blk files' tip {written.tip_height}")
        path.with_suffix(".undo").write_bytes(written.coins.connect(path.read_bytes(), height, path.name))
    wall, c1 = time.perf_counter() - t0, os.times()
    return {"rev_files": len(written.files), "rev_records": written.records, "rev_bytes": written.size_bytes,
            "rev_tip_height": written.tip_height, "held_back_undo": len(held),
            "unspent_outputs_at_tip": len(written.coins), "rev_wall_s": round(wall, 1),
            "rev_cpu_s": round(c1.user + c1.system - c0.user - c0.system, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--blocks", type=int, default=925_000)
    ap.add_argument("--thin", type=float, default=400, help="ordinary traffic: mainnet's tx count / THIN")
    ap.add_argument("--payout-thin", type=float, default=1, help="pool payout outputs / PAYOUT_THIN")
    ap.add_argument("--hold-back", type=int, default=6)
    ap.add_argument("--seed", type=int, default=925)
    ap.add_argument("--append", action="store_true",
                    help="append the next held-back block to OUT's blk files (and its undo record to the rev files)")
    ap.add_argument("--rev-only", action="store_true",
                    help="write the rev files of the rehearsal in OUT from its blk files (OUT/rev.json: figures)")
    args = ap.parse_args()
    if args.append:
        print(append_next(args.out))
        return
    if args.rev_only:
        seed = json.loads((args.out / "rehearsal.json").read_text())["seed"]
        try:
            rev = write_rev(args.out, seed)
        except MinerwatchError as e:
            raise SystemExit(f"error: {e}") from e
        (args.out / "rev.json").write_text(json.dumps(rev, indent=1) + "\n")
        print(json.dumps(rev, indent=1))
        return
    t0, c0 = time.perf_counter(), os.times()
    r = Rehearsal(args.seed, args.thin, args.payout_thin)
    tail: list[bytes] = []
    files = write_blk_files(args.out / "blocks", NETWORK, r.blocks(args.blocks, args.hold_back, tail), xor_key=XOR_KEY)
    (args.out / "tail").mkdir(exist_ok=True)
    first_tail = args.blocks - len(tail)
    for k, raw in enumerate(tail):
        (args.out / "tail" / f"{first_tail + k:07d}.blk").write_bytes(raw)
    wall, c1 = time.perf_counter() - t0, os.times()
    cpu = c1.user + c1.system - c0.user - c0.system
    rev = write_rev(args.out, args.seed)
    (args.out / "rev.json").write_text(json.dumps(rev, indent=1) + "\n")
    summary = {**r.stats, "blocks": args.blocks, "blocks_in_files": args.blocks - len(tail), "thin": args.thin,
               "payout_thin": args.payout_thin, "seed": args.seed, "blk_files": len(files),
               "blk_bytes": sum(p.stat().st_size for p in files), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
               "members": sum(len(m) for m in r.members.values()), "users": r.users,
               "deposits": sum(len(d) for d in r.deposits), "early_p2pk_unspent": len(r.early), **rev}
    (args.out / "rehearsal.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
