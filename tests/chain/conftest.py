"""Chain fixtures: one deployment per backend (eth-tester, anvil), reset per test by snapshot."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # chain_helpers, whichever way pytest is started

from chain_helpers import World, build_world, rolled_back, running_anvil

from fedledger.chain import EmbeddedChain, RpcChain


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """One anvil for the whole session."""
    with running_anvil() as url:
        yield url


@pytest.fixture(
    scope="session", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.anvil)]
)
def _session_world(request: pytest.FixtureRequest) -> World:
    if request.param == "eth-tester":
        return build_world(EmbeddedChain())
    url = request.getfixturevalue("anvil_url")
    return build_world(RpcChain(url))


@pytest.fixture
def world(_session_world: World) -> Iterator[World]:
    """The session's deployment, rolled back after each test."""
    with rolled_back(_session_world) as w:
        yield w
