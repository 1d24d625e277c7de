"""Addresses against published vectors (BIP173, BIP350, Bitcoin Core's base58 and key_io data) and
against real blocks, checked with facts that do not come from minerwatch's own code."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from minerwatch.chain.address import (
    base58_decode,
    base58_encode,
    bech32_decode,
    decode_address,
    encode_address,
    owner_label,
)
from minerwatch.chain.block import parse_block
from minerwatch.chain.script import ScriptType, classify
from minerwatch.errors import UsageError
from minerwatch.networks import NETWORKS

MAIN = NETWORKS["mainnet"]
TEST3 = NETWORKS["testnet3"]
BLOCKS = Path(__file__).parent / "data" / "blocks"
INDEX = list(csv.DictReader(open(BLOCKS / "INDEX.csv")))
BECH32, BECH32M = 1, 0x2BC830A3

# ---- base58: Bitcoin Core src/test/data/base58_encode_decode.json ----------------------------

BASE58_VECTORS = [
    ("", ""),
    ("61", "2g"),
    ("626262", "a3gV"),
    ("636363", "aPEr"),
    ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
    ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
    ("516b6fcd0f", "ABnLTmg"),
    ("bf4f89001e670274dd", "3SEo3LWLoPntC"),
    ("572e4794", "3EFU7m"),
    ("ecac89cad93923c02321", "EJDM8drfXA6uyA"),
    ("10c8511e", "Rt5zm"),
    ("00000000000000000000", "1111111111"),
    ("000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
     "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"),
    ("271F359E", "zzzzy"),
    ("271F359F", "zzzzz"),
    ("271F35A0", "211111"),
    ("271F35A1", "211112"),
]


@pytest.mark.parametrize("hex_data,text", BASE58_VECTORS)
def test_base58_vectors(hex_data: str, text: str) -> None:
    assert base58_encode(bytes.fromhex(hex_data)) == text
    assert base58_decode(text) == bytes.fromhex(hex_data)


# ---- bech32 / bech32m checksums: BIP173 and BIP350 appendices ---------------------------------

VALID_BECH32 = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
VALID_BECH32M = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
INVALID_BECH32 = [
    " 1nwldj5", "\x7f1axkwrx", "\x801eym55h",
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    "pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "de1lg7wt\xff", "A1G7SGD8",
    "10a06t8", "1qzzfhee",
]
INVALID_BECH32M = [
    " 1xj0phk", "\x7f1g6xzxy", "\x801vctc34",
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m", "1qyrz8wqd2c9m", "y1b0jsk6g", "lt1igcx5c0", "in1muywd", "mm1crxm3i", "au1s5cgom",
    "M1VUXWEZ", "16plkw9", "1p2gdwpf",
]


@pytest.mark.parametrize("text", VALID_BECH32 + VALID_BECH32M)
def test_valid_checksums(text: str) -> None:
    decoded = bech32_decode(text)
    assert decoded is not None
    assert decoded[2] == (BECH32 if text in VALID_BECH32 else BECH32M)
    # flipping one bit of the first data character must break the checksum (BIP173's own check)
    pos = text.rfind("1")
    assert bech32_decode(text[:pos + 1] + chr(ord(text[pos + 1]) ^ 1) + text[pos + 2:]) is None


@pytest.mark.parametrize("text", INVALID_BECH32 + INVALID_BECH32M)
def test_invalid_checksums(text: str) -> None:
    decoded = bech32_decode(text)
    expected = BECH32 if text in INVALID_BECH32 else BECH32M
    assert decoded is None or decoded[2] != expected


# ---- segwit addresses: BIP350's list (which supersedes BIP173's for versions 1..16) ----------

VALID_SEGWIT = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
     "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
    ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
     "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
     "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
     "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
]

INVALID_SEGWIT = [
    # BIP350
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",   # invalid hrp
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",   # bech32 instead of bech32m
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",   # bech32 instead of bech32m
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",   # bech32 instead of bech32m
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",                       # bech32m instead of bech32
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",   # bech32m instead of bech32
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",   # invalid checksum character
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",   # invalid witness version
    "bc1pw5dgrnzv",                                                      # 1-byte program
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # 41-byte program
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",                             # 16-byte v0 program
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",   # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", # more than 4 padding bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",   # non-zero padding
    "bc1gmk9yu",                                                         # empty data section
    # BIP173
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",                       # invalid hrp
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",                       # invalid checksum
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",                       # invalid witness version
    "bc1rw5uspcuh",                                                      # invalid program length
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",   # mixed case
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",                            # zero padding > 4 bits
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",   # non-zero padding
    # BIP173 listed these version 1+ addresses as valid with a bech32 checksum; BIP350 makes
    # them invalid (versions 1..16 need bech32m).
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
    "BC1SW50QA3JX3S",
    "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj",
]


@pytest.mark.parametrize("address,script_hex", VALID_SEGWIT)
def test_valid_segwit_addresses(address: str, script_hex: str) -> None:
    network = MAIN if address.lower().startswith("bc1") else TEST3
    script_type, payload = classify(bytes.fromhex(script_hex))
    assert encode_address(script_type, payload, network) == address.lower()
    assert decode_address(address, network) == (script_type, payload)


@pytest.mark.parametrize("address", INVALID_SEGWIT)
def test_invalid_segwit_addresses(address: str) -> None:
    for network in (MAIN, TEST3):
        with pytest.raises(UsageError) as e:
            decode_address(address, network)
        assert e.value.hint


def test_unencodable_witness_scripts() -> None:
    # BIP350's "invalid for encoding" list: v0 with 21 bytes, v1 with 1 byte, v16 with 41 bytes
    # (v17 has no opcode, so it cannot occur in a script). None of them has an address.
    for script in (bytes([0, 21]) + bytes(21), bytes([0x51, 1, 0]), bytes([0x60, 41]) + bytes(41)):
        assert encode_address(*classify(script), MAIN) is None


# ---- Bitcoin Core's src/test/data/key_io_valid.json (addresses of every network) -------------

KEY_IO = [
    ("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac", "mainnet"),
    ("36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", "a914373b819a068f32b7a6b38b6b38729647cfde01c287", "mainnet"),
    ("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", "76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac", "testnet4"),
    ("2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187", "testnet4"),
    ("mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg", "76a914b4110ba93ac54afc14da3bdd19614774a2d55d2988ac", "signet"),
    ("2N1r7aC69VHeE7yQJPDLi9T1PYq4wnwvjuT", "a9145e5a35ab44b3efaea5129ba22b88ba3e2976614587", "signet"),
    ("n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ", "76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac", "regtest"),
    ("2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA", "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87", "regtest"),
    ("bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c", "mainnet"),
    ("bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7",
     "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc", "mainnet"),
    ("bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu",
     "51203c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54c75", "mainnet"),
    ("bc1z2rksukkjr8", "520250ed", "mainnet"),
    ("tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54", "0014c0ef1202759fff90ff19128936814321ee59e111", "testnet4"),
    ("tb1p35n52jy6xkm4wd905tdy8qtagrn73kqdz73xe4zxpvq9t3fp50aqk3s6gz",
     "51208d2745489a35b75734afa2da43817d40e7e8d80d17a26cd4460b0055c521a3fa", "testnet4"),
    ("tb1rgv5m6uvdk3kc7qsuz0c79v88ycr5w4wa", "53104329bd718db46d8f021c13f1e2b0e726", "testnet4"),
    ("tb1q3vya2h5435jkugq2few7dmktlrwq4ejmfaw7kr", "00148b09d55e958d256e200a4e5de6eecbf8dc0ae65b", "signet"),
    ("tb1pae5um27ahn8n73pgexe3kcwlp8dhswpn684h2k2w6t9a7w3eq65qephd5y",
     "5120ee69cdabddbccf3f4428c9b31b61df09db783833d1eb75594ed2cbdf3a3906a8", "signet"),
    ("bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9", "00146f58bac9506f9bfb821d62e69330410bb56f0085", "regtest"),
    ("bcrt1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqga4uhv",
     "0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2", "regtest"),
    ("bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh",
     "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac", "regtest"),
    ("bcrt1sx6p8njlx7h9mc2agz4yg82dzne23050ncq72cneeecez2pst8mahn8xecsf8g6hzx94420",
     "6028368279cbe6f5cbbc2ba8154883a9a29e5517d1f3c03cac4f39ce3225060b3efb799cd9c412746ae2", "regtest"),
]


@pytest.mark.parametrize("address,script_hex,net", KEY_IO)
def test_core_key_io_vectors(address: str, script_hex: str, net: str) -> None:
    network = NETWORKS[net]
    script_type, payload = classify(bytes.fromhex(script_hex))
    assert encode_address(script_type, payload, network) == address
    assert decode_address(address, network) == (script_type, payload)
    if address[0] in "bt":  # bech32: Core also accepts the all-uppercase form ("tryCaseFlip")
        assert decode_address(address.upper(), network) == (script_type, payload)


def test_network_prefixes() -> None:
    # One 20-byte hash on each network: mainnet P2PKH starts with 1, P2SH with 3, testnet-family
    # P2PKH with m or n, P2SH with 2; witness v0 uses hrp bc / tb / bcrt (BIP173, Core chainparams).
    h = bytes(range(20))
    assert encode_address(ScriptType.P2PKH, h, MAIN)[0] == "1"
    assert encode_address(ScriptType.P2SH, h, MAIN)[0] == "3"
    for name in ("testnet3", "testnet4", "signet", "regtest"):
        assert encode_address(ScriptType.P2PKH, h, NETWORKS[name])[0] in "mn"
        assert encode_address(ScriptType.P2SH, h, NETWORKS[name])[0] == "2"
    assert encode_address(ScriptType.P2WPKH, h, MAIN).startswith("bc1q")
    assert encode_address(ScriptType.P2WPKH, h, NETWORKS["signet"]).startswith("tb1q")
    assert encode_address(ScriptType.P2WPKH, h, NETWORKS["regtest"]).startswith("bcrt1q")


# ---- errors a user sees ------------------------------------------------------------------------

def test_other_network_is_named() -> None:
    with pytest.raises(UsageError, match="belongs to mainnet, not testnet3"):
        decode_address("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", TEST3)
    with pytest.raises(UsageError, match="belongs to regtest, not mainnet") as e:
        decode_address("bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9", MAIN)
    assert "--network regtest" in e.value.hint
    # tb1 is shared by testnet3, testnet4 and signet; all of them are named
    with pytest.raises(UsageError, match="testnet3 / testnet4 / signet, not regtest"):
        decode_address("tb1q3vya2h5435jkugq2few7dmktlrwq4ejmfaw7kr", NETWORKS["regtest"])
    with pytest.raises(UsageError, match="not mainnet"):
        decode_address("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", MAIN)


def test_bad_checksums() -> None:
    # last character changed: o -> p (base58), v -> w (bech32)
    with pytest.raises(UsageError, match="checksum"):
        decode_address("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mp", MAIN)
    with pytest.raises(UsageError, match="checksum"):
        decode_address("bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhw", MAIN)
    with pytest.raises(UsageError, match="not base58"):
        decode_address("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN20o", MAIN)  # '0' is not in base58


# ---- real blocks ---------------------------------------------------------------------------------

def _coinbase_outputs(file: str) -> list[tuple[int, bytes]]:
    block = parse_block((BLOCKS / file).read_bytes())
    return [(t, p) for tx, t, p in zip(block.out_tx, block.out_type, block.out_payload) if tx == 0]


def test_block_1_pays_a_bare_key_whose_hash_is_the_well_known_address() -> None:
    # Block 1's coinbase pays 50 BTC to a bare public key (P2PK), the one every explorer shows
    # for it. Its HASH160, computed here with hashlib, is 119b098e…6f26, the key hash of
    # 12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX, the address explorers list as block 1's recipient.
    # A look-alike that circulates, 12c6DSiU4Rq3P4ZxziKxzrGq8P7VqjJqnW, fails its checksum.
    pubkey = bytes.fromhex(
        "0496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e6"
        "2294721166bf621e73a82cbf2342c858ee"
    )
    [(script_type, payload)] = _coinbase_outputs("mainnet-1.bin")
    assert (script_type, payload) == (ScriptType.P2PK, pubkey)
    assert encode_address(script_type, payload, MAIN) is None
    assert owner_label(script_type, payload, MAIN) == "pk:" + pubkey.hex()
    h160 = hashlib.new("ripemd160", hashlib.sha256(pubkey).digest()).digest()
    assert h160.hex() == "119b098e2e980a229e139a9ed01a469e518e6f26"
    assert encode_address(ScriptType.P2PKH, h160, MAIN) == "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX"
    assert decode_address("12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX", MAIN) == (ScriptType.P2PKH, h160)
    with pytest.raises(UsageError, match="checksum"):
        decode_address("12c6DSiU4Rq3P4ZxziKxzrGq8P7VqjJqnW", MAIN)


# Payout addresses that the independently kept pools-v2.json (mempool/mining-pools) lists for the
# pool INDEX.csv names for the block, or that INDEX.csv itself gives as the matching address. An
# encoder bug could not produce these 34- to 42-character strings by chance.
LISTED_PAYOUTS = {
    "mainnet-300025.bin": "1KFHE7w8BhaENAswwryaoccDb6qcT6DbYY",           # F2Pool (INDEX: addr)
    "mainnet-370661.bin": "1CK6KHY6MHgYvmRQ4PAafKYDrg1ejbH1cE",           # Braiins Pool
    "mainnet-383616.bin": "1CjPR7Z5ZSyWk6WtXvSFgkptmpoi4UM9BC",           # GHash.IO (INDEX: addr)
    "mainnet-540107.bin": "bc1qjl8uwezzlech723lpnyuza0h2cdkvxvh54v3dn",   # BTC.com, P2WPKH
    "mainnet-702861.bin": "bc1qx9t2l3pyny2spqpqlye8svce70nppwtaxwdrp4",   # Binance Pool, P2WPKH
    "mainnet-713126.bin": "1GNgwA8JfG7Kc8akJ8opdNWJUihqUztfPe",           # Poolin (INDEX: addr)
    "mainnet-831328.bin": "bc1qxhmdufsvnuaaaer4ynz88fspdsxq2h9e9cetdj",   # Foundry USA, P2WPKH
    "mainnet-831335.bin": "32BfKjhByDSxx3BM5vUkQ3NQq9csZR6nt6",           # Luxor, P2SH
}


@pytest.mark.parametrize("file,address", sorted(LISTED_PAYOUTS.items()))
def test_real_coinbase_pays_listed_address(file: str, address: str) -> None:
    pools = json.loads((Path(__file__).parents[1] / "src/minerwatch/data/pools-v2.json").read_text())
    row = next(r for r in INDEX if r["file"] == file)
    listed = next(p for p in pools if p["name"] == row["pool_per_mempool_pools_v2"])["addresses"]
    assert address in listed or row["pool_matched_by"] == "addr:" + address
    addresses = [encode_address(t, p, MAIN) for t, p in _coinbase_outputs(file)]
    assert address in addresses
    assert decode_address(address, MAIN) in _coinbase_outputs(file)


def test_every_real_output_round_trips() -> None:
    # Outputs of the 29 real blocks (every 5th of their 145,549, to keep the suite quick): each
    # one with an address decodes back to its own script type and payload, and every output of
    # a type that has an address gets one.
    seen: set[int] = set()
    for row in INDEX:
        network = NETWORKS[row["network"]]
        block = parse_block((BLOCKS / row["file"]).read_bytes())
        for t, p in list(zip(block.out_type, block.out_payload))[::5]:
            address = encode_address(t, p, network)
            if t in (ScriptType.P2PKH, ScriptType.P2SH, ScriptType.P2WPKH, ScriptType.P2WSH, ScriptType.P2TR):
                assert address is not None
            if address is not None:
                seen.add(t)
                assert decode_address(address, network) == (t, p)
    # the sample covers every address type that mainnet used by 2024
    assert {ScriptType.P2PKH, ScriptType.P2SH, ScriptType.P2WPKH, ScriptType.P2WSH, ScriptType.P2TR} <= seen


def test_scripts_without_address() -> None:
    # Segwit coinbases carry an OP_RETURN witness commitment (BIP141): no address, no owner.
    outputs = _coinbase_outputs("mainnet-830000.bin")
    op_returns = [(t, p) for t, p in outputs if t == ScriptType.OP_RETURN]
    assert op_returns
    for t, p in op_returns:
        assert encode_address(t, p, MAIN) is None and owner_label(t, p, MAIN) is None
    multisig = classify(bytes.fromhex("5121" + "02" + "11" * 32 + "51ae"))
    assert multisig[0] == ScriptType.MULTISIG and encode_address(*multisig, MAIN) is None
