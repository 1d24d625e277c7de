"""A small real database for the web and API tests: blocks written by SQL with round numbers, so
every figure the server shows can be worked out by hand, then the real metric refreshers.

The chain: `days` UTC days from 2024-04-20 (height 840,000, subsidy 3.125 BTC), exactly 144 blocks a
day at 600 s spacing, difficulty D0 × (1 + 0.01 × epoch) per 2,016-block epoch (bits: the compact
target of that difficulty), fees 0.02 BTC per
block; block h is mined by Foundry USA if h % 10 < 4, AntPool if < 7, ViaBTC if < 9, else by an
untagged miner. BTC/USD is 60,000 every day (written directly, so the shipped history is not loaded:
round numbers keep hashprice checkable by hand). Every coinbase pays one of three miner scripts; every even-height coinbase is spent
1,008 blocks (7 days) later, out of the miner cohort, less a 1,000 sat fee.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from minerwatch import store
from minerwatch.consensus import target_to_bits
from minerwatch.metrics import prices, registry

DIFF1_TARGET = 0xFFFF << 208  # the target of difficulty 1 (bits 0x1d00ffff)

T0_S = 1_713_571_200          # 2024-04-20T00:00:00Z
FIRST_DAY = date(2024, 4, 20)
H0 = 840_000
D0 = 8.6e13                   # difficulty of the first epoch (mainnet was 86.4 T at height 840,000)
FEES_SAT = 2_000_000          # 0.02 BTC per block
SUBSIDY_SAT = 312_500_000
BLOCKS_PER_DAY = 144
SPEND_AFTER = 1008
PRICE_USD = 60_000.0
TAGS = ("/Foundry USA Pool #dropgold/", "Mined by AntPool", "/ViaBTC/", "")


def tag_of(height: int) -> str:
    r = height % 10
    return TAGS[0] if r < 4 else TAGS[1] if r < 7 else TAGS[2] if r < 9 else TAGS[3]


def build_db(path: Path, days: int = 400, network: str = "mainnet", refresh: bool = True) -> Path:
    """Write the chain described above into a new database at `path`; returns `path`."""
    n = days * BLOCKS_PER_DAY
    con = store.connect(path)
    try:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('network', ?)", [network])
        con.execute(
            """INSERT INTO blocks
               SELECT ? + i, printf('%064x', ? + i), printf('%064x', ? + i - 1), ? + i * 600, ? + i * 600 - 3000,
                      536870912, 386089497, ? * (1 + 0.01 * ((? + i) // 2016 - ? // 2016)),
                      CAST(? AS HUGEINT) * 4294967296 * (i + 1), 1500000, 3990000, 3000, 6000, 7000, 2500, 10,
                      ? + ?, ?, ?, 0,
                      CASE WHEN (? + i) % 10 < 4 THEN ? WHEN (? + i) % 10 < 7 THEN ? WHEN (? + i) % 10 < 9 THEN ?
                           ELSE ? END, '', NULL
               FROM range(?) t(i)""",
            [H0, H0, H0, T0_S, T0_S, D0, H0, H0, int(D0), SUBSIDY_SAT, FEES_SAT, SUBSIDY_SAT, FEES_SAT,
             H0, TAGS[0], H0, TAGS[1], H0, TAGS[2], TAGS[3], n])
        con.execute("""INSERT INTO prices SELECT DATE '2024-04-20' + CAST(i AS INTEGER), ?, 'test'
                       FROM range(?) t(i)""", [PRICE_USD, days + 1])
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, 'test')", [prices._LOADED_KEY])
        con.execute("UPDATE blocks SET coinbase_script_hex = hex(encode(coinbase_tag))")
        # Each epoch's bits are the compact target of its difficulty, so that a retarget changes
        # them as on mainnet (mempool.space's difficulty adjustments and previousRetarget read bits).
        for (difficulty,) in con.execute("SELECT DISTINCT difficulty FROM blocks").fetchall():
            con.execute("UPDATE blocks SET bits = ? WHERE difficulty = ?",
                        [target_to_bits(int(DIFF1_TARGET / difficulty)), difficulty])
        con.execute("""INSERT INTO coinbase_outputs
                       SELECT height, 0, coinbase_value_sat, 'p2wpkh', 1 + height % 3, NULL FROM blocks""")
        con.execute("""INSERT INTO miner_scripts
                       SELECT s, 'p2wpkh', NULL, ?, NULL, NULL FROM range(1, 4) t(s)""", [H0])
        con.execute(
            """INSERT INTO miner_outputs
               SELECT printf('cb%d', height), 0, height, 0, coinbase_value_sat, 1 + height % 3, true
               FROM blocks""")
        con.execute(
            """INSERT INTO miner_spends
               SELECT printf('cb%d', height), 0, height + ?, printf('sp%d', height), height, coinbase_value_sat,
                      1 + height % 3
               FROM blocks WHERE height % 2 = 0 AND height + ? < ? ORDER BY height""",
            [SPEND_AFTER, SPEND_AFTER, H0 + n])
        con.execute(
            """INSERT INTO miner_spend_outputs
               SELECT spent_txid, 0, height, 1, value_sat - 1000, 999, 'p2wpkh' FROM miner_spends""")
        if refresh:
            registry.refresh_all(con, H0)
    finally:
        con.close()
    return path


def open_ro(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


_BUILT: dict[tuple[int, str], Path] = {}


def shared_db(tmp_path_factory: "object", days: int = 120, network: str = "mainnet") -> Path:
    """One database per (days, network) per test session (building one takes a few seconds)."""
    key = (days, network)
    if key not in _BUILT:
        folder = tmp_path_factory.mktemp(f"web-{network}-{days}")  # type: ignore[attr-defined]
        _BUILT[key] = build_db(folder / "minerwatch.duckdb", days, network)
    return _BUILT[key]


class LiveServer:
    """uvicorn serving create_app(db) on a free loopback port in a background thread."""

    def __init__(self, db: Path, token: str | None = None) -> None:
        import socket
        import threading

        import uvicorn

        from minerwatch.web.app import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(db, token), host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        import time

        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("server did not start within 10 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
