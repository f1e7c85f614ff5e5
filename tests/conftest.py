"""Fixtures shared by every test folder: the plugins of tests/support."""

from __future__ import annotations

pytest_plugins = (
    "tests.support.anvil",
    "tests.support.world",
    "tests.support.simulation",
)
