"""The simulated demo chain: repeatable, parseable, on its own network, and telling its story.

The story checks recompute every figure from the parsed blocks (not from the generator's own
bookkeeping): hashrate by the block-count estimator, hashprice by the Hashrate Index formula, the
0-hop reserve by a small independent tracker written here.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import pytest

from minerwatch.chain.address import decode_address
from minerwatch.chain.blkfiles import iter_raw_blocks
from minerwatch.chain.block import Block, hash_hex, parse_block
from minerwatch.chain.script import ScriptType
from minerwatch.consensus import difficulty_from_bits
from minerwatch.networks import NETWORKS
from minerwatch.pools import load_pool_list, parse_pool_list
from minerwatch.simulate import story as S
from minerwatch.simulate.actors import MINERS
from minerwatch.simulate.files import label_rows, pool_list, write_demo
from minerwatch.simulate.generate import SimChain, SimConfig, generate

SIMNET = NETWORKS["simnet"]
DAY_S = 86_400


def _digest(chain: SimChain) -> str:
    return hashlib.sha256(b"".join(chain.raw_blocks)).hexdigest()


@pytest.fixture(scope="module")
def small() -> SimChain:
    return generate(SimConfig(seed=7, days=48))


@pytest.fixture(scope="module")
def demo() -> tuple[SimChain, list[Block]]:
    """The full default demo chain (~70,000 blocks), parsed once for the story tests."""
    chain = generate()
    return chain, [parse_block(raw, source=f"demo-{h}") for h, raw in enumerate(chain.raw_blocks)]


def test_same_seed_same_bytes_other_seed_other_bytes(small: SimChain) -> None:
    assert _digest(generate(SimConfig(seed=7, days=48))) == _digest(small)
    assert _digest(generate(SimConfig(seed=8, days=48))) != _digest(small)


def test_small_chain_parses_and_links_from_the_simnet_genesis(small: SimChain) -> None:
    blocks = [parse_block(raw, source=f"sim-{h}") for h, raw in enumerate(small.raw_blocks)]
    assert hash_hex(blocks[0].hash) == SIMNET.genesis_hash
    assert SIMNET.genesis_hash != NETWORKS["mainnet"].genesis_hash
    for h in range(1, len(blocks)):
        assert blocks[h].header.prev_hash == blocks[h - 1].hash
        assert blocks[h].bip34_height == h
        assert blocks[h].header.time > blocks[h - 1].header.time
    # 48 days at ~144 blocks a day: between 6,000 and 8,000 blocks; a typical block is a few KB
    # (coinbase + 1–3 payments), the largest (a treasury sale of 120-input transactions) far under
    # the 4,000,000 WU limit.
    assert 6_000 < len(blocks) < 8_000
    sizes = sorted(b.size_bytes for b in blocks)
    assert sizes[len(sizes) // 2] < 3_000 and max(b.weight for b in blocks) < 1_000_000


def test_written_files_use_simnet_magic_and_read_back(small: SimChain, tmp_path: Path) -> None:
    files = write_demo(tmp_path, chain=small)
    first = next(files.blocks_dir.glob("blk*.dat")).read_bytes()[:4]
    assert first == b"mwsm" == SIMNET.magic != NETWORKS["mainnet"].magic
    read = [raw for _, _, raw in iter_raw_blocks(files.blocks_dir, SIMNET)]
    assert read == small.raw_blocks and files.tip_height == len(read) - 1
    prices = files.prices_csv.read_text().splitlines()
    assert prices[0] == "date,price_usd" and len(prices) == 1 + 48
    assert prices[1].startswith("2025-01-01,")
    labels = files.labels_csv.read_text().splitlines()
    assert labels[0] == "address,entity,category" and len(labels) == 1 + len(label_rows(small))


def test_labels_are_simnet_addresses_of_the_actors(small: SimChain) -> None:
    rows = label_rows(small)
    categories = defaultdict(set)
    for address, entity, category in rows:
        categories[category].add(entity)
        decode_address(address, SIMNET)  # raises unless it is a simnet address
    assert categories["exchange"] == {"Meridian Exchange", "Quayside", "Bluefin Markets", "Orbit Trade"}
    assert len(categories["pool"]) == 6 and categories["miner"] == {"Basalt Mining", "Aurora Digital"}
    # Exchange deposits must receive coins on the chain, or the exchange-flow chart would be empty.
    deposits = {a for a, _, c in rows if c == "exchange"}
    received = set()
    for raw in small.raw_blocks[1:]:
        b = parse_block(raw)
        for t, stype, payload in zip(b.out_tx, b.out_type, b.out_payload):
            if t and stype in (ScriptType.P2WPKH, ScriptType.P2SH):
                received.add((stype, payload))
    assert any(decode_address(a, SIMNET) in received for a in deposits)


def test_tags_match_no_real_pool_but_the_shipped_demo_list(small: SimChain) -> None:
    real = load_pool_list()
    demo_list = parse_pool_list(__import__("json").dumps(pool_list(small)).encode(), "pools.json")
    seen = {}
    for raw in small.raw_blocks[1:400]:
        b = parse_block(raw)
        assert real.attribute(b.coinbase_script, []).slug == "unknown"
        seen[demo_list.attribute(b.coinbase_script, []).name] = True
    # Blocks 1–399 are of the early era (P2PK payouts, no address), so the tag alone decides.
    # In 400 blocks every pool with a share of ≥ 5 % shows up (expected ≥ 20 blocks each) and the
    # solo miners (3 %, ~12 blocks) stay unknown.
    assert {m.name for m in MINERS if m.kind != "solo"} | {"Unknown"} == set(seen)


def _days(chain: SimChain) -> int:
    return chain.story.days


def _per_day(chain: SimChain, blocks: list[Block]) -> dict[str, list[float]]:
    n = _days(chain)
    count, diff, revenue = [0] * n, [0.0] * n, [0] * n
    for b in blocks[1:]:
        d = (b.header.time - chain.start_time_s) // DAY_S
        count[d] += 1
        diff[d] += difficulty_from_bits(b.header.bits)
        revenue[d] += b.coinbase_value_sat
    mean_diff = [diff[d] / count[d] for d in range(n)]
    # Coin Metrics' block-count estimator: blocks / 144 × mean difficulty × 2^32 / 600, in EH/s
    hashrate = [count[d] / 144 * mean_diff[d] * 2**32 / 600 / 1e18 for d in range(n)]
    # Hashrate Index (USD per PH/s per day): revenue per block × 86,400 × 1e15 / (difficulty × 2^32) × price.
    # Revenue per block here is the day's mean coinbase value (subsidy + fees), a daily form of it.
    hashprice = [revenue[d] / count[d] / 1e8 * 86_400 * 1e15 / (mean_diff[d] * 2**32) * chain.story.price_usd[d]
                 for d in range(n)]
    return {"count": count, "difficulty": mean_diff, "hashrate": hashrate, "hashprice": hashprice}


def _sma(xs: list[float], end: int, n: int) -> float:
    return sum(xs[end - n + 1:end + 1]) / n


def test_demo_is_more_than_a_year_at_mainnet_like_difficulty(demo: tuple[SimChain, list[Block]]) -> None:
    chain, blocks = demo
    days = (blocks[-1].header.time - blocks[0].header.time) / DAY_S
    assert 470 < days < 480
    # ~144 blocks a day on average (600 s spacing), as retargeting keeps it.
    assert 140 < (len(blocks) - 1) / days < 150
    diffs = [difficulty_from_bits(b.header.bits) for b in blocks]
    assert 1.0e14 < min(diffs) and max(diffs) < 1.7e14
    # Difficulty changes only at retargets (every 2,016 blocks), and it did change.
    changes = [h for h in range(1, len(blocks)) if blocks[h].header.bits != blocks[h - 1].header.bits]
    assert changes and all(h % 2016 == 0 for h in changes)


def test_demo_fees_are_realistic(demo: tuple[SimChain, list[Block]]) -> None:
    chain, blocks = demo
    from minerwatch.chain.builder import block_subsidy_sat
    fees_btc = [(b.coinbase_value_sat - block_subsidy_sat(SIMNET, h)) / 1e8 for h, b in enumerate(blocks) if h]
    assert min(fees_btc) >= 0.02 and max(fees_btc) <= 0.5
    assert 0.03 < sum(fees_btc) / len(fees_btc) < 0.08
    assert sum(f > 0.3 for f in fees_btc) > 100  # the spikes


def test_demo_has_old_era_p2pk_coinbases_only_early(demo: tuple[SimChain, list[Block]]) -> None:
    chain, blocks = demo
    early_end = chain.start_time_s + S.EARLY_ERA_END * DAY_S
    for b in blocks[1:]:
        is_p2pk = b.out_type[0] == ScriptType.P2PK
        assert is_p2pk == (b.header.time < early_end)


def test_demo_price_fall_gives_the_hashprice_record_low(demo: tuple[SimChain, list[Block]]) -> None:
    chain, blocks = demo
    daily = _per_day(chain, blocks)
    price = chain.story.price_usd
    peak = max(range(300, 360), key=lambda d: price[d])
    assert min(price[peak:]) < 0.6 * price[peak]
    hp = daily["hashprice"]
    low = min(range(len(hp)), key=lambda d: hp[d])
    # The record low falls after the price fall, with difficulty still near its high.
    assert S.FALL_START < low < S.FALL_BOTTOM + 30
    assert hp[low] < 0.7 * min(hp[:300])


def test_demo_hash_ribbons_capitulate_and_recover(demo: tuple[SimChain, list[Block]]) -> None:
    chain, blocks = demo
    hr = _per_day(chain, blocks)["hashrate"]
    below = [d for d in range(60, len(hr)) if _sma(hr, d, 30) < _sma(hr, d, 60)]
    # A capitulation after the hashrate fall (from day 372) …
    episode = [d for d in below if S.CAPITULATION_START <= d <= S.RECOVERY]
    assert len(episode) > 20
    # … and a recovery: the 30-day average back above the 60-day before the end.
    assert any(_sma(hr, d, 30) > _sma(hr, d, 60) for d in range(max(episode) + 1, len(hr)))
    before = sum(hr[340:370]) / 30
    bottom = sum(hr[395:418]) / 23
    assert bottom < 0.9 * before


def test_demo_miners_sell_out_of_their_reserve_in_the_fall(demo: tuple[SimChain, list[Block]]) -> None:
    # An independent 0-hop tracker: scripts that ever received a coinbase output; reserve = the
    # value of their unspent outputs at each day's end.
    chain, blocks = demo
    members: set[tuple[int, bytes]] = set()
    unspent: dict[tuple[bytes, int], int] = {}
    reserve = [0] * _days(chain)
    to_exchange = [0] * _days(chain)
    deposits = {decode_address(a, SIMNET) for a, _, c in label_rows(chain) if c == "exchange"}
    for b in blocks[1:]:
        d = (b.header.time - chain.start_time_s) // DAY_S
        for prev, vout in zip(b.in_prev_txid, b.in_prev_vout):
            unspent.pop((prev, vout), None)
        for t, vout, value, stype, payload in zip(b.out_tx, b.out_vout, b.out_value_sat, b.out_type, b.out_payload):
            owner = (stype, payload)
            if t == 0 and stype != ScriptType.OP_RETURN:
                members.add(owner)
            if owner in members and value:
                unspent[(b.txids[t], vout)] = value
            if t and owner in deposits:
                to_exchange[d] += value
        reserve[d] = sum(unspent.values())
    # The reserve ramps up in the early (P2PK) era, then must reach a new low for the last year
    # after the fall: the lowest value since day 60 comes after the fall began.
    low = min(range(60, len(reserve)), key=lambda d: reserve[d])
    assert low > S.FALL_START
    assert reserve[low] < 0.8 * max(reserve[60:S.FALL_START])
    # Coins reaching exchanges: the worst week of the sell-off brings over three times an average
    # week of the 63 days before the fall.
    worst_week = max(sum(to_exchange[d:d + 7]) for d in range(S.PANIC_START, S.PANIC_END - 6))
    calm_week = sum(to_exchange[S.FALL_START - 63:S.FALL_START]) / 9
    assert worst_week > 3 * calm_week


def test_simulate_imports_only_chain_consensus_networks_errors() -> None:
    # The generator must stay a pure bytes producer: no store, metrics or web (so the demo chain
    # cannot depend on the code it is meant to exercise).
    import ast

    allowed = ("minerwatch.chain", "minerwatch.consensus", "minerwatch.networks", "minerwatch.errors",
               "minerwatch.simulate")
    package = Path(__file__).parent.parent / "src" / "minerwatch" / "simulate"
    seen = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                seen.add(node.module)
            elif isinstance(node, ast.Import):
                seen.update(a.name for a in node.names)
    ours = {m for m in seen if m.startswith("minerwatch")}
    assert ours and all(m.startswith(allowed) for m in ours), ours
    assert not {m for m in seen if m.split(".")[0] in ("duckdb", "pyarrow", "fastapi")}
