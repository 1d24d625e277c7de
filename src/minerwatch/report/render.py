"""The brief as plain text, Markdown or JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from minerwatch.report.brief import Brief


def as_text(b: Brief, network: str, simulated: bool) -> str:
    head = f"Miner brief — {network}{' (SIMULATED chain)' if simulated else ''}, as of {b.as_of}, since {b.since}"
    lines = [head, "=" * len(head), ""]
    for f in b.figures:
        lines += [f"{f.title}: {f.sentence}" if f.missing else f.sentence, f"  definition: {f.definition}",
                  *(f"  reproduce:  {c}" for c in f.commands), *(f"  warning:    {w}" for w in f.warnings), ""]
    return "\n".join(lines)


def as_markdown(b: Brief, network: str, simulated: bool) -> str:
    lines = [f"# Miner brief, {b.as_of}", "",
             f"*{network}{' — simulated chain, not real data' if simulated else ''}; flows since {b.since}.*", ""]
    for f in b.figures:
        lines += [f"## {f.title}", "", f.sentence, "",
                  f"- Definition: {f.definition}", *(f"- Reproduce: `{c}`" for c in f.commands),
                  *(f"- Warning: {w}" for w in f.warnings), ""]
    return "\n".join(lines)


def as_json(b: Brief, network: str, simulated: bool) -> dict[str, Any]:
    return {"network": network, "simulated": simulated, "as_of": b.as_of.isoformat(), "since": b.since.isoformat(),
            "figures": [asdict(f) for f in b.figures]}
