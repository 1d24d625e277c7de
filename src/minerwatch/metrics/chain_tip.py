"""The stored tip, and the consensus rules of the database's network at it (subsidy, halvings).

Every figure that depends on "now" in chain terms — the subsidy a calculator assumes, the next
halving, the retarget forecasts — starts here, so that none carries a literal era (3.125 BTC goes
stale at height 1,050,000).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from minerwatch import consensus
from minerwatch.errors import StoreError
from minerwatch.metrics.network import first_row
from minerwatch.networks import Network, get_network


@dataclass(frozen=True, slots=True)
class StoredBlock:
    height: int
    time_s: int
    bits: int
    difficulty: float


@dataclass(frozen=True, slots=True)
class Tip:
    block: StoredBlock
    network: Network
    first_height: int             # the lowest stored height, block or header (0 unless pruned or cut)

    @property
    def height(self) -> int:
        return self.block.height

    @property
    def subsidy_sat(self) -> int:
        """The subsidy of the tip's block by the network's consensus rule."""
        return subsidy_sat_at(self.block.height, self.network)


def subsidy_sat_at(height: int, network: Network) -> int:
    """Block subsidy in sats at `height` on `network` (initial subsidy halved every interval)."""
    return consensus.subsidy_sat(height, network.halving_interval_blocks, network.initial_subsidy_sat)


def database_network(con: duckdb.DuckDBPyConnection) -> Network:
    """The network the database records (meta.network); mainnet for a database that records none."""
    row = first_row(con.execute("SELECT value FROM meta WHERE key = 'network'").fetchall())
    return get_network("mainnet" if row is None else str(row[0]))


def stored_block(con: duckdb.DuckDBPyConnection, height: int) -> StoredBlock | None:
    """Time, bits and difficulty of the stored block (or, without one, header) at `height`, or None."""
    row = first_row(con.execute("SELECT height, time_s, bits, difficulty FROM chain_facts WHERE height = ?",
                                [height]).fetchall())
    return None if row is None else StoredBlock(int(row[0]), int(row[1]), int(row[2]), float(row[3]))


def tip(con: duckdb.DuckDBPyConnection) -> Tip:
    """The stored tip (block or header) with its network; StoreError for a database without either."""
    row = first_row(con.execute("SELECT max(height), min(height) FROM chain_facts").fetchall())
    if row is None or row[0] is None:
        raise StoreError("no blocks or headers stored", "run `minerwatch sync` (or `minerwatch demo`) first")
    block = stored_block(con, int(row[0]))
    assert block is not None  # max(height) is stored
    return Tip(block, database_network(con), int(row[1]))
