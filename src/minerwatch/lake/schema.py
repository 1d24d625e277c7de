"""The lake's tables and their Arrow schemas (docs/lake.md describes every column)."""

from __future__ import annotations

import pyarrow as pa

# Bumped when a column changes meaning or type: a lake of another format is refused, not appended to.
LAKE_FORMAT = 1

SCHEMAS: dict[str, pa.Schema] = {
    "blocks": pa.schema([
        ("height", pa.int32()), ("hash", pa.string()), ("prev_hash", pa.string()), ("time_s", pa.int64()),
        ("version", pa.int64()), ("bits", pa.int64()), ("difficulty", pa.float64()), ("size_bytes", pa.int32()),
        ("weight_wu", pa.int32()), ("tx_count", pa.int32()), ("input_count", pa.int32()),
        ("output_count", pa.int32()), ("segwit_tx_count", pa.int32()), ("coinbase_value_sat", pa.int64()),
        ("subsidy_sat", pa.int64()), ("fees_claimed_sat", pa.int64()), ("unclaimed_sat", pa.int64()),
        ("coinbase_tag", pa.string()), ("coinbase_script_hex", pa.string()),
    ]),
    "transactions": pa.schema([
        ("height", pa.int32()), ("tx_index", pa.int32()), ("txid", pa.string()), ("wtxid", pa.string()),
        ("weight_wu", pa.int32()), ("input_count", pa.int32()), ("output_count", pa.int32()),
    ]),
    "outputs": pa.schema([
        ("height", pa.int32()), ("tx_index", pa.int32()), ("txid", pa.string()), ("vout", pa.int32()),
        ("value_sat", pa.int64()), ("script_type", pa.string()), ("script_id", pa.int64()),
        ("payload", pa.binary()), ("address", pa.string()),
    ]),
    "inputs": pa.schema([
        ("height", pa.int32()), ("tx_index", pa.int32()), ("txid", pa.string()), ("vin", pa.int32()),
        ("prev_txid", pa.string()), ("prev_vout", pa.int64()),
    ]),
    "coinbase_payouts": pa.schema([
        ("height", pa.int32()), ("vout", pa.int32()), ("value_sat", pa.int64()), ("script_type", pa.string()),
        ("script_id", pa.int64()), ("address", pa.string()),
    ]),
}

TABLES = tuple(SCHEMAS)
