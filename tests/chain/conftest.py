"""Chain fixtures: one deployment per backend (eth-tester, anvil), reset per test by snapshot."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # chain_helpers, whichever way pytest is started

from chain_helpers import TEST_CONFIG, World, free_port, start_anvil

from fedledger.chain import ChainBackend, EmbeddedChain, RpcChain, deploy_all, derive_accounts, fund


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """One anvil for the whole session."""
    port = free_port()
    proc = start_anvil(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _build(backend: ChainBackend) -> World:
    funded = backend.funded_accounts()
    deployer, aggregator, outsider = funded[0], funded[1], funded[2]
    deployment = deploy_all(
        backend, deployer=deployer, aggregator=aggregator.address, params=TEST_CONFIG
    )
    contracts = deployment.attach(backend)
    people = sorted(derive_accounts(b"fedledger-tests", 6), key=lambda a: int(a.address, 16))
    fund(backend, deployer, [p.address for p in people], 10**18)
    participants, unregistered = people[:5], people[5]
    for p in participants:
        contracts.registry.register(p.address, sender=deployer)
    return World(
        backend, deployment, contracts, deployer, aggregator, outsider, participants, unregistered
    )


@pytest.fixture(
    scope="session", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.anvil)]
)
def _session_world(request: pytest.FixtureRequest) -> World:
    if request.param == "eth-tester":
        return _build(EmbeddedChain())
    url = request.getfixturevalue("anvil_url")
    return _build(RpcChain(url))


@pytest.fixture
def world(_session_world: World) -> Iterator[World]:
    """The session's deployment, rolled back after each test."""
    snap = _session_world.backend.snapshot()
    try:
        yield _session_world
    finally:
        _session_world.backend.revert(snap)
