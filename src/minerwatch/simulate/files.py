"""Writing the demo chain out: a blocks directory, prices.csv, labels.csv and pools.json."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from minerwatch.chain.address import encode_address
from minerwatch.chain.blkwrite import write_blk_files
from minerwatch.chain.script import classify
from minerwatch.errors import UsageError
from minerwatch.networks import get_network
from minerwatch.simulate.actors import MINERS
from minerwatch.simulate.generate import SimChain, SimConfig, generate

PRICES_HEADER = ("date", "price_usd")
LABELS_HEADER = ("address", "entity", "category")


@dataclass(frozen=True, slots=True)
class DemoFiles:
    blocks_dir: Path      # blk00000.dat … in simnet's magic, as write_blk_files lays them out
    prices_csv: Path      # date,price_usd — one simulated price per UTC day of the chain
    labels_csv: Path      # address,entity,category — exchanges, pools and mining companies
    pools_json: Path      # the simulated pools in mempool.space's pools-v2.json format
    block_count: int      # including the genesis block
    tip_height: int


def address_of(script: bytes) -> str:
    """The simnet address of a script (every labelled actor has one; bare keys are never labelled)."""
    address = encode_address(*classify(script), get_network("simnet"))
    if address is None:
        raise UsageError("a labelled script has no address form", "label only address-type scripts")
    return address


def label_rows(chain: SimChain) -> list[tuple[str, str, str]]:
    """(address, entity, category) for every exchange deposit and cold wallet, pool payout and
    operator wallet, and every mining company's payout address."""
    rows: list[tuple[str, str, str]] = []
    for name, scripts in chain.cast.deposits.items():
        rows.extend((address_of(s), name, "exchange") for s in (*scripts, chain.cast.cold[name]))
    for i, m in enumerate(MINERS):
        if m.kind == "pool":
            rows.append((address_of(m.payout), m.name, "pool"))
            rows.append((address_of(chain.cast.operators[i]), m.name, "pool"))
        elif m.kind == "company":
            rows.append((address_of(m.payout), m.name, "miner"))
    return rows


def pool_list(chain: SimChain) -> list[dict[str, object]]:
    """The simulated pools and companies as a pools-v2.json list (id, name, addresses, tags, link).
    Solo miners are left out on purpose: their blocks show as "unknown", as solo blocks do on mainnet."""
    return [
        {"id": i + 1, "name": m.name, "addresses": [address_of(m.payout)], "tags": [m.tag],
         "link": "https://example.invalid/simulated"}
        for i, m in enumerate(MINERS) if m.kind != "solo"
    ]


def write_demo(
    out_dir: Path, config: SimConfig = SimConfig(), chain: SimChain | None = None, rev_files: bool = False,
) -> DemoFiles:
    """Generate the demo chain (or take `chain`) and write it under `out_dir` (blocks/ and three files);
    with `rev_files`, blocks/ also gets the chain's undo data as Bitcoin Core writes it (rev*.dat)."""
    out_dir = Path(out_dir)
    chain = chain if chain is not None else generate(config)
    blocks_dir = out_dir / "blocks"
    write_blk_files(blocks_dir, get_network("simnet"), chain.raw_blocks, rev_files=rev_files,
                    outside_coins=chain.funded_coins.items())
    prices = out_dir / "prices.csv"
    with open(prices, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(PRICES_HEADER)
        w.writerows(zip(chain.dates(), (f"{p:.2f}" for p in chain.story.price_usd)))
    labels = out_dir / "labels.csv"
    with open(labels, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(LABELS_HEADER)
        w.writerows(label_rows(chain))
    pools = out_dir / "pools.json"
    pools.write_text(json.dumps(pool_list(chain), indent=1) + "\n")
    return DemoFiles(blocks_dir, prices, labels, pools, len(chain.raw_blocks), len(chain.raw_blocks) - 1)
