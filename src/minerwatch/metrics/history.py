"""What an estimator reads before each value, so that one whose first blocks are not stored says so.

A database synced from a blocks directory that starts above genesis (a pruned node, a cut copy)
holds no block before its first height. An estimator whose window reaches below it measures fewer
blocks than its definition: Core's getnetworkhashps(120) over the 14 blocks of a database that
starts at height 1 reads 74× too high on its first day. Core's own windows stop at genesis, so a
database that starts there lacks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb


@dataclass(frozen=True, slots=True)
class History:
    """The history each value of a series reads: `blocks` before the day's last block, `seconds` of
    header time before it, whole UTC `days` ending on the day, or the epoch's first block."""

    what: str                       # e.g. "the 120 blocks before each day's last block"
    blocks: int = 0
    seconds: int = 0
    days: int = 0
    epoch: bool = False

    def last_day_lacking(self, con: duckdb.DuckDBPyConnection, first_height: int) -> date | None:
        """The last UTC day whose value reaches below `first_height`, the first stored block."""
        if self.days:
            row = con.execute("SELECT min(day) FROM daily_network").fetchall()
            return None if row[0][0] is None else row[0][0] + timedelta(days=self.days - 1)
        if self.blocks:
            sql, args = "SELECT max(day) FROM daily_network WHERE last_height < ?", [first_height + self.blocks]
        elif self.seconds:
            sql = ("SELECT max(d.day) FROM daily_network d JOIN block_network b ON b.height = d.last_height "
                   "WHERE b.clock_s - ? < (SELECT time_s FROM chain_facts WHERE height = ?)")
            args = [self.seconds, first_height]
        else:
            sql, args = "SELECT max(day) FROM daily_network WHERE last_height - last_height % 2016 < ?", [first_height]
        return con.execute(sql, args).fetchall()[0][0]


def lacking_warning(con: duckdb.DuckDBPyConnection, name: str, history: History,
                    start: date | None, end: date | None) -> str | None:
    """A sentence when values of `name` in [start, end] reach below the first stored block; None
    when the database starts at genesis or no such value is in the range."""
    try:
        first = con.execute("SELECT min(height) FROM chain_facts").fetchall()[0][0]
        if not first:                         # None: no blocks; 0: genesis, nothing is lacking
            return None
        last = history.last_day_lacking(con, int(first))
    except duckdb.CatalogException:           # the derived tables are not built yet
        return None
    if last is None or (start is not None and last < start):
        return None
    first_day = con.execute("SELECT min(day) FROM daily_network").fetchall()[0][0]
    if end is not None and first_day is not None and first_day > end:
        return None
    if history.epoch:
        why = f"belong to an epoch that began before height {int(first):,} (they are gaps)"
    elif history.days:
        why = "include the first stored day, which may lack its earlier blocks (they may read too low)"
    else:
        why = f"reach below height {int(first):,} (they read too high or too low)"
    return (f"the database starts at height {int(first):,}, not at genesis: {name} needs {history.what}; its "
            f"values up to {last} {why}. Sync from an earlier height for complete values")
