"""The block subsidy a calculator assumes: given, or the consensus subsidy at a height — the one
given, the database's tip, or the height today's date implies. Never a literal era: 3.125 BTC goes
stale at height 1,050,000."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from typing import Any

from minerwatch.cli.common import add_db_arg, db_path
from minerwatch.consensus import BLOCK_INTERVAL_S, SAT_PER_BTC
from minerwatch.errors import StoreError, UsageError
from minerwatch.metrics.chain_tip import subsidy_sat_at
from minerwatch.networks import get_network

# Block 840,000 (the fourth halving) has header time 1,713,571,767 s = 2024-04-20 00:09:27 UTC.
ANCHOR_HEIGHT, ANCHOR_TIME_S = 840_000, 1_713_571_767
# A date-based height drifts with the real block rate (blocks have come ~2 % faster than 600 s as
# hashrate grew: ~2,000 blocks a year); within four weeks (4,032 blocks) of a halving, say so.
NEAR_HALVING_BLOCKS = 4032


@dataclass(frozen=True, slots=True)
class Subsidy:
    btc: float
    height: int | None              # None: given as --subsidy-btc
    source: str                     # where the height (or the value) came from
    next_halving_time_s: int | None  # estimated, at 600 s a block from the height's time

    def as_fields(self) -> dict[str, Any]:
        return {f"subsidy_{k}" if k != "btc" else "subsidy_btc": v for k, v in asdict(self).items()}


def add_subsidy_args(p: argparse.ArgumentParser, group: Any = None) -> None:
    """--subsidy-btc and --height on a calculator (in `group` if given), and --db, whose tip is the
    default height."""
    add_db_arg(p)
    p = group if group is not None else p
    p.add_argument("--subsidy-btc", type=_non_negative, default=None,
                   help="block subsidy, BTC (default: the consensus subsidy at --height)")
    p.add_argument("--height", type=_height, default=None,
                   help="block height whose subsidy applies (default: the tip of --db if it exists, else the "
                        "height today's date implies)")


def _non_negative(text: str) -> float:
    from minerwatch.cli.metrics_cmds import finite_float

    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a subsidy: {text!r} is negative")
    return value


def _height(text: str) -> int:
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a block height: {text!r}") from e
    if not 0 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"not a block height: {text!r} (0 … 2,147,483,647)")
    return value


def estimated_height(now_s: float) -> int:
    """The mainnet height a date implies: block 840,000's time plus one block per 600 s."""
    return max(0, ANCHOR_HEIGHT + int((now_s - ANCHOR_TIME_S) // BLOCK_INTERVAL_S))


def _at(height: int, network_name: str, time_s: float, source: str) -> Subsidy:
    network = get_network(network_name)
    every = network.halving_interval_blocks
    to_go = (height // every + 1) * every - height
    return Subsidy(subsidy_sat_at(height, network) / SAT_PER_BTC, height, source,
                   int(time_s + to_go * BLOCK_INTERVAL_S))


def _database_tip(args: argparse.Namespace) -> tuple[int, str, int] | str:
    """(height, network, header time) of the database's tip, or why there is none."""
    from minerwatch.queries.db import connect_readonly, db_state

    path = db_path(args)
    if not path.exists():
        return f"no database at {path}"
    try:
        with connect_readonly(path) as con:
            st = db_state(con)
    except StoreError as e:
        return f"the database at {path} cannot be read now ({e.message})"
    if st.tip_height is None or st.tip_time_s is None:
        return f"the database at {path} holds no blocks"
    return st.tip_height, st.network, st.tip_time_s


def resolve_subsidy(args: argparse.Namespace, now_s: float | None = None) -> Subsidy:
    """The subsidy the user gave, else the consensus subsidy at --height, at the database's tip, or
    at the mainnet height that `now_s` (default: the clock) implies."""
    if args.subsidy_btc is not None:
        if args.height is not None:
            raise UsageError("give either --subsidy-btc or --height, not both",
                             "--height sets the subsidy by the consensus rule")
        return Subsidy(args.subsidy_btc, None, "given (--subsidy-btc)", None)
    now = time.time() if now_s is None else now_s
    if args.height is not None:
        return _at(args.height, "mainnet", now, "--height (mainnet's halving schedule)")
    tip = _database_tip(args)
    if not isinstance(tip, str):
        height, network, tip_time = tip
        return _at(height, network, tip_time, f"the tip of the {network} database at {db_path(args)}")
    height = estimated_height(now)
    source = (f"the height today's date implies (block 840,000 on 2024-04-20, 600 s a block), as {tip}; "
              "pass --height or --subsidy-btc to choose")
    s = _at(height, "mainnet", now, source)
    every = get_network("mainnet").halving_interval_blocks
    if min(height % every, every - height % every) <= NEAR_HALVING_BLOCKS:
        s = Subsidy(s.btc, s.height, s.source + f"; a halving is within {NEAR_HALVING_BLOCKS:,} blocks of that "
                    "estimate, so the date may give the wrong era", s.next_halving_time_s)
    return s
