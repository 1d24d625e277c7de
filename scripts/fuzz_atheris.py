"""Coverage-guided fuzzing of the block parser or the blk reader with atheris (libFuzzer), for
longer runs than the suite's (not run in CI). Needs `pip install -e '.[fuzz]'`.

    python scripts/fuzz_atheris.py parser -max_total_time=600
    python scripts/fuzz_atheris.py blk -max_total_time=600

The corpus starts from the same real blocks as tests/fuzz_cases.py and tests/fuzz_blkdirs.py
(written to .fuzz/<target>/corpus, which grows as libFuzzer finds new paths), plus the crashers
kept in tests/data/fuzz/. Half the mutations are the suite's structure-aware ones (CompactSize
boundaries, counts, truncations at structure boundaries, …), half libFuzzer's own byte-level ones.
An input that fails otherwise than with the project's error (or that runs over -timeout seconds
or -rss_limit_mb) is written to .fuzz/<target>/crash-*; keep it under tests/data/fuzz/ (see its
README) so the suite replays it. Any other libFuzzer flag may follow the target.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# minerwatch first and instrumented: the test helpers below import it too, and a module imported
# before instrument_imports gives libFuzzer no coverage to steer by.
with atheris.instrument_imports(include=["minerwatch"]):
    from minerwatch.chain.blkfiles import best_chain, iter_blocks, scan
    from minerwatch.chain.block import parse_block
    from minerwatch.errors import MinerwatchError, ParseError
    from minerwatch.networks import get_network

import fuzz_blkdirs  # noqa: E402  (test helpers: found through the path set above)
import fuzz_cases  # noqa: E402
from block_layout import layout  # noqa: E402

MAINNET = get_network("mainnet")
MAX_BLOCK_BYTES = 4_000_000


def parser_one_input(data: bytes) -> None:
    """A ParseError inside the data, or a block; anything else is a crash for libFuzzer."""
    try:
        parse_block(data, source="input", base_offset=1000)
    except ParseError as e:
        if e.source != "input" or not 1000 <= e.offset <= 1000 + len(data):
            raise AssertionError(f"ParseError names {e.source!r} byte {e.offset}, outside the input") from e


_BLOCKS_DIR = Path(tempfile.mkdtemp(prefix="atheris-blk-")) / "blocks"
_BLOCKS_DIR.mkdir()


def blk_one_input(data: bytes) -> None:
    """The input is one blk file: read to the end or a MinerwatchError."""
    (_BLOCKS_DIR / "blk00000.dat").write_bytes(data)
    try:
        chain = best_chain(scan(_BLOCKS_DIR, MAINNET), MAINNET)
        for _ in iter_blocks(_BLOCKS_DIR, MAINNET, chain=chain):
            pass
    except MinerwatchError:
        pass


def parser_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Half the time one of the suite's structure-aware mutations (when the input still has the
    shape of a block), otherwise libFuzzer's own."""
    rng = random.Random(seed)
    if rng.random() < 0.5:
        try:
            s = fuzz_cases.Seed("input", data, layout(data))
            if s.layout.spans:
                mutate = fuzz_cases.MUTATIONS[rng.choice(list(fuzz_cases.MUTATIONS))]
                return mutate(rng, s, fuzz_cases.seeds())[1][:max_size]
        except (IndexError, KeyError, ValueError):   # no longer shaped like a block
            pass
    return atheris.Mutate(data, max_size)


def _write_corpus(target: str, corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if target == "parser":
        items = [(s.name, s.data) for s in fuzz_cases.seeds()]
        items += [(p.name, p.read_bytes()) for p in sorted((fuzz_cases.KEPT / "parser").glob("*.bin"))]
    else:
        items = [(n.replace(" ", "_"), d.files[f]) for n, d in fuzz_blkdirs.seeds() if not d.key
                 for f in d.files]
        items += [(p.name, (p / "blk00000.dat").read_bytes()) for p in fuzz_blkdirs.kept_dirs()
                  if (p / "blk00000.dat").exists()]
    for name, data in items:
        (corpus / f"seed-{name}").write_bytes(data)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("parser", "blk"):
        sys.exit(__doc__)
    target, flags = sys.argv[1], sys.argv[2:]
    work = ROOT / ".fuzz" / target
    corpus = work / "corpus"
    _write_corpus(target, corpus)
    # Each case is bounded in time and memory: a hang or a runaway allocation is a crash too.
    defaults = [f"-artifact_prefix={work}/", "-timeout=10", "-rss_limit_mb=2048",
                f"-max_len={MAX_BLOCK_BYTES if target == 'parser' else 400_000}"]
    argv = [sys.argv[0], *defaults, *flags, str(corpus)]
    if target == "parser":
        atheris.Setup(argv, parser_one_input, custom_mutator=parser_mutator)
    else:
        atheris.Setup(argv, blk_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
