"""Every network parameter minerwatch uses, in one table."""

from __future__ import annotations

from dataclasses import dataclass

from minerwatch.errors import UsageError


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    magic: bytes                 # 4 bytes that frame every record in blk*.dat and every P2P message
    genesis_hash: str            # display order (as RPC prints it)
    rpc_port: int
    datadir_subdir: str          # where Bitcoin Core keeps this network under its datadir
    p2pkh_prefix: int            # base58check version byte
    p2sh_prefix: int
    bech32_hrp: str
    halving_interval_blocks: int
    retargets: bool              # False: difficulty never changes (regtest)
    pow_limit_bits: int
    simulated: bool = False      # True only for minerwatch's own demo chain
    initial_subsidy_sat: int = 5_000_000_000   # 50 BTC on every Bitcoin network
    # First height whose coinbase must carry its height (BIP 34), so that no coinbase can repeat an
    # earlier one's txid from there on (Core's chainparams); None: not enforced, check every block.
    bip34_height: int | None = None


NETWORKS: dict[str, Network] = {
    n.name: n
    for n in (
        Network("mainnet", bytes.fromhex("f9beb4d9"),
                "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
                8332, "", 0x00, 0x05, "bc", 210_000, True, 0x1D00FFFF, bip34_height=227_931),
        Network("testnet3", bytes.fromhex("0b110907"),
                "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
                18332, "testnet3", 0x6F, 0xC4, "tb", 210_000, True, 0x1D00FFFF, bip34_height=21_111),
        Network("testnet4", bytes.fromhex("1c163f28"),
                "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
                48332, "testnet4", 0x6F, 0xC4, "tb", 210_000, True, 0x1D00FFFF, bip34_height=1),
        Network("signet", bytes.fromhex("0a03cf40"),
                "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
                38332, "signet", 0x6F, 0xC4, "tb", 210_000, True, 0x1E0377AE, bip34_height=1),
        Network("regtest", bytes.fromhex("fabfb5da"),
                "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
                18443, "regtest", 0x6F, 0xC4, "bcrt", 150, False, 0x207FFFFF),
        # minerwatch's simulated demo chain: a magic and genesis of its own so that its blocks can
        # never be mistaken for (or mixed into) a real chain. Economics follow mainnet.
        Network("simnet", b"mwsm",
                "a25dbc666931d73a48522d02cf6b333759bdc922e8ce012b35de359f740a86ed",
                18999, "simnet", 0x3F, 0x7D, "sim", 210_000, True, 0x1D00FFFF, simulated=True,
                initial_subsidy_sat=312_500_000),
        # The rehearsal chain (benchmarks/rehearsal.py): mainnet's length, economics (50 BTC, halvings
        # every 210,000 blocks) and difficulty path, written without mining, so a network of its own.
        Network("rehearsal", b"mwrh",
                "220322bfb1fe231882408b0ca55d86c0770851fd8e8ae3dbb895ea972c235a7a",
                18998, "rehearsal", 0x3C, 0x7A, "rh", 210_000, True, 0x1D00FFFF, simulated=True,
                bip34_height=227_931),
    )
}

CHAIN_NETWORKS = ("mainnet", "testnet3", "testnet4", "signet", "regtest")


def get_network(name: str) -> Network:
    """The network called `name`; a UsageError listing the choices otherwise."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise UsageError(
            f"unknown network {name!r}",
            "choose one of: " + ", ".join(NETWORKS),
        ) from None


def network_by_magic(magic: bytes) -> Network | None:
    """The network whose blk-file magic is `magic`, if any."""
    for n in NETWORKS.values():
        if n.magic == magic:
            return n
    return None
