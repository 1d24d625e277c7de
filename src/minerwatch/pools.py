"""Mining-pool attribution from mempool.space's pool list (pools-v2.json).

A block is attributed by its coinbase payout addresses first (across all pools), then by its
coinbase tag, otherwise "unknown". The tag and the address evidence are both kept: when they name
different pools, the attribution says so (`conflict`) instead of hiding it. Every attribution
carries the version of the list it came from, so that a figure can be reproduced later.
See docs/pools.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from minerwatch.errors import UsageError

DEFAULT_POOL_LIST = Path(__file__).parent / "data" / "pools-v2.json"
UNKNOWN_SLUG = "unknown"
UNKNOWN_NAME = "Unknown"


def pool_slug(name: str) -> str:
    """mempool.space's slug: the name with everything but ASCII letters and digits removed,
    lower-cased ("Foundry USA" -> "foundryusa", "BTC.com" -> "btccom")."""
    # mempool: name.replace(/[^a-z0-9]/gi, '').toLowerCase(). An explicit ASCII test, because
    # Python's re with IGNORECASE would keep 'ſ' and the Kelvin sign as letters.
    return "".join(c for c in name if c.isascii() and c.isalnum()).lower()


def coinbase_text(coinbase_script: bytes) -> str:
    """The coinbase scriptSig as mempool matches tags against it: one character per byte
    (latin-1), nothing dropped (mempool's hex2ascii)."""
    return coinbase_script.decode("latin-1")


@dataclass(frozen=True, slots=True)
class Pool:
    pool_id: int                 # the list's "id" (mempool's unique_id): stable across renames
    name: str
    slug: str
    link: str
    addresses: tuple[str, ...]
    tags: tuple[str, ...]        # regular expressions, matched case-insensitively


@dataclass(frozen=True, slots=True)
class Attribution:
    slug: str                    # "unknown" when nothing matched
    name: str
    matched_by: str | None       # "address" | "tag" | None (unknown)
    tag_slug: str | None         # the pool the coinbase tag names (first in list order), if any
    address_slug: str | None     # the pool the payout addresses name (first in list order), if any
    conflict: bool               # the evidence names more than one pool (tag vs address, or two addresses' pools)
    pool_id: int | None = None   # the list's id of the attributed pool
    tag: str | None = None       # the tag pattern that matched (for tag_slug)
    address: str | None = None   # the payout address that matched (for address_slug)
    list_version: str = ""       # PoolList.version this came from

    def same_result(self, other: Attribution) -> bool:
        """True when two attributions agree in everything but the list version they came from."""
        return _result_key(self) == _result_key(other)


def _result_key(a: Attribution) -> tuple[object, ...]:
    return (a.slug, a.name, a.matched_by, a.tag_slug, a.address_slug, a.conflict, a.pool_id, a.tag, a.address)


class PoolList:
    """A loaded pool list: lookups by address and by tag, in the list's order."""

    def __init__(self, pools: tuple[Pool, ...], version: str, source: str) -> None:
        self.pools = pools
        self.version = version
        self.source = source
        self._rank = {p.pool_id: i for i, p in enumerate(pools)}
        self._by_slug: dict[str, Pool] = {}
        self._by_address: dict[str, Pool] = {}
        for p in pools:
            self._by_slug.setdefault(p.slug, p)
            for a in p.addresses:
                # mempool walks pools in list order, so the first pool listing an address wins
                self._by_address.setdefault(a, p)
        self._tag_regexes: list[tuple[re.Pattern[str], str, Pool]] = []
        for p in pools:
            for t in p.tags:
                try:
                    rx = re.compile(t, re.IGNORECASE)
                except re.error as e:
                    raise UsageError(
                        f"{source}: pool {p.name!r} has a tag that is not a valid regular expression: {t!r} ({e})",
                        "fix or remove that tag in the list file",
                    ) from e
                self._tag_regexes.append((rx, t, p))

    def __len__(self) -> int:
        return len(self.pools)

    def pool(self, slug: str) -> Pool | None:
        """The (first) pool with this slug, if any."""
        return self._by_slug.get(slug)

    def match_address(self, payout_addresses: Iterable[str]) -> tuple[Pool, str] | None:
        """The first pool in list order that lists any of the addresses, with that address."""
        best: tuple[int, Pool, str] | None = None
        for a in payout_addresses:
            p = self._by_address.get(a)
            if p is not None:
                rank = self._rank[p.pool_id]
                if best is None or rank < best[0]:
                    best = (rank, p, a)
        return None if best is None else (best[1], best[2])

    def match_tag(self, coinbase_script: bytes) -> tuple[Pool, str] | None:
        """The first pool in list order one of whose tags matches the coinbase, with that tag."""
        text = coinbase_text(coinbase_script)
        for rx, t, p in self._tag_regexes:
            if rx.search(text):
                return p, t
        return None

    def attribute(self, coinbase_script: bytes, payout_addresses: list[str]) -> Attribution:
        """The pool that mined a block: payout addresses first, then the coinbase tag."""
        by_address = self.match_address(payout_addresses)
        by_tag = self.match_tag(coinbase_script)
        tag_slug = by_tag[0].slug if by_tag else None
        address_slug = by_address[0].slug if by_address else None
        address_slugs = {self._by_address[a].slug for a in payout_addresses if a in self._by_address}
        conflict = len(address_slugs) > 1 or (
            tag_slug is not None and address_slug is not None and tag_slug != address_slug
        )
        decided = by_address or by_tag
        return Attribution(
            slug=decided[0].slug if decided else UNKNOWN_SLUG,
            name=decided[0].name if decided else UNKNOWN_NAME,
            matched_by="address" if by_address else "tag" if by_tag else None,
            tag_slug=tag_slug,
            address_slug=address_slug,
            conflict=conflict,
            pool_id=decided[0].pool_id if decided else None,
            tag=by_tag[1] if by_tag else None,
            address=by_address[1] if by_address else None,
            list_version=self.version,
        )


def _fail(source: str, what: str) -> UsageError:
    return UsageError(
        f"{source}: not a pools-v2.json list: {what}",
        "use mempool's pools-v2.json (a JSON array of {id, name, addresses, tags, link})",
    )


def parse_pool_list(data: bytes, source: str = "<bytes>") -> PoolList:
    """A PoolList from the bytes of a pools-v2.json file; UsageError naming what is wrong."""
    try:
        entries = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _fail(source, f"invalid JSON ({e})") from e
    if isinstance(entries, dict):
        raise _fail(source, "an object (the older pools.json format with coinbase_tags/payout_addresses)")
    if not isinstance(entries, list):
        raise _fail(source, "expected a JSON array")
    pools = []
    seen_ids: set[int] = set()
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise _fail(source, f"entry {i} is not an object")
        pid, name = e.get("id"), e.get("name")
        addresses, tags = e.get("addresses", []), e.get("tags", [])
        if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(name, str) or not name:
            raise _fail(source, f"entry {i} needs an integer id and a name")
        if pid in seen_ids:
            raise _fail(source, f"entry {i} ({name}) repeats id {pid}")
        seen_ids.add(pid)
        if not (isinstance(addresses, list) and all(isinstance(a, str) for a in addresses)):
            raise _fail(source, f"entry {i} ({name}): addresses must be a list of strings")
        if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise _fail(source, f"entry {i} ({name}): tags must be a list of strings")
        pools.append(Pool(pid, name, pool_slug(name), str(e.get("link", "")), tuple(addresses), tuple(tags)))
    version = "pools-v2@" + sha256(data).hexdigest()[:12]
    return PoolList(tuple(pools), version, source)


def load_pool_list(path: Path | None = None) -> PoolList:
    """The pool list in `path` (default: the list shipped with minerwatch)."""
    path = path or DEFAULT_POOL_LIST
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read pool list {path}: {e.strerror}", "give the path of a pools-v2.json file") from e
    return parse_pool_list(data, str(path))


def diff_attributions(
    old: PoolList, new: PoolList, blocks: Iterable[tuple[int, bytes, list[str]]]
) -> list[tuple[int, Attribution, Attribution]]:
    """(height, old, new) for every block whose attribution differs between two lists (the list
    version aside): what `pools update` must rewrite."""
    changed = []
    for height, coinbase_script, payout_addresses in blocks:
        a = old.attribute(coinbase_script, payout_addresses)
        b = new.attribute(coinbase_script, payout_addresses)
        if not a.same_result(b):
            changed.append((height, a, b))
    return changed
