"""The deployed-contracts fixture of tests/chain and tests/governance: one per backend a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fedledger.chain import EmbeddedChain, RpcChain
from tests.support.chain import World, build_world, rolled_back


@pytest.fixture(
    scope="session", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.anvil)]
)
def _shared_world(request: pytest.FixtureRequest) -> World:
    if request.param == "eth-tester":
        return build_world(EmbeddedChain())
    return build_world(RpcChain(request.getfixturevalue("anvil_url")))


@pytest.fixture
def world(_shared_world: World) -> Iterator[World]:
    """The session's deployment, rolled back after each test."""
    with rolled_back(_shared_world) as w:
        yield w
