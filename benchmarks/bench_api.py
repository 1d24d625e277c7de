"""Latency of the HTTP API under load: 100 concurrent clients against `minerwatch serve` on a
database of about a million blocks.

    python benchmarks/bench_api.py [--days 6945] [--db PATH] [--duration 15] [--connections 100]

Builds the database once (the synthetic chain of tests/web_support.py, 144 blocks a day; 6,945 days
= 1,000,080 blocks; reused when --db exists), starts the server in its own process, warms every URL,
then drives it with wrk (Debian package `wrk`) cycling through dashboard JSON twins, API series, the
mempool.space-compatible endpoints and /metrics, and prints wrk's latency percentiles. Without wrk it
falls back to an asyncio/httpx load generator with the same URL mix.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

URLS = (
    "/index.json", "/hashprice.json", "/hashrate.json", "/pools.json", "/signals.json", "/reserve.json",
    "/api/v1/series/hashprice_usd_per_ph_day?interval=1y", "/api/v1/series/hashrate_ehs?interval=all",
    "/api/v1/headline", "/api/v1/mining/hashrate/1m", "/api/v1/mining/pools/1w",
    "/api/v1/difficulty-adjustment", "/api/blocks/tip/height", "/metrics",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(db: Path, days: int) -> None:
    import web_support

    t = time.perf_counter()
    web_support.build_db(db, days=days)
    print(f"built {days * 144:,} blocks in {time.perf_counter() - t:.0f} s: {db} "
          f"({db.stat().st_size / 1e6:.0f} MB)", flush=True)


def wait_up(url: str) -> None:
    import httpx

    for _ in range(600):
        try:
            if httpx.get(url + "/api/v1/status", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not come up")


def warm(url: str) -> None:
    import httpx

    for path in URLS:
        t = time.perf_counter()
        r = httpx.get(url + path, timeout=120)
        print(f"  first (uncached) {path}: {r.status_code} in {(time.perf_counter() - t) * 1000:.0f} ms", flush=True)


def run_wrk(url: str, duration: int, connections: int) -> str:
    lua = "paths = {" + ", ".join(f'"{p}"' for p in URLS) + "}\n" + (
        "i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    return out


async def run_python(url: str, duration: int, connections: int) -> str:
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration

    async def client(k: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            i = k
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await c.get(URLS[i % len(URLS)])
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 200
                i += 1

    await asyncio.gather(*(client(k) for k in range(connections)))
    q = statistics.quantiles(latencies, n=100)
    return (f"python load generator: {len(latencies)} requests, {len(latencies) / duration:.0f} req/s, "
            f"{errors} non-200\n  p50 {q[49] * 1000:.1f} ms  p90 {q[89] * 1000:.1f} ms  p99 {q[98] * 1000:.1f} ms\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=6945)
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "minerwatch-bench-api.duckdb")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=100)
    args = ap.parse_args()
    if not args.db.exists():
        build(args.db, args.days)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "minerwatch", "serve", "--db", str(args.db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(url)
        warm(url)
        print(f"load: {args.connections} connections for {args.duration} s over {len(URLS)} URLs", flush=True)
        if shutil.which("wrk"):
            out = run_wrk(url, args.duration, args.connections)
            print(out)
            m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
            if m:
                value = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
                print(f"p99 = {value:.1f} ms (target < 50 ms): {'met' if value < 50 else 'NOT met'}")
        else:
            print(asyncio.run(run_python(url, args.duration, args.connections)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
