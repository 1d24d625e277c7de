"""Rev files for a blocks directory that has none: a generated chain's undo data, as Core writes it.

Core appends a block's undo record to revNNNNN.dat, NNNNN the number of the blk file holding the
block, when it connects the block; it never connects the genesis block (no record, and its coinbase
is no coin). write_rev_files does the same for the best chain of the blk files, in chain order,
keeping every unspent output in memory as the bytes its undo entry will hold: on the rehearsal chain
(925,006 blocks) 5.3 M outputs at the tip, 1.75 GiB of peak RSS, 156 s of CPU for the whole chain.
The CBlockUndo (CompactSize counts, then each input's entry in input order) is joined as it goes. Stale blocks get no record:
Core writes one only for a block that was once its tip, which a generated chain never says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from minerwatch.chain.blkchain import best_chain
from minerwatch.chain.blkscan import pread, read_xor_key, scan, xor_at
from minerwatch.chain.block import HEADER_SIZE, hash_hex, sha256d
from minerwatch.chain.compress import MAX_SCRIPT_BYTES
from minerwatch.chain.revwrite import coin_prefix, compact_size, compress_txout, spent_coin, undo_record
from minerwatch.chain.undoscan import Files, list_rev_files
from minerwatch.errors import MinerwatchError, ParseError
from minerwatch.networks import Network

# ((txid, vout), (value_sat, script, height, is_coinbase)): a coin from outside the chain's blocks
# (ChainBuilder.fund), e.g. OutPoint and Coin of the chain builder.
OutsideCoin = tuple[tuple[bytes, int], tuple[int, bytes, int, bool]]


class MissingCoinError(MinerwatchError):
    """A block spends an output that is not unspent in the chain below it."""


class CoinSet:
    """The unspent outputs of a chain, each kept as its undo entry (TxInUndoFormatter's bytes), keyed
    by the outpoint as a transaction input serializes it (txid ‖ uint32 LE vout)."""

    def __init__(self, outside: Iterable[OutsideCoin] = ()) -> None:
        self._coins: dict[bytes, bytes] = {
            txid + vout.to_bytes(4, "little"): spent_coin(value, script, height, is_coinbase)
            for (txid, vout), (value, script, height, is_coinbase) in outside
        }

    def __len__(self) -> int:
        return len(self._coins)

    def connect(self, raw: bytes, height: int, source: str = "<bytes>") -> bytes:
        """Connect the serialized block at `height`: spend its inputs, add its outputs; its CBlockUndo.

        Like Core's ConnectBlock, transaction by transaction (an output may be spent later in its own
        block). A spend of an unknown output raises MissingCoinError naming the block; bytes that are no
        block raise ParseError naming `source`.
        """
        try:
            return self._connect(raw, height)
        except (IndexError, ValueError) as e:
            raise ParseError(f"the block at height {height} cannot be read as transactions ({e})", source) from e

    def _connect(self, raw: bytes, height: int) -> bytes:
        # Its own walk over the transactions, not block.parse_block: that parser keeps an output's
        # owner (script type and payload), not its script, and the undo entry needs the script.
        coins, pop = self._coins, self._coins.pop
        n_tx, pos = _size(raw, HEADER_SIZE)
        parts = [compact_size(n_tx - 1)]
        for t in range(n_tx):
            start = pos
            pos += 4
            segwit = raw[pos] == 0 and raw[pos + 1] == 1          # marker and flag (BIP144)
            if segwit:
                pos += 2
            body = pos
            n_in, pos = _size(raw, pos)
            if t:
                parts.append(compact_size(n_in))
            for _ in range(n_in):
                if t:                                             # the coinbase's input spends nothing
                    coin = pop(raw[pos:pos + 36], None)
                    if coin is None:
                        raise self._missing(raw, height, raw[pos:pos + 36])
                    parts.append(coin)
                pos += 36
                n = raw[pos]                                      # scriptSig size
                if n < 0xFD:
                    pos += 1 + n
                else:
                    n, pos = _size(raw, pos)
                    pos += n
                pos += 4                                          # sequence
            n_out, pos = _size(raw, pos)
            outs = []
            for _ in range(n_out):
                value = int.from_bytes(raw[pos:pos + 8], "little")
                n = raw[pos + 8]
                if n < 0xFD:
                    pos += 9
                else:
                    n, pos = _size(raw, pos + 8)
                outs.append((value, raw[pos:pos + n]))
                pos += n
            body_end = pos
            if segwit:
                for _ in range(n_in):
                    items, pos = _size(raw, pos)
                    for _ in range(items):
                        n, pos = _size(raw, pos)
                        pos += n
            pos += 4                                              # lock time
            if pos > len(raw):
                raise IndexError(f"transaction {t} runs past the end of the block")
            # txid: the serialization without marker, flag and witnesses
            txid = sha256d(raw[start:start + 4] + raw[body:body_end] + raw[pos - 4:pos]) if segwit \
                else sha256d(raw[start:pos])
            prefix = coin_prefix(height, t == 0)
            for vout, (value, script) in enumerate(outs):
                # Core's AddCoin skips unspendable outputs: OP_RETURN, or longer than MAX_SCRIPT_SIZE.
                if script[:1] == b"\x6a" or len(script) > MAX_SCRIPT_BYTES:
                    continue
                coins[txid + vout.to_bytes(4, "little")] = prefix + compress_txout(value, script)
        if pos != len(raw):
            raise ValueError(f"{len(raw) - pos} bytes left after the last transaction")
        return b"".join(parts)

    @staticmethod
    def _missing(raw: bytes, height: int, outpoint: bytes) -> MissingCoinError:
        return MissingCoinError(
            f"block {hash_hex(sha256d(raw[:HEADER_SIZE]))} at height {height} spends "
            f"{hash_hex(outpoint[:32])}:{int.from_bytes(outpoint[32:], 'little')}, which is not an unspent "
            "output of the chain below it",
            "a chain funded from outside its blocks (ChainBuilder.fund) needs those coins passed as outside "
            "coins; otherwise the blk files do not hold a valid chain",
        )


def _size(raw: bytes, pos: int) -> tuple[int, int]:
    """(CompactSize at `pos`, position after it)."""
    n = raw[pos]
    if n < 0xFD:
        return n, pos + 1
    width = 2 if n == 0xFD else 4 if n == 0xFE else 8
    if pos + 1 + width > len(raw):
        raise IndexError("a CompactSize is cut short")
    return int.from_bytes(raw[pos + 1:pos + 1 + width], "little"), pos + 1 + width


@dataclass(frozen=True, slots=True)
class RevWritten:
    """What write_rev_files wrote, and the coins left unspent at its tip (to connect later blocks)."""

    files: list[Path]
    records: int
    size_bytes: int        # the rev files' total size
    tip_height: int
    coins: CoinSet


def write_rev_files(
    blocks_dir: Path, network: Network, outside: Iterable[OutsideCoin] = (),
    progress: Callable[[int, CoinSet], None] | None = None,
) -> RevWritten:
    """Write revNNNNN.dat beside the blk files of `blocks_dir`: one record per block of the best chain
    from height 1, in chain order, obfuscated with the directory's xor.dat key (if any).

    `outside`: coins the chain spends that no block of it created. `progress(height, coins)` is
    called every 10,000 blocks. Refuses a directory that already holds rev files; on an error, the rev
    files it began are removed.
    """
    blocks_dir = Path(blocks_dir)
    if list_rev_files(blocks_dir):
        raise MinerwatchError(f"{blocks_dir} already holds rev files",
                              "remove rev*.dat first to write them anew (the blk files are not changed)")
    index = scan(blocks_dir, network)
    chain = best_chain(index, network)
    coins = CoinSet(outside)
    paths: dict[int, Path] = {}
    out: dict[int, tuple[BinaryIO, int]] = {}
    done = False
    try:
        with Files(index.files) as blk:
            for i, rec in enumerate(chain.records):
                height = chain.start_height + i
                if height == 0:
                    continue                    # the genesis block is never connected
                source = index.source_name(rec.file_number)
                raw = xor_at(pread(blk.fd(rec.file_number), rec.size_bytes, rec.offset), index.xor_key, rec.offset)
                record = undo_record(network.magic, rec.prev_hash, coins.connect(raw, height, source))
                n = rec.file_number
                if n not in out:
                    paths[n] = blocks_dir / f"rev{n:05d}.dat"
                    out[n] = (open(paths[n], "xb"), 0)
                f, pos = out[n]
                f.write(xor_at(record, index.xor_key, pos))
                out[n] = (f, pos + len(record))
                if progress is not None and height % 10_000 == 0:
                    progress(height, coins)
        done = True
    finally:
        for f, _ in out.values():
            f.close()
        if not done:                            # half-written rev files would pass for a node's
            for p in paths.values():
                p.unlink(missing_ok=True)
    files = [paths[n] for n in sorted(paths)]
    records = len(chain.records) - (chain.start_height == 0)
    return RevWritten(files, records, sum(p.stat().st_size for p in files), chain.tip_height, coins)


def append_rev_record(blocks_dir: Path, file_number: int, magic: bytes, parent_hash: bytes, undo: bytes) -> Path:
    """Append one block's record (its CBlockUndo `undo`) to revNNNNN.dat, obfuscated at its offset, as
    Core does when it connects a block stored in blkNNNNN.dat; the rev file's path."""
    path = Path(blocks_dir) / f"rev{file_number:05d}.dat"
    key = read_xor_key(Path(blocks_dir))
    with open(path, "ab") as f:
        f.write(xor_at(undo_record(magic, parent_hash, undo), key, f.tell()))
    return path


__all__ = ["CoinSet", "MissingCoinError", "OutsideCoin", "RevWritten", "append_rev_record", "write_rev_files"]
