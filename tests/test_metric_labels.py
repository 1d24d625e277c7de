"""Every series has a name a person reads, and the text written for the CLI reads in words on a page."""

from __future__ import annotations

from minerwatch.metrics import registry
from minerwatch.queries import series


def test_every_registered_series_has_a_display_name() -> None:
    metrics = registry.load_all()
    assert [n for n in metrics if n not in registry.LABELS] == []
    # Names are words: no id leaks into a label, and no two series share one.
    labels = [m.label for m in metrics.values()]
    assert [x for x in labels if "_" in x] == []
    assert len(set(labels)) == len(labels)


def test_catalog_carries_the_name_and_the_short_unit() -> None:
    info = {m.name: m for m in series.catalog()}
    assert (info["hashprice_usd_per_ph_day"].label, info["hashprice_usd_per_ph_day"].short_unit) == \
        ("Hashprice", "USD/PH/day")
    # Difficulty is a pure number, written "153.1 T": no unit after it.
    assert (info["difficulty"].label, info["difficulty"].short_unit) == ("Difficulty", "")


def test_ids_in_cli_text_become_names() -> None:
    assert registry.in_words("no data for mpi; less than 365 days of miner_reserve_btc history") == \
        "no data for Miner Position Index; less than 365 days of Miner reserve history"
    # A word that only looks like an id is left alone.
    assert registry.in_words("see pool_fee_pct and 'mpis'") == "see pool_fee_pct and 'mpis'"
