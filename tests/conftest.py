"""Fixtures shared by the test suite; each section belongs to the support module it imports."""

from __future__ import annotations

import pytest

# --- the bcoin regtest node (tests/regtest_node.py) ----------------------------------------------
from regtest_node import (  # noqa: F401  (fixtures are found by name)
    mark_regtest_items,
    regtest_node_factory_fixture,
    regtest_node_fixture,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_regtest_items(items)
