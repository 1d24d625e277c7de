"""One parsed block → rows of every lake table, appended to column lists (no Arrow objects per row)."""

from __future__ import annotations

from minerwatch.chain.address import owner_label
from minerwatch.chain.block import Block
from minerwatch.chain.parsed import BlockFacts
from minerwatch.chain.script import SCRIPT_TYPE_NAMES, script_id
from minerwatch.lake.schema import SCHEMAS
from minerwatch.networks import Network

Columns = dict[str, list]


def empty_columns(table: str) -> Columns:
    """An empty list per column of `table`."""
    return {name: [] for name in SCHEMAS[table].names}


def add_block(cols: dict[str, Columns], facts: BlockFacts, block: Block, network: Network) -> None:
    """Append `block`'s rows (at facts.height) to the column lists of every table."""
    h = facts.height
    b = cols["blocks"]
    for name, value in (
        ("height", h), ("hash", facts.hash_hex), ("prev_hash", facts.prev_hash_hex), ("time_s", facts.time_s),
        ("version", facts.version), ("bits", facts.bits), ("difficulty", facts.difficulty),
        ("size_bytes", facts.size_bytes), ("weight_wu", facts.weight_wu), ("tx_count", facts.tx_count),
        ("input_count", facts.input_count), ("output_count", facts.output_count),
        ("segwit_tx_count", facts.segwit_tx_count), ("coinbase_value_sat", facts.coinbase_value_sat),
        ("subsidy_sat", facts.subsidy_sat), ("fees_claimed_sat", facts.fees_sat),
        ("unclaimed_sat", facts.unclaimed_sat), ("coinbase_tag", facts.coinbase_tag),
        ("coinbase_script_hex", facts.coinbase_script_hex),
    ):
        b[name].append(value)

    txid_hex = [t[::-1].hex() for t in block.txids]
    n_tx = block.tx_count
    ins_per_tx = [0] * n_tx
    outs_per_tx = [0] * n_tx

    o = cols["outputs"]
    names = SCRIPT_TYPE_NAMES
    for tx, vout, value, stype, payload in zip(block.out_tx, block.out_vout, block.out_value_sat, block.out_type,
                                              block.out_payload):
        outs_per_tx[tx] += 1
        o["height"].append(h)
        o["tx_index"].append(tx)
        o["txid"].append(txid_hex[tx])
        o["vout"].append(vout)
        o["value_sat"].append(value)
        o["script_type"].append(names[stype])
        o["script_id"].append(script_id(stype, payload))
        o["payload"].append(payload)
        o["address"].append(owner_label(stype, payload, network))

    i = cols["inputs"]
    for tx, prev, prev_vout in zip(block.in_tx, block.in_prev_txid, block.in_prev_vout):
        i["height"].append(h)
        i["tx_index"].append(tx)
        i["txid"].append(txid_hex[tx])
        i["vin"].append(ins_per_tx[tx])   # inputs come in transaction order, so a running count is vin
        ins_per_tx[tx] += 1
        i["prev_txid"].append(prev[::-1].hex())
        i["prev_vout"].append(prev_vout)

    t = cols["transactions"]
    for k in range(n_tx):
        t["height"].append(h)
        t["tx_index"].append(k)
        t["txid"].append(txid_hex[k])
        t["wtxid"].append(block.wtxids[k][::-1].hex())
        t["weight_wu"].append(block.tx_weights[k])
        t["input_count"].append(ins_per_tx[k])
        t["output_count"].append(outs_per_tx[k])

    c = cols["coinbase_payouts"]
    for out in facts.coinbase_outputs:
        c["height"].append(h)
        c["vout"].append(out.vout)
        c["value_sat"].append(out.value_sat)
        c["script_type"].append(out.script_type)
        c["script_id"].append(out.script_id)
        c["address"].append(out.address)
