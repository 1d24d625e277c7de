"""The examples in docs/ parse, and the documented default fleet mix is the one the code uses."""

from __future__ import annotations

from pathlib import Path

from minerwatch.alerts.rules import load_rules
from minerwatch.economics.breakeven import Market
from minerwatch.economics.catalog import load_catalog
from minerwatch.economics.fleet import fleet_economics, load_fleet
from minerwatch.economics.surface import DEFAULT_MIX, load_mix

EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"


def test_fleet_example() -> None:
    fleet = load_fleet(EXAMPLES / "fleet.toml", load_catalog())
    # 500 S21 × 200 + 800 S19j Pro × 100 + 25,200 (M50S) + 100 × 150 = 220,200 TH/s.
    assert fleet.hashrate_ths == 220_200.0
    assert [ln.units for ln in fleet.lines] == [500.0, 800.0, 200.0, 100.0]     # 25,200 / 126 = 200 M50S
    lines, whole = fleet_economics(fleet, Market(50.0, 100_000.0))
    assert whole.hashrate_ths == 220_200.0 and len(lines) == 4


def test_mix_example_is_the_default() -> None:
    assert load_mix(EXAMPLES / "fleet-mix.csv") == DEFAULT_MIX


def test_asic_example_overrides() -> None:
    cat = load_catalog(EXAMPLES / "my-asics.csv")
    assert cat["Antminer S21"].hashrate_ths == 195.0 and "Antminer S21 Immersion" in cat


def test_alerts_example(tmp_path: Path) -> None:
    rules = load_rules(EXAMPLES / "alerts.toml")
    # As shipped, everything goes to stdout: `alerts run docs/examples/alerts.toml` works as written.
    assert [c.type for c in rules.channels] == ["stdout"]
    assert [r.op for r in rules.rules] == ["below", "above", "crosses", "capitulation"]
    # The webhook and email channels are there to uncomment, and valid once uncommented.
    lines, inside = [], False
    for line in (EXAMPLES / "alerts.toml").read_text().splitlines():
        inside = line == "# [[channels]]" or (inside and line.startswith("# "))
        lines.append(line[2:] if inside else line)
    (tmp_path / "alerts.toml").write_text("\n".join(lines))
    assert [c.type for c in load_rules(tmp_path / "alerts.toml").channels] == ["stdout", "webhook", "email"]


def test_economics_doc_names_every_example() -> None:
    doc = (EXAMPLES.parent / "economics.md").read_text()
    for f in ("fleet.toml", "fleet-mix.csv", "my-asics.csv", "alerts.toml"):
        assert f"examples/{f}" in doc, f
