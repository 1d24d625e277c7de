"""Pool attribution: the real blocks get the pools INDEX.csv names (INDEX.csv was made
independently of minerwatch, with mempool's pools-v2.json); hand-made lists pin the rule."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from minerwatch.chain.address import encode_address
from minerwatch.chain.block import parse_block
from minerwatch.errors import UsageError
from minerwatch.networks import NETWORKS
from minerwatch.pools import (
    DEFAULT_POOL_LIST,
    diff_attributions,
    load_pool_list,
    parse_pool_list,
    pool_slug,
)

BLOCKS = Path(__file__).parent / "data" / "blocks"
INDEX = list(csv.DictReader(open(BLOCKS / "INDEX.csv")))
SHIPPED = load_pool_list()


def _coinbase(row: dict[str, str]) -> tuple[int, bytes, list[str]]:
    """(height, coinbase scriptSig, payout addresses) of a real block, as sync will pass them."""
    block = parse_block((BLOCKS / row["file"]).read_bytes())
    network = NETWORKS[row["network"]]
    addresses = []
    for tx, t, p in zip(block.out_tx, block.out_type, block.out_payload):
        if tx:
            break
        a = encode_address(t, p, network)
        if a is not None:
            addresses.append(a)
    return int(row["height"] or -1), block.coinbase_script, addresses


REAL = [(row, _coinbase(row)) for row in INDEX]


# ---- the real blocks ---------------------------------------------------------------------------

@pytest.mark.parametrize("row", INDEX, ids=[r["file"] for r in INDEX])
def test_real_block_gets_the_index_pool(row: dict[str, str]) -> None:
    _, script, addresses = next(c for r, c in REAL if r is row)
    a = SHIPPED.attribute(script, addresses)
    expected = row["pool_per_mempool_pools_v2"]
    evidence = row["pool_matched_by"]
    assert a.list_version == SHIPPED.version
    if not expected:
        assert (a.slug, a.name, a.matched_by, a.pool_id) == ("unknown", "Unknown", None, None)
        assert a.tag_slug is None and a.address_slug is None and not a.conflict
        return
    assert a.name == expected
    assert a.slug == pool_slug(expected)
    # INDEX.csv names one pool per block; in none of these blocks does other evidence disagree
    assert not a.conflict
    kind, _, value = evidence.partition(":")
    if kind == "addr":
        # INDEX.csv matched a payout address: ours must be that address, and decide the block
        assert a.matched_by == "address" and a.address == value and a.address_slug == a.slug
    else:
        # INDEX.csv reports the tag whenever one matches (it looks at tags before addresses);
        # minerwatch decides by address first, so a block whose payout address is listed too
        # is matched_by "address" here, with the same tag recorded as agreeing evidence.
        # AntPool lists both "Mined By AntPool" and "Mined by AntPool"; matching ignores case (as
        # mempool's RegExp(tag, 'i') does), so the first listed one is recorded, while INDEX.csv
        # gives the spelling found in the coinbase.
        assert kind == "tag"
        assert value in SHIPPED.pool(a.slug).tags
        assert a.tag.lower() == value.lower() and a.tag_slug == a.slug
        assert a.matched_by == ("address" if a.address_slug else "tag")


def test_real_blocks_cover_both_kinds_of_evidence() -> None:
    # 5 blocks have no pool in INDEX.csv (2009-2013 solo miners, the testnet block); 3 are
    # "addr:" rows, where no tag matched (300025, 383616, 713126); of the 21 "tag:" rows, 15 pay
    # a first output that pools-v2.json lists for the same pool (looked up by hand in the file:
    # 370661, 481815, 481829, 482683, 514485, 514492, 540107, 574200, 702861, 831328/29/32/33/34,
    # 831335) and 6 do not (227836, 363703, 426884, 830000, 831330, 831331).
    got = [SHIPPED.attribute(s, a) for _, (_, s, a) in REAL]
    assert sum(1 for a in got if a.address_slug and a.tag_slug) == 15
    assert sum(1 for a in got if a.address_slug and not a.tag_slug) == 3
    assert sum(1 for a in got if a.tag_slug and not a.address_slug) == 6
    assert sum(1 for a in got if a.slug == "unknown") == 5


def test_slugs_as_mempool_space_makes_them() -> None:
    # The pool pages of mempool.space: /mining/pool/foundryusa, /antpool, /f2pool, /btccom,
    # /binancepool, /braiinspool, /ghashio, /luxor (name with every non-alphanumeric removed).
    for name, slug in [("Foundry USA", "foundryusa"), ("AntPool", "antpool"), ("F2Pool", "f2pool"),
                       ("BTC.com", "btccom"), ("Binance Pool", "binancepool"),
                       ("Braiins Pool", "braiinspool"), ("GHash.IO", "ghashio"), ("Luxor", "luxor")]:
        assert pool_slug(name) == slug
        assert SHIPPED.pool(slug) is not None and SHIPPED.pool(slug).name == name
    # only ASCII letters and digits survive ('ſ' would pass a case-insensitive [a-z] in Python):
    # "Poſt Pool ®" keeps P, o, t, P, o, o, l
    assert pool_slug("Poſt Pool ®") == "potpool"


def test_two_entries_share_a_slug() -> None:
    # "Bitcoin India" (id 81, tag /Bitcoin-India/) and "BitcoinIndia" (id 135, one address) both
    # slug to bitcoinindia, as on mempool.space; pool_id keeps them apart.
    by_address = SHIPPED.attribute(b"", ["1AZ6BkCo4zgTuuLpRStJH8iNsehXTMp456"])
    by_tag = SHIPPED.attribute(b"\x03abc/Bitcoin-India/", [])
    assert (by_address.slug, by_address.pool_id) == ("bitcoinindia", 135)
    assert (by_tag.slug, by_tag.pool_id) == ("bitcoinindia", 81)
    assert SHIPPED.pool("bitcoinindia").pool_id == 81   # the first in list order


def test_version_is_the_content_hash() -> None:
    digest = hashlib.sha256(DEFAULT_POOL_LIST.read_bytes()).hexdigest()
    assert SHIPPED.version == "pools-v2@" + digest[:12] == "pools-v2@e121f60fbd35"
    assert len(SHIPPED) == 168


# ---- hand-made lists ------------------------------------------------------------------------------

def _list(tmp_path: Path, entries: list[dict[str, object]], name: str = "pools.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(entries))
    return path


# two P2PKH addresses of Core's key_io vectors, used as payout addresses of made-up pools
ADDR_A = "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo"
ADDR_B = "1FjL87pn8ky6Vbavd1ZHeChRXtoxwRGCRd"
LIST = [
    {"id": 1, "name": "Alpha Pool", "addresses": [], "tags": ["/alpha/"], "link": ""},
    {"id": 2, "name": "Beta.Pool", "addresses": [ADDR_B], "tags": ["/beta/"], "link": ""},
    {"id": 3, "name": "Gamma", "addresses": [ADDR_A], "tags": ["gamma"], "link": ""},
]


def test_address_beats_tag_and_the_conflict_is_kept(tmp_path: Path) -> None:
    pools = load_pool_list(_list(tmp_path, LIST))
    # tag says Alpha (listed first), the payout address says Beta: the address decides
    a = pools.attribute(b"\x03\x01\x02\x03/alpha/", [ADDR_B])
    assert (a.slug, a.name, a.matched_by, a.pool_id) == ("betapool", "Beta.Pool", "address", 2)
    assert (a.tag_slug, a.address_slug, a.conflict) == ("alphapool", "betapool", True)
    assert (a.tag, a.address) == ("/alpha/", ADDR_B)


def test_agreeing_evidence_is_no_conflict(tmp_path: Path) -> None:
    pools = load_pool_list(_list(tmp_path, LIST))
    a = pools.attribute(b"/beta/", ["3BZECeAH8gSKkjrTx8PwMrNQBLG18yHpvf", ADDR_B])
    assert (a.slug, a.matched_by, a.tag_slug, a.address_slug, a.conflict) == (
        "betapool", "address", "betapool", "betapool", False)


def test_two_pools_addresses_are_a_conflict(tmp_path: Path) -> None:
    # A coinbase paying Gamma (output 0) and Beta (output 1): the pool listed first (Beta, id 2)
    # wins, as mempool walks pools in list order; the disagreement is recorded.
    pools = load_pool_list(_list(tmp_path, LIST))
    a = pools.attribute(b"", [ADDR_A, ADDR_B])
    assert (a.slug, a.address, a.conflict) == ("betapool", ADDR_B, True)


def test_tag_rules(tmp_path: Path) -> None:
    pools = load_pool_list(_list(tmp_path, LIST))
    # case-insensitive, anywhere in the raw scriptSig (BIP34 height bytes and all)
    a = pools.attribute(bytes.fromhex("03a08601") + b"Mined by GAMMA\x00\xff", [])
    assert (a.slug, a.matched_by, a.tag, a.conflict) == ("gamma", "tag", "gamma", False)
    # two pools' tags match: the first in list order wins, and that is no conflict
    assert pools.attribute(b"/beta/ gamma", []).slug == "betapool"
    # an address of an unlisted owner does not stop the tag from deciding
    assert pools.attribute(b"/alpha/", ["3BZECeAH8gSKkjrTx8PwMrNQBLG18yHpvf"]).matched_by == "tag"


def test_unknown(tmp_path: Path) -> None:
    pools = load_pool_list(_list(tmp_path, LIST))
    a = pools.attribute(b"\x03\x01\x02\x03 solo miner", ["3BZECeAH8gSKkjrTx8PwMrNQBLG18yHpvf"])
    assert (a.slug, a.name, a.matched_by, a.tag_slug, a.address_slug, a.conflict, a.pool_id) == (
        "unknown", "Unknown", None, None, None, False, None)
    assert a.list_version == pools.version


def test_tags_are_regular_expressions_over_latin1_text() -> None:
    # mempool builds `new RegExp(tag, 'i')` and matches it against the scriptSig decoded one byte
    # per character. So "/BTC.COM/" also matches "/BTC-COM/" ('.' is any character), and the
    # list's non-ASCII tags ("七彩神仙鱼", F2Pool) never match UTF-8 bytes: as on mempool.space.
    assert SHIPPED.attribute(b"\x03\x00\x00\x00/BTC-COM/", []).slug == "btccom"
    assert SHIPPED.attribute("七彩神仙鱼".encode(), []).slug == "unknown"


# ---- a newer list -------------------------------------------------------------------------------

def test_newer_list_changes_only_what_it_changes(tmp_path: Path) -> None:
    entries = json.loads(DEFAULT_POOL_LIST.read_text())
    antpool = next(e for e in entries if e["name"] == "AntPool")
    luxor = next(e for e in entries if e["name"] == "Luxor")
    # 1. AntPool's list gains 37jKPSmbEGwgfacCr2nayn1wTaqMAbA94Z, the first payout of blocks
    #    830000 and 831330 (tag-matched "Mined by AntPool" so far): they become address matches.
    antpool["addresses"].append("37jKPSmbEGwgfacCr2nayn1wTaqMAbA94Z")
    # 2. Luxor loses its tag "Luxor Tech": block 831335 stays Luxor by its listed address
    #    32BfKjhByDSxx3BM5vUkQ3NQq9csZR6nt6 but no tag agrees any more ("/LUXOR/" needs slashes).
    luxor["tags"].remove("Luxor Tech")
    new = load_pool_list(_list(tmp_path, entries, "pools-v2.json"))
    assert new.version != SHIPPED.version
    changes = diff_attributions(SHIPPED, new, [c for _, c in REAL])
    assert [h for h, _, _ in changes] == [830000, 831330, 831335]
    for h, old, nxt in changes[:2]:
        assert (old.slug, old.matched_by) == ("antpool", "tag")
        assert (nxt.slug, nxt.matched_by, nxt.address) == ("antpool", "address", "37jKPSmbEGwgfacCr2nayn1wTaqMAbA94Z")
        assert nxt.list_version == new.version
    _, old, nxt = changes[2]
    assert (old.slug, old.tag_slug, nxt.slug, nxt.tag_slug) == ("luxor", "luxor", "luxor", None)


def test_new_pool_copying_a_tag_takes_only_tag_matched_blocks(tmp_path: Path) -> None:
    # A new pool listed first whose tag is "Mined by AntPool" (small pools do mine on AntPool's
    # templates). That text is in the coinbases of 482683, 514492, 830000 and 831330 (not in
    # 363703, which says "/AntPool/"). 482683 and 514492 pay addresses AntPool lists, so they
    # stay AntPool with the disagreement recorded; 830000 and 831330 only had the tag, so they
    # move to the new pool.
    entries = json.loads(DEFAULT_POOL_LIST.read_text())
    entries.insert(0, {"id": 999, "name": "Copy Cat", "addresses": [], "tags": ["Mined by AntPool"], "link": ""})
    new = load_pool_list(_list(tmp_path, entries))
    changes = {h: (old, nxt) for h, old, nxt in diff_attributions(SHIPPED, new, [c for _, c in REAL])}
    assert sorted(changes) == [482683, 514492, 830000, 831330]
    for h in (482683, 514492):
        old, nxt = changes[h]
        assert (old.slug, old.conflict) == ("antpool", False)
        assert (nxt.slug, nxt.matched_by, nxt.tag_slug, nxt.conflict) == ("antpool", "address", "copycat", True)
    for h in (830000, 831330):
        old, nxt = changes[h]
        assert (old.slug, old.matched_by) == ("antpool", "tag")
        assert (nxt.slug, nxt.name, nxt.matched_by, nxt.pool_id, nxt.conflict) == (
            "copycat", "Copy Cat", "tag", 999, False)


def test_reformatted_list_changes_version_not_attributions(tmp_path: Path) -> None:
    entries = json.loads(DEFAULT_POOL_LIST.read_text())
    new = load_pool_list(_list(tmp_path, entries))   # same content, compact JSON
    assert new.version != SHIPPED.version
    assert diff_attributions(SHIPPED, new, [c for _, c in REAL]) == []


# ---- bad files --------------------------------------------------------------------------------

@pytest.mark.parametrize("content,message", [
    (b"{not json", "invalid JSON"),
    (b'{"coinbase_tags": {}, "payout_addresses": {}}', "older pools.json format"),
    (b'[{"id": 1, "name": "X", "addresses": [], "tags": ["(unclosed"]}]', "not a valid regular expression"),
    (b'[{"id": 1, "name": "X"}, {"id": 1, "name": "Y"}]', "repeats id 1"),
    (b'[{"id": "1", "name": "X"}]', "integer id"),
    (b'[{"id": 1, "name": "X", "addresses": "1abc"}]', "list of strings"),
])
def test_bad_list_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message) as e:
        load_pool_list(path)
    assert e.value.hint


def test_missing_list_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read pool list") as e:
        load_pool_list(tmp_path / "nope.json")
    assert e.value.hint
    assert parse_pool_list(b"[]").attribute(b"/slush/", []).slug == "unknown"


def test_shipped_tags_use_only_syntax_both_regex_engines_share() -> None:
    # docs/pools.md promises that Python's re and JavaScript's RegExp agree on the shipped list:
    # its tags are literal text and '.', except 7pool's one '$', which no text can match (an end
    # anchor followed by more pattern). A newer list with other syntax must be reviewed.
    special = set("\\()[]{}^$*+?|")
    odd = [(p.name, t) for p in SHIPPED.pools for t in p.tags if special & set(t)]
    assert odd == [("7pool", "/$Mined by 7pool.com/")]
    assert SHIPPED.attribute(b"/$Mined by 7pool.com/", []).slug == "unknown"
