"""`minerwatch difficulty`: the epoch, both named retarget forecasts and the next halving, at the tip."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from minerwatch.cli.common import add_db_arg, db_path, print_json
from minerwatch.errors import StoreError


def register(sub: Any) -> None:
    p = sub.add_parser("difficulty", help="the epoch, the retarget forecasts (BRK, mempool.space) and the next halving")
    add_db_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_difficulty)


def _utc(time_s: int) -> str:
    return datetime.fromtimestamp(time_s, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def cmd_difficulty(args: argparse.Namespace) -> int:
    from minerwatch.metrics.difficulty import next_halving
    from minerwatch.queries import mining
    from minerwatch.queries.db import connect_readonly

    with connect_readonly(db_path(args)) as con:
        brk = mining.retarget_forecast(con)
        try:
            mempool: Any = mining.mempool_difficulty_adjustment(con)
        except StoreError as e:      # it reaches further back than BRK's pace: say why, keep the rest
            mempool = e
        halving = next_halving(con)
    if args.json:
        print_json({"brk": asdict(brk),
                    "mempool": {"missing": mempool.message} if isinstance(mempool, StoreError) else asdict(mempool),
                    "halving": asdict(halving)})
        return 0
    print(f"epoch from height {brk.epoch_start_height:,}: {brk.blocks_in_epoch:,} of 2,016 blocks after its first "
          f"({brk.progress_pct:.1f} %), {brk.remaining_blocks:,} to go; retarget at height {brk.next_retarget_height:,}")
    if brk.change_pct is None:
        print("retarget forecast (BRK pace): none yet (no block after the epoch's first)")
    else:
        print(f"retarget forecast (BRK pace): {brk.change_pct:+.2f} % (95 % interval {brk.change_low_pct:+.2f} … "
              f"{brk.change_high_pct:+.2f} %), retarget about {_utc(brk.estimated_retarget_time_s)}")
    if isinstance(mempool, StoreError):
        print(f"retarget forecast (mempool.space): missing: {mempool.message}")
    else:
        print(f"retarget forecast (mempool.space): {mempool.difficulty_change:+.2f} %")
    print(f"next halving at height {halving.height:,}: {halving.blocks_remaining:,} blocks to go, subsidy "
          f"{halving.subsidy_btc_now:g} → {halving.subsidy_btc_after:g} BTC, about {_utc(halving.estimated_time_s)}")
    print("as of the tip's header time; definitions: docs/metrics.md (Difficulty adjustment forecast)")
    return 0
