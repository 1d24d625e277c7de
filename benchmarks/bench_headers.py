"""Headers first at mainnet's length: ~925,000 headers stored and every header-only series computed.

    python benchmarks/bench_headers.py [--headers 925000] [--json FILE]

The headers are a real regtest chain generated here: regtest's genesis block, then each header
mined (its nonce ground until the hash meets regtest's target, 2 tries on average) on its parent,
header times 600 s apart with ±15 min of jitter (some go backwards, as real ones do). Regtest never
retargets, so the mainnet retarget check is not exercised; linkage and proof of work are, for every
header. Then `sync --headers-file` runs in-process (Syncer.sync_headers_file): read, check, store
in 100,000-header transactions, and one metric refresh from height 0 (block_network,
daily_network, daily_signals: difficulty, the three hashrate estimators, the retarget forecast,
the ribbons, subsidy-only hashvalue). Printed: the time of each step and the total.

Target (issue 12): stored and computed in ≤ 180 s on the project machine (2 cores). Exit status 1
when the target is missed.

    python benchmarks/bench_headers.py --rpc-regtest 4000

instead times the headers over JSON-RPC from the bcoin regtest node of the tests (tests/regtest;
`npm ci --prefix tests/regtest`): it mines that many blocks, then Syncer.sync_headers_rpc takes
every header (bcoin has no REST headers, so batched getblockhash and getblockheader, 2,000 a round).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import struct
import sys
import tempfile
import time
from pathlib import Path

from minerwatch import store
from minerwatch.networks import get_network
from minerwatch.sync import Syncer

TARGET_S = 180.0
REGTEST = get_network("regtest")
# Regtest's genesis header (Bitcoin Core chainparams.cpp: time 1296688602, bits 0x207fffff, nonce 2).
GENESIS = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc"
    "3888a51323a9fb8aa4b1e5e4adae5494dffff7f2002000000")
TARGET = 0x7FFFFF << (8 * (0x20 - 3))


def generate(n: int, path: Path, seed: int = 12) -> float:
    """Write n headers (genesis and n − 1 mined on it) to `path`; seconds taken."""
    started = time.perf_counter()
    rng = random.Random(seed)
    pack = struct.Struct("<i32s32sIII").pack
    sha = hashlib.sha256
    prev = sha(sha(GENESIS).digest()).digest()
    t0 = 1296688602
    out = bytearray(GENESIS)
    for h in range(1, n):
        merkle = rng.randbytes(32)
        t = t0 + h * 600 + rng.randint(-900, 900)
        nonce = 0
        while True:
            raw = pack(0x20000000, prev, merkle, t, 0x207FFFFF, nonce)
            digest = sha(sha(raw).digest()).digest()
            if int.from_bytes(digest, "little") <= TARGET:
                break
            nonce += 1
        out += raw
        prev = digest
    path.write_bytes(out)
    return time.perf_counter() - started


def rpc_regtest(blocks: int) -> None:
    """Headers over JSON-RPC from the bcoin regtest node: print the rate."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from regtest_node import RegtestNode

    from minerwatch.chain.rpc import RpcClient

    node = RegtestNode()
    try:
        mined_s = time.perf_counter()
        node.mine(blocks)
        mined_s = time.perf_counter() - mined_s
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "rpc.duckdb"
            con = store.connect(db)
            store.bind_network(con, "regtest", db)
            client = RpcClient(node.url, REGTEST, password=node.api_key)
            tip = client.block_count()
            started = time.perf_counter()
            stored = Syncer(con, REGTEST).sync_headers_rpc(client, tip, tip)
            took_s = time.perf_counter() - started
            con.close()
    finally:
        node.stop()
    print(json.dumps({"headers": stored, "mine_s": round(mined_s, 1), "rpc_headers_s": round(took_s, 2),
                      "headers_per_s": round(stored / took_s), "mainnet_925000_s": round(925_000 / (stored / took_s)),
                      "cores": os.cpu_count()}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--headers", type=int, default=925_000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--rpc-regtest", type=int, metavar="BLOCKS", default=0,
                    help="time the headers over JSON-RPC from a bcoin regtest node with this many blocks instead")
    args = ap.parse_args()
    if args.rpc_regtest:
        rpc_regtest(args.rpc_regtest)
        return
    with tempfile.TemporaryDirectory() as tmp:
        headers = Path(tmp) / "headers.bin"
        gen_s = generate(args.headers, headers)
        db = Path(tmp) / "bench.duckdb"
        con = store.connect(db)
        store.bind_network(con, "regtest", db)
        marks: list[tuple[str, float]] = []
        syncer = Syncer(con, REGTEST)
        original = syncer.refresh_metrics

        def timed_refresh() -> None:
            marks.append(("stored", time.perf_counter()))
            original()
            marks.append(("refreshed", time.perf_counter()))
        syncer.refresh_metrics = timed_refresh  # type: ignore[method-assign]
        started = time.perf_counter()
        stored = syncer.sync_headers_file(headers)
        total_s = time.perf_counter() - started
        store_s = marks[0][1] - started
        refresh_s = marks[1][1] - marks[0][1]
        days = con.execute("SELECT count(*) FROM daily_network").fetchone()[0]
        size = db.stat().st_size
        con.close()
    out = {
        "headers": stored,
        "generate_s": round(gen_s, 1),
        "read_check_store_s": round(store_s, 1),
        "headers_per_s": round(stored / store_s),
        "refresh_s": round(refresh_s, 1),
        "total_s": round(total_s, 1),
        "target_s": TARGET_S,
        "days": days,
        "db_mb": round(size / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"{stored:,} headers stored and every header-only series computed in {total_s:.1f} s "
          f"(target {TARGET_S:.0f} s): read, check and store {store_s:.1f} s, metric refresh {refresh_s:.1f} s",
          file=sys.stderr)
    sys.exit(0 if total_s <= TARGET_S else 1)


if __name__ == "__main__":
    main()
