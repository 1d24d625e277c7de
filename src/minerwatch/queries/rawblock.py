"""Facts of a raw block handed to us in a file (binary, hex, or one blk*.dat record)."""

from __future__ import annotations

import string
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from minerwatch.chain.address import owner_label
from minerwatch.chain.block import Block, coinbase_tag, hash_hex, parse_block
from minerwatch.chain.script import SCRIPT_TYPE_NAMES
from minerwatch.errors import NetworkMismatchError, UsageError
from minerwatch.networks import Network, network_by_magic
from minerwatch.queries.db import meta_value, table_exists


def read_block_file(path: Path, network: Network) -> bytes:
    """The block bytes in `path`: raw binary, hex text, or a single magic-framed blk record."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}", "check the path") from e
    # Hex pasted from a terminal or an e-mail may be wrapped: whitespace anywhere is dropped. A
    # binary block cannot pass for hex: its version's first bytes (0x00–0x3f) are not hex digits.
    text = b"".join(data.split())
    if text and all(chr(c) in string.hexdigits for c in text[:4096]):
        try:
            data = bytes.fromhex(text.decode())
        except ValueError as e:
            raise UsageError(f"{path} looks like hex but is not valid hex: {e}", "pass the raw binary block") from e
    if len(data) >= 8:
        framed = network_by_magic(data[:4])
        record_size = int.from_bytes(data[4:8], "little")
        if framed is not None and record_size == len(data) - 8:
            if framed.name != network.name:
                raise NetworkMismatchError(f"{path} is a {framed.name} blk record, not {network.name}",
                                           f"add --network {framed.name}")
            data = data[8:]
        elif framed is not None:
            # A magic but a size that is not the rest of the file: a whole blk*.dat (many records),
            # or one record cut short; a raw block never starts with a network magic (its version does).
            raise UsageError(
                f"{path} starts like a {framed.name} blk file record of {record_size:,} bytes but holds "
                f"{len(data) - 8:,} bytes after the 8-byte record header",
                "`block --file` reads one block; sync a whole blk*.dat with `minerwatch sync --blocks-dir DIR`, "
                "or re-copy a truncated record")
    return data


def block_facts(block: Block, network: Network) -> dict[str, Any]:
    """The JSON facts `minerwatch block` prints, from a parsed block alone."""
    h = block.header
    payouts = []
    for k, t in enumerate(block.out_tx):
        if t:
            break
        stype, payload = block.out_type[k], block.out_payload[k]
        payouts.append({"vout": block.out_vout[k], "value_sat": block.out_value_sat[k],
                        "script_type": SCRIPT_TYPE_NAMES[stype], "address": owner_label(stype, payload, network)})
    return {
        "hash": hash_hex(h.hash),
        "prev_hash": hash_hex(h.prev_hash),
        "height": block.bip34_height,
        "height_source": "coinbase (BIP34)" if block.bip34_height is not None else None,
        "time_s": h.time,
        "time_utc": datetime.fromtimestamp(h.time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bits": f"0x{h.bits:08x}",
        "version": h.version,
        "merkle_root": hash_hex(h.merkle_root),
        "tx_count": block.tx_count,
        "size_bytes": block.size_bytes,
        "weight_wu": block.weight,
        "coinbase_value_sat": block.coinbase_value_sat,
        "coinbase_tag": coinbase_tag(block.coinbase_script),
        "segwit_tx_count": block.segwit_tx_count,
        "p2tr_output_count": block.p2tr_output_count,
        "coinbase_payouts": payouts,
    }


def facts_of_file(path: Path, network: Network) -> dict[str, Any]:
    """Parse the block in `path` and describe it (with its pool, on networks the pool list covers)."""
    block = parse_block(read_block_file(path, network), source=str(path))
    facts = block_facts(block, network)
    try:
        from minerwatch.pools import load_pool_list
    except ImportError:  # pragma: no cover - pools ships with the package
        return facts
    if network.name == "mainnet":
        pools = load_pool_list()
        attr = pools.attribute(block.coinbase_script, [p["address"] for p in facts["coinbase_payouts"] if p["address"]])
        facts["pool"] = {"pool_slug": attr.slug, "pool_name": attr.name, "matched_by": attr.matched_by,
                         "conflict": attr.conflict, "pools_version": pools.version}
    return facts


def stored_height(con: duckdb.DuckDBPyConnection, facts: dict[str, Any], network: Network) -> dict[str, Any]:
    """`facts` with the height of the stored block of the same hash, when the database (of `network`)
    holds it; unchanged otherwise."""
    if (meta_value(con, "network") or "mainnet") != network.name or not table_exists(con, "blocks"):
        return facts
    row = con.execute("SELECT height FROM blocks WHERE hash = ?", [facts["hash"]]).fetchone()
    if row is None:
        return facts
    return facts | {"height": int(row[0]), "height_source": "the database (no height in a coinbase before BIP34)"}
