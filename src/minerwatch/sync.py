"""The one orchestrator: a source of blocks (blk files or a node) → ingest → metrics.

Each batch of blocks is one transaction; derived metrics are brought up to date after the bulk of a
sync (and after every batch when following the tip), from the lowest height that changed. A crash
at any point leaves whole batches only; the next sync resumes from the stored tip and first re-runs
any metric refresh that did not finish (meta key metrics_through_height).
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from minerwatch.chain.block import HEADER_SIZE, Block, hash_hex, parse_block
from minerwatch.chain.headers import HeaderRow, header_rows, linked_count
from minerwatch.chain.parsed import ParsedBlock
from minerwatch.chain.rpc import RPC_INVALID_PARAMETER, RPC_MISC_ERROR, RpcCallError
from minerwatch.consensus import work_from_bits
from minerwatch.errors import MinerwatchError, NodeError
from minerwatch.ingest import Ingest, Tip
from minerwatch.ingest.headers import (
    chain_top,
    drop_covered_headers,
    hash_at,
    parent_at,
    rollback_headers,
    store_headers,
    time_at,
)
from minerwatch.metrics.network import first_height_on_or_after
from minerwatch.metrics.prices import LivePrices, fetch_missing_prices, last_price_day, store_quotes
from minerwatch.metrics.registry import refresh_all
from minerwatch.networks import Network
from minerwatch.store import get_meta, set_meta, transaction

if TYPE_CHECKING:
    from minerwatch.chain.blkchain import BestChain
    from minerwatch.chain.blkfiles import FilesReport, ParserPool
    from minerwatch.chain.blkscan import BlkIndex
    from minerwatch.chain.undo import UndoIndex

DEFAULT_BATCH_BLOCKS = 500
# At most this many new blocks at once are asked for with their prevouts (`getblock HASH 3`).
FOLLOW_SPENT_BLOCKS = 6
# Core's BLOCK_DOWNLOAD_WINDOW: how far past its connected tip a node may have stored blocks.
UNCONNECTED_WINDOW_BLOCKS = 1_024
# A node batch that does not connect is asked for again, waiting 1, 2, 4 then 8 s: a node that
# reorganises while it is read settles within seconds; after 15 s of waits the sync gives up.
NOT_CONNECTING_ATTEMPTS = 5
NOT_CONNECTING_BACKOFF_S = 1.0
# Headers: 2,000 per node request (Bitcoin Core's REST and P2P limit; 2,000 getblockhash and
# getblockheader calls are 0.3 MB of JSON), and 100,000 (8 MB) per transaction from a file.
HEADERS_PER_REQUEST = 2_000
# Following a node whose headers are ahead of the stored blocks: the block series (fees, pools, miner
# flows) are refreshed this often while the blocks catch up.
CATCH_UP_REFRESH_S = 600
# A failed live price fetch (no network, an exchange down) is tried again after 10 minutes.
PRICE_RETRY_S = 600
# Heights above a pruned node's stated prune height tried for its first block.
PRUNE_PROBES = 16
HEADERS_PER_COMMIT = 100_000
# A batch also closes at this much block data, so memory stays bounded on 4 MB mainnet blocks.
DEFAULT_BATCH_BYTES = 64 << 20


@dataclass(slots=True)
class Progress:
    """Counters a progress display reads after every batch."""

    start_height: int = -1
    height: int = -1
    target_height: int = -1
    blocks: int = 0
    bytes: int = 0
    headers: int = 0              # headers stored (before any block: the display shows them)
    started_s: float = 0.0
    reorgs: int = 0
    note: str = ""


ProgressFn = Callable[[Progress], None]


def _noop(_: Progress) -> None:
    pass


class Syncer:
    """Drives one database forward from a source."""

    def __init__(self, con: duckdb.DuckDBPyConnection, network: Network, batch_blocks: int = DEFAULT_BATCH_BLOCKS,
                 batch_bytes: int = DEFAULT_BATCH_BYTES, on_progress: ProgressFn = _noop,
                 reopen: Callable[[], duckdb.DuckDBPyConnection] | None = None,
                 on_commit: Callable[[], None] = lambda: None) -> None:
        self.con = con
        # Called after every commit (a batch, a rollback, a metric refresh): a server sharing this
        # database in-process drops the answers it cached from the state before.
        self.on_commit = on_commit
        # With `reopen`, a follower closes the file while it waits for the next block, so that
        # `minerwatch serve` (another process: DuckDB lets one writer or many readers in) can read.
        self.reopen = reopen
        self.network = network
        self.ingest = Ingest(con, network)
        self.batch_blocks = batch_blocks
        self.batch_bytes = batch_bytes
        self.on_progress = on_progress
        self.progress = Progress(started_s=time.monotonic())
        # What the last blocks directory held besides its chain (damage, stale and orphan blocks).
        self.files_report: FilesReport | None = None
        # `--prices live`: where each new day's price comes from (None: prices are left alone).
        self.live_prices: LivePrices | None = None
        self.today: Callable[[], date] = lambda: datetime.now(timezone.utc).date()
        self._next_price_try_s = 0.0
        self._next_refresh_s = time.monotonic() + CATCH_UP_REFRESH_S
        self._rest: bool | None = None   # whether the node serves REST headers (None: not tried yet)
        # The first block of the blocks directory left for later: the node has not connected it yet.
        self.unconnected_from: int | None = None
        self._rpc_prevouts: bool | None = None   # whether the node's getblock gives prevouts (None: not tried)

    # -- shared steps -------------------------------------------------------------------------

    def stored_hash(self, height: int) -> str | None:
        row = self.con.execute("SELECT hash FROM blocks WHERE height = ?", [height]).fetchone()
        return row[0] if row else None

    def rollback_to(self, height: int) -> None:
        """Drop blocks above `height` and mark metrics stale from there."""
        self.ingest.rollback_to(height)   # moves the metrics mark back in the same transaction
        self.on_commit()
        self.progress.reorgs += 1

    def refresh_metrics(self) -> None:
        """Recompute derived series for every height not yet covered, in one transaction.

        Headers may run ahead of the blocks (headers first, a pruned node): the mark then covers the
        headers, and a second mark (metrics_blocks_through_height) the blocks whose coinbase figures
        the derived rows hold, so that blocks stored below the headers' tip are refreshed too."""
        top = chain_top(self.con)
        if top is None:
            return
        through = get_meta(self.con, "metrics_through_height")
        start = int(through) + 1 if through is not None else 0
        tip = self.ingest.tip
        blocks_through = get_meta(self.con, "metrics_blocks_through_height")
        if tip is not None and blocks_through is not None and tip.height > int(blocks_through):
            start = min(start, int(blocks_through) + 1)
        if start > top:
            return
        with transaction(self.con):
            refresh_all(self.con, start)
            set_meta(self.con, "metrics_through_height", str(top))
            drop_covered_headers(self.con)
            set_meta(self.con, "metrics_blocks_through_height", str(tip.height if tip is not None else -1))
        self.on_commit()

    # -- headers ------------------------------------------------------------------------------

    def sync_headers_file(self, path: Path, first_height: int | None = None) -> int:
        """Store the raw 80-byte headers of `path` (height order, the first at `first_height`,
        default genesis), checked, then compute the header-only series; returns how many."""
        try:
            size = path.stat().st_size
            f = path.open("rb")
        except OSError as e:
            raise MinerwatchError(f"cannot read the headers file {path}: {e.strerror}",
                                  "give --headers-file the path of a file of raw 80-byte headers") from e
        if size == 0 or size % HEADER_SIZE:
            raise MinerwatchError(
                f"{path} holds {size:,} bytes, not a whole number of 80-byte headers"
                + (f" ({size // HEADER_SIZE:,} headers and {size % HEADER_SIZE} bytes over)" if size else ""),
                "give raw 80-byte headers back to back in height order (the file is cut short or not headers)")
        start = 0 if first_height is None else first_height
        top = chain_top(self.con)
        if start > 0 and top is not None and top < start - 1:
            raise MinerwatchError(f"{path} starts at height {start:,} but the database ends at {top:,}",
                                  f"load the headers from height {top + 1:,} first: the chain must have no gap")
        p = self.progress
        p.start_height, p.target_height = start, start + size // HEADER_SIZE - 1
        stored = 0
        with f:
            height = start
            while chunk := f.read(HEADERS_PER_COMMIT * HEADER_SIZE):
                stored += self._store_header_bytes(chunk, height, str(path))
                height += len(chunk) // HEADER_SIZE
        self.refresh_metrics()
        return stored

    def _store_header_bytes(self, data: bytes, height: int, source: str) -> int:
        """Check and store consecutive headers from `height`, linked to what is stored below them."""
        if not data:
            return 0
        parent = parent_at(self.con, height - 1) if height > 0 else None
        rows = header_rows(data, height, self.network, parent, lambda h: time_at(self.con, h), source)
        _check_stored_blocks(self.con, rows, source)
        # The table keeps the heights known from a header alone: a stored block's facts are its own.
        lo, hi = self.con.execute("SELECT min(height), max(height) FROM blocks").fetchall()[0]
        if lo is not None:
            rows = [r for r in rows if not lo <= r.height <= hi]
        # Stored headers of another branch at these heights: replaced from the first that differs,
        # with the metric mark lowered below it in the same transaction.
        stored = dict(self.con.execute("SELECT height, hash FROM headers WHERE height BETWEEN ? AND ?",
                                       [rows[0].height, rows[-1].height]).fetchall()) if rows else {}
        differs = next((r.height for r in rows if stored.get(r.height, r.hash) != r.hash), None)
        store_headers(self.con, rows, replace_from=differs)
        self.on_commit()
        p = self.progress
        if rows:
            p.height, p.headers = rows[-1].height, p.headers + len(rows)
            self.on_progress(p)
        return len(rows)

    def sync_headers_rpc(self, client: "RpcLike", node_tip: int, node_height: int) -> int:
        """The node's headers above what is stored (blocks or headers) up to `node_height`, checked
        and stored in batches; a stored chain that left the node's is cut back to the fork first
        (blocks included). Returns how many were stored."""
        top = chain_top(self.con)
        if top is not None and (top > node_tip or client.block_hashes([top])[0] != hash_at(self.con, top)):
            fork = self.find_fork(client, top, lambda h: hash_at(self.con, h))
            self.progress.note = f"reorg: the node's chain left ours after height {fork}; rolled back"
            tip = self.ingest.tip
            if tip is not None and tip.height > fork:
                self.rollback_to(fork)
            rollback_headers(self.con, fork)
            self.on_commit()
            top = fork
        start = 0 if top is None else top + 1
        stored = 0
        self.progress.target_height = node_height
        for lo in range(start, node_height + 1, HEADERS_PER_REQUEST):
            heights = list(range(lo, min(lo + HEADERS_PER_REQUEST - 1, node_height) + 1))
            try:
                raw = self._node_headers(client, heights)
            except RpcCallError as e:
                if e.code != RPC_INVALID_PARAMETER:
                    raise
                break   # "Block height out of range": the node's chain got shorter; the blocks' loop waits
            # Headers that stop chaining mean a node that reorganises while it is read: the part that
            # links is stored, and the blocks' loop asks again (with its waits) from there.
            parent = hash_at(self.con, lo - 1) if lo > 0 else None
            linked = linked_count(raw, parent)
            stored += self._store_header_bytes(raw[:linked * HEADER_SIZE], lo,
                                               f"the node's headers {heights[0]:,}–{heights[-1]:,}")
            if linked < len(heights):
                break
        return stored

    def ingest_stream(self, blocks: Iterator[tuple[int, Block | ParsedBlock]],
                      chainwork_before: int | None = None) -> int:
        """Store blocks from an ordered stream in batches; returns how many were stored."""
        batch: list[tuple[int, Block | ParsedBlock]] = []
        size = stored = 0
        p = self.progress
        for height, block in blocks:
            batch.append((height, block))
            size += block.size_bytes
            if len(batch) >= self.batch_blocks or size >= self.batch_bytes:
                self.ingest.add_batch(batch, chainwork_before)
                self.on_commit()
                stored += len(batch)
                p.height, p.blocks, p.bytes = height, p.blocks + len(batch), p.bytes + size
                self.on_progress(p)
                batch, size = [], 0
        if batch:
            self.ingest.add_batch(batch, chainwork_before)
            self.on_commit()
            stored += len(batch)
            p.height, p.blocks, p.bytes = batch[-1][0], p.blocks + len(batch), p.bytes + size
            self.on_progress(p)
        return stored

    # -- blk files ----------------------------------------------------------------------------

    def sync_blocks_dir(self, blocks_dir: Path, workers: int = 1, stop_height: int | None = None,
                        canonical_hashes: dict[int, str] | None = None) -> int:
        """Bulk sync from a Bitcoin Core blocks directory; resumes and handles reorgs since last time."""
        from minerwatch.chain.blkfiles import ParserPool

        # The parser processes start while the directory is scanned (~0.3 s saved).
        parsers = ParserPool(workers) if workers > 1 else None
        try:
            return self._sync_blocks_dir(blocks_dir, workers, stop_height, canonical_hashes, parsers)
        finally:
            if parsers is not None:
                parsers.close()

    def _sync_blocks_dir(self, blocks_dir: Path, workers: int, stop_height: int | None,
                         canonical_hashes: dict[int, str] | None, parsers: ParserPool | None) -> int:
        from minerwatch.chain.blkfiles import best_chain, files_report, iter_parsed
        from minerwatch.store import scancache

        index = scancache.scan(blocks_dir, self.network, self._scan_cache_path())
        chain = best_chain(index, self.network, canonical_hashes)
        self.files_report = files_report(index, chain)
        if not len(chain):
            raise MinerwatchError(f"no blocks of the {self.network.name} chain in {blocks_dir}",
                                  "check --blocks-dir and --network")
        first_height, last_height = chain.start_height, chain.tip_height
        tip = self.ingest.tip
        if tip is not None:
            if tip.height < first_height - 1:
                raise MinerwatchError(
                    f"the database ends at height {tip.height} but {blocks_dir} starts at {first_height}",
                    "sync the missing heights from a node (--rpc) or use a complete blocks directory")
            fork = min(tip.height, last_height)
            while fork >= first_height and hash_hex(chain.at(fork).hash) != self.stored_hash(fork):
                fork -= 1
            if fork < tip.height and self._files_replace_stored(chain, fork, tip, canonical_hashes is not None):
                self.rollback_to(fork)
        tip = self.ingest.tip
        start = tip.height + 1 if tip else first_height
        p = self.progress
        p.start_height = start
        p.target_height = last_height if stop_height is None else min(stop_height, last_height)
        self.on_progress(p)
        if start > p.target_height:
            self.refresh_metrics()
            self._record_files_report()
            return 0
        # The workers hand over each block's facts and packed columns (chain/parsed.py), so that this
        # process is left with the sequential part: chainwork, median time past, the cohort tracker.
        # With the node's undo files they also bring what each input spent, and the tracker needs
        # no unspent cohort outputs in memory (ingest/tracker.py).
        undo, contested = self._undo_files(blocks_dir, index)
        stream = ((h, b) for h, _, b in iter_parsed(blocks_dir, self.network, start_height=start,
                                                   stop_height=stop_height, workers=workers,
                                                   canonical_hashes=canonical_hashes, chain=chain,
                                                   parsers=parsers, undo=undo, contested=contested))
        self.unconnected_from = None
        if undo is not None:
            stream = self._until_unconnected(stream, last_height)
        stored = self.ingest_stream(stream)
        self.refresh_metrics()
        self._record_files_report()
        return stored

    def _until_unconnected(self, stream: Iterator[tuple[int, ParsedBlock]],
                           last_height: int) -> Iterator[tuple[int, ParsedBlock]]:
        """The blocks up to the first one near the tip that has no undo record yet.

        Core writes a block to its blk file when it receives it and the undo record when it connects
        it, so the newest blocks of a running node (up to its 1,024-block download window, more
        while it syncs) may have no record yet. Those wait for the next run or poll, instead of
        making the tracker load every unspent cohort output to look their spends up; a missing or
        damaged record deeper in the chain is read that slower way (exact either way)."""
        for height, block in stream:
            if block.spent is None and height > last_height - UNCONNECTED_WINDOW_BLOCKS \
                    and self.ingest.tracker.utxos is None:
                self.unconnected_from = height
                return
            yield height, block

    def _undo_files(self, blocks_dir: Path, index: BlkIndex) -> tuple[UndoIndex | None, set[bytes]]:
        """The blocks directory's undo records (None: it has no rev files, or the database cannot
        use them) and the parents with more than one child in its blk files."""
        from minerwatch.chain.undo import contested_parents, list_rev_files
        from minerwatch.store import scancache

        if not self.ingest.undo_capable or not list_rev_files(Path(blocks_dir).expanduser()):
            return None, set()
        return scancache.scan_undo(blocks_dir, self.network, self._scan_cache_path("rev")), contested_parents(index)

    def _scan_cache_path(self, kind: str = "blk") -> Path | None:
        """Where the blocks directory's scan of its blk (or rev) files is kept between runs: beside
        the database file, DB.blkscan (DB.revscan); none for a database in memory. See
        store/scancache.py."""
        (db_file,) = self.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                                      ).fetchone()
        return Path(f"{db_file}.{kind}scan") if db_file else None

    def _record_files_report(self) -> None:
        """Keep what the last blocks-directory read set aside and skipped, for `status`."""
        if self.files_report is not None:
            with transaction(self.con):
                set_meta(self.con, "blocks_dir_report", json.dumps(self.files_report.as_dict()))

    def _files_replace_stored(self, chain: BestChain, fork: int, tip: Tip, node_decides: bool) -> bool:
        """Whether the files' chain, which leaves the stored one after `fork`, should replace it.

        Only a chain with more work does (Bitcoin's rule), or the node's own chain. A blocks
        directory that merely ends lower than the database (an older copy, a blk file cut short or
        corrupt in the middle) must never delete stored blocks.
        """
        if fork == chain.tip_height:
            self.progress.note = f"the database (tip {tip.height}) is ahead of these files (tip {fork}); kept"
            return False
        if node_decides:
            return True
        row = self.con.execute("SELECT chainwork FROM blocks WHERE height = ?", [fork]).fetchone()
        files_work = (row[0] if row else 0) + sum(work_from_bits(chain.at(h).bits)
                                                  for h in range(fork + 1, chain.tip_height + 1))
        if files_work > tip.chainwork:
            return True
        self.progress.note = (f"the files hold a competing chain after height {fork} with less work than the "
                              f"stored one; kept the stored chain")
        return False

    # -- a node over JSON-RPC -----------------------------------------------------------------

    def find_fork(self, client: "RpcLike", top: int | None = None,
                  stored_hash: Callable[[int], str | None] | None = None) -> int:
        """Highest height where the stored hash equals the node's (walking down from our tip, or
        from `top` with `stored_hash` for the headers)."""
        if top is None:
            tip = self.ingest.tip
            assert tip is not None
            top = tip.height
        stored = stored_hash or self.stored_hash
        height = top
        step = 16
        while height >= 0:
            lo = max(height - step + 1, 0)
            heights = list(range(height, lo - 1, -1))
            node_hashes = client.block_hashes(heights)
            for h, node_hash in zip(heights, node_hashes):
                if stored(h) == node_hash:
                    return h
            height = lo - 1
            step *= 2
        # No height agrees, not even the genesis block (which check_network compared with the
        # network's): the database holds another chain, and rolling it all back would hide that.
        raise NodeError(
            f"the node's chain shares no block with the database (stored genesis {stored(0)}, "
            f"the node's {client.block_hashes([0])[0]})",
            f"the database holds another chain than the node's {self.network.name}: sync into a new --db",
        )

    def sync_rpc(self, client: "RpcLike", follow: bool = False, poll_s: float = 5.0,
                 stop_height: int | None = None, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Sync from a node; with `follow`, keep up with its tip until `should_stop()`.

        A batch that does not connect to the stored tip (or whose blocks do not chain) is asked for
        again NOT_CONNECTING_ATTEMPTS times with doubling waits, then a NodeError: a node that is
        reorganising settles, one that serves a broken chain must not keep the sync busy forever.
        """
        # The genesis hash is checked here, before anything is stored.
        client.check_network()
        prune_height = self._note_pruning(client.wait_until_synced())
        stored = misses = 0
        p = self.progress
        while not should_stop():
            node_tip = client.block_count()
            node_height = node_tip if stop_height is None else min(node_tip, stop_height)
            # Headers first: the header-only series cover the node's whole chain before any block.
            if self.sync_headers_rpc(client, node_tip, node_height):
                self.refresh_metrics()
            tip = self.ingest.tip
            if tip is not None:
                if tip.height > node_tip or client.block_hashes([tip.height])[0] != tip.hash:
                    fork = self.find_fork(client)
                    p.note = f"reorg: the node's chain left ours after height {fork}; rolled back"
                    self.rollback_to(fork)
                    tip = self.ingest.tip
            start = tip.height + 1 if tip else 0
            chainwork_before = None
            if prune_height is not None and start < prune_height:
                # A pruned node: its headers are all stored; the blocks start where the node's do.
                start, tip, chainwork_before = self._pruned_start(client, tip, prune_height, node_height)
            p.target_height = node_height
            if p.start_height < 0:
                p.start_height = start
            if start > node_height:
                self.refresh_metrics()
                self.keep_prices_current()
                if not follow:
                    break
                self.on_progress(p)
                self._idle_until_new_block(client, poll_s, should_stop)
                continue
            end = min(start + self.batch_blocks - 1, node_height)
            blocks, problem = self._fetch_connected(client, tip, start, end)
            if blocks:
                stored += self.ingest_stream(iter(blocks), chainwork_before)
                misses = 0
                # While the blocks catch up with the headers a refresh recomputes every height up
                # to the headers' tip (6.7 s for mainnet's: docs/benchmarks.md), so it runs after
                # a batch only every CATCH_UP_REFRESH_S, and after every batch once they have.
                caught_up = blocks[-1][0] >= (chain_top(self.con) or 0)
                if follow and (caught_up or time.monotonic() >= self._next_refresh_s):
                    self.refresh_metrics()
                    self._next_refresh_s = time.monotonic() + CATCH_UP_REFRESH_S
            if problem is None or blocks:
                continue   # done, or a partial batch stored: re-check the tip from the top
            misses += 1
            if misses >= NOT_CONNECTING_ATTEMPTS:
                raise NodeError(
                    f"{problem}, {misses} times in a row",
                    "the node may be in the middle of a long reorganisation: run the sync again in a "
                    "minute; if this persists the node serves a broken chain (compare `bitcoin-cli "
                    "getblockhash HEIGHT` with a block explorer). Nothing that does not connect was stored",
                )
            delay_s = NOT_CONNECTING_BACKOFF_S * 2 ** (misses - 1)
            p.note = f"{problem}; the node may be reorganising: asking again in {delay_s:g} s"
            self.on_progress(p)
            _nap(delay_s, should_stop)
        self.refresh_metrics()
        return stored

    def _node_headers(self, client: "RpcLike", heights: list[int]) -> bytes:
        """The node's headers at `heights` (consecutive): over REST where the node serves it (one
        request), else batched getblockhash and getblockheader."""
        if self._rest is not False and hasattr(client, "rest_headers"):
            first = client.block_hashes([heights[0]])[0]
            raw = client.rest_headers(first, len(heights))
            self._rest = raw is not None
            if raw is not None:
                return raw[:len(heights) * HEADER_SIZE]
        return b"".join(client.raw_headers(client.block_hashes(heights)))

    def keep_prices_current(self) -> None:
        """With live prices: store the prices of the days since the last stored one up to today and
        recompute the USD figures from the first of them, in one transaction. A failed fetch is a
        note (tried again in PRICE_RETRY_S), never the end of the sync."""
        if self.live_prices is None or time.monotonic() < self._next_price_try_s:
            return
        today = self.today()
        last = last_price_day(self.con)
        if last is not None and last >= today:
            return
        since = today if last is None else last + timedelta(days=1)
        try:
            quotes = fetch_missing_prices(since, today, self.live_prices)
        except MinerwatchError as e:
            self._next_price_try_s = time.monotonic() + PRICE_RETRY_S
            self.progress.note = f"live prices: {e.message}; trying again in {PRICE_RETRY_S // 60} min"
            self.on_progress(self.progress)
            return
        with transaction(self.con):
            written = store_quotes(self.con, quotes)
            height = first_height_on_or_after(self.con, written.first_date) if written.first_date else None
            if height is not None:
                refresh_all(self.con, height)
        self.on_commit()
        self.progress.note = f"live prices: {written.rows} day(s) stored, {written.first_date} … {written.last_date}"

    def _note_pruning(self, info: object) -> int | None:
        """Keep the node's prune height for `status` and the series' notes; the height, or None
        for a node that keeps every block."""
        height = getattr(info, "prune_height", None) if getattr(info, "pruned", False) else None
        if get_meta(self.con, "node_prune_height") != (None if height is None else str(height)):
            with transaction(self.con):
                if height is None:
                    self.con.execute("DELETE FROM meta WHERE key = 'node_prune_height'")
                else:
                    set_meta(self.con, "node_prune_height", str(height))
            self.on_commit()
        return height

    def _pruned_start(self, client: "RpcLike", tip: Tip | None, prune_height: int,
                      node_height: int) -> tuple[int, Tip | None, int | None]:
        """Where the blocks of a pruned node start: (height, the stored header below it as the tip
        to connect to, its chainwork). NodeError when stored blocks end below what the node keeps."""
        if tip is not None:
            raise NodeError(
                f"the database's blocks end at height {tip.height:,}, but the node is pruned and keeps blocks "
                f"from height {prune_height:,} on: blocks {tip.height + 1:,}–{prune_height - 1:,} are gone",
                "sync into a new --db (its header series will cover the whole chain, its block series start at "
                "the prune height), or sync from a node that keeps those blocks")
        start = self._first_kept_block(client, prune_height, node_height)
        parent = parent_at(self.con, start - 1)
        if parent is None:
            raise NodeError(f"the header at height {start - 1:,} is not stored", "run the sync again")
        self.progress.note = f"the node is pruned: blocks from height {start:,} on, headers from genesis"
        return start, Tip(parent.height, parent.hash, parent.chainwork), parent.chainwork

    def _first_kept_block(self, client: "RpcLike", lo: int, hi: int) -> int:
        """The lowest height from `lo` whose block the node still serves (bcoin reports a prune height
        one below its first block; a node may prune further while it is read)."""
        for height in range(lo, min(lo + PRUNE_PROBES, hi + 1)):
            try:
                client.raw_blocks(client.block_hashes([height]))
                return height
            except RpcCallError as e:
                if e.code != RPC_MISC_ERROR:
                    raise
        raise NodeError(f"the pruned node serves none of the blocks {lo:,}–{min(lo + PRUNE_PROBES, hi + 1) - 1:,} "
                        "from its prune height on", "run the sync again; the node may be pruning right now")

    def _fetch_connected(self, client: "RpcLike", tip: Tip | None, start: int,
                         end: int) -> tuple[list[tuple[int, Block | ParsedBlock]], str | None]:
        """The node's blocks start..end that chain onto `tip`, and why the rest do not (or None)."""
        try:
            hashes = client.block_hashes(list(range(start, end + 1)))
        except RpcCallError as e:
            if e.code != RPC_INVALID_PARAMETER:
                raise
            # Bitcoin Core's "Block height out of range": the node's chain got shorter since
            # getblockcount, which a reorganisation does for a moment.
            return [], f"the node's chain no longer reaches height {end}"
        raws = client.raw_blocks(hashes)
        blocks: list[tuple[int, Block]] = []
        expected_prev = tip.hash if tip else None
        for height, (want, raw) in enumerate(zip(hashes, raws), start):
            block = parse_block(raw, source=f"block {want} from the node")
            got = hash_hex(block.hash)
            if got != want:
                raise NodeError(f"the node sent block {got} when asked for {want}", "restart the node")
            if height == 0 and got != self.network.genesis_hash:
                # check_network compared it, so the node changed chains under us: never store it.
                raise NodeError(f"the node's block at height 0 is now {got}, not {self.network.name}'s "
                                f"genesis {self.network.genesis_hash}",
                                f"point --rpc at a {self.network.name} node")
            prev = hash_hex(block.header.prev_hash)
            if expected_prev is not None and prev != expected_prev:
                below = "the stored tip" if height == start else "the node's own block"
                return blocks, (f"the node's block {got} at height {height} does not connect to "
                                f"{below} {expected_prev} at height {height - 1} (its parent is {prev})")
            blocks.append((height, block))
            expected_prev = got
        return self._with_spent(client, blocks), None

    def _with_spent(self, client: "RpcLike", blocks: list[tuple[int, Block]]) -> list[tuple[int, Block | ParsedBlock]]:
        """Following the tip, each new block with what its inputs spent (`getblock HASH 3`, Core 23+),
        so that the tracker keeps holding no unspent cohort outputs; otherwise the blocks as they are
        (the first one then loads them). Not for catching up: the verbose answers are ~10× the size."""
        ingest = self.ingest
        fetch = getattr(client, "verbose_blocks", None)
        if (fetch is None or self._rpc_prevouts is False or not blocks or len(blocks) > FOLLOW_SPENT_BLOCKS
                or ingest.tracker.utxos is not None or not ingest.undo_capable):
            return list(blocks)
        from minerwatch.chain.undo import spent_from_rpc

        answers = fetch([hash_hex(b.hash) for _, b in blocks])
        out: list[tuple[int, Block | ParsedBlock]] = []
        for (height, block), answer in zip(blocks, answers):
            spent = spent_from_rpc(answer, block)
            if spent is None:
                self._rpc_prevouts = False      # the node gives no prevouts: never ask again
                return list(blocks)
            parsed = ParsedBlock.of(height, block, self.network)
            out.append((height, ParsedBlock(parsed.facts, parsed.columns, spent)))
        self._rpc_prevouts = True
        return out


    def _idle_until_new_block(self, client: "RpcLike", poll_s: float, should_stop: Callable[[], bool]) -> None:
        """Wait until the node's best block is not our tip, with the database file released."""
        tip = self.ingest.tip
        release = self.reopen is not None
        if release:
            self.con.close()
        try:
            next_poll = time.monotonic() + poll_s
            while not should_stop():
                time.sleep(min(0.2, poll_s))  # short naps: a stop request is seen within 0.2 s
                if time.monotonic() < next_poll:
                    continue
                next_poll = time.monotonic() + poll_s
                if tip is None or client.best_block_hash() != tip.hash:
                    return
        finally:
            if release:
                self._reacquire()

    def _reacquire(self, wait_s: float = 60.0) -> None:
        """Open the database again, waiting while readers hold it."""
        assert self.reopen is not None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                con = self.reopen()
                break
            except MinerwatchError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.con = self.ingest.con = con


def _check_stored_blocks(con: duckdb.DuckDBPyConnection, rows: list[HeaderRow], source: str) -> None:
    """MinerwatchError when a header differs from the stored block at its height: headers of
    another chain (or a stale branch) must not sit beside the stored blocks."""
    if not rows:
        return
    stored = dict(con.execute("SELECT height, hash FROM blocks WHERE height BETWEEN ? AND ?",
                              [rows[0].height, rows[-1].height]).fetchall())
    for r in rows:
        if r.height in stored and stored[r.height] != r.hash:
            raise MinerwatchError(f"{source}: the header at height {r.height:,} is {r.hash}, but the stored "
                                  f"block there is {stored[r.height]}",
                                  "the headers belong to another chain than the database's: check the file "
                                  "and --first-height, or load them into a new --db")


def _nap(seconds: float, should_stop: Callable[[], bool]) -> None:
    """Sleep `seconds` in short naps, so that a stop request is seen within 0.2 s."""
    until = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < until:
        time.sleep(min(0.2, max(until - time.monotonic(), 0.0)))


class RpcLike:  # pragma: no cover - the interface minerwatch.chain.rpc.RpcClient provides
    def check_network(self) -> None: ...
    def wait_until_synced(self) -> None: ...
    def block_count(self) -> int: ...
    def block_hashes(self, heights: list[int]) -> list[str]: ...
    def raw_blocks(self, hashes: list[str]) -> list[bytes]: ...
    def raw_headers(self, hashes: list[str]) -> list[bytes]: ...
    def best_block_hash(self) -> str: ...
