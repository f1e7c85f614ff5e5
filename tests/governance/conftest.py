"""Governance lifecycle fixtures: the chain suite's deployment on eth-tester and anvil."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Reuse tests/chain's helpers (World, build_world, anvil start) rather than copying them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chain"))

from chain_helpers import World, build_world, rolled_back, running_anvil

from fedledger.chain import EmbeddedChain, RpcChain


@pytest.fixture(scope="session")
def governance_anvil_url() -> Iterator[str]:
    """One anvil for the governance tests."""
    with running_anvil() as url:
        yield url


@pytest.fixture(
    scope="session", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.anvil)]
)
def _governance_world(request: pytest.FixtureRequest) -> World:
    if request.param == "eth-tester":
        return build_world(EmbeddedChain())
    return build_world(RpcChain(request.getfixturevalue("governance_anvil_url")))


@pytest.fixture
def world(_governance_world: World) -> Iterator[World]:
    """The session's deployment, rolled back after each test."""
    with rolled_back(_governance_world) as w:
        yield w
