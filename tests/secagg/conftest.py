"""Shared fixtures for the secagg tests: a pool of Ethereum accounts and round helpers."""

from __future__ import annotations

import numpy as np
import pytest
from eth_account import Account

from fedledger.secagg import RoundContext, SecAggParams

POOL_SIZE = 64


@pytest.fixture(scope="session")
def account_pool() -> list:
    """Accounts are slow-ish to create; rounds draw distinct ones from this pool."""
    return [Account.create() for _ in range(POOL_SIZE)]


@pytest.fixture
def ctx() -> RoundContext:
    return RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 7)


@pytest.fixture
def params() -> SecAggParams:
    return SecAggParams(neighbours=6, threshold=3, clip_range=1.0, quant_bits=16, max_weight=1000)


def random_updates(rng: np.random.Generator, n: int, d: int, clip: float = 1.0) -> list:
    """n random (delta, examples) pairs with deltas inside the clip range."""
    return [(rng.uniform(-clip, clip, d), int(rng.integers(1, 5000))) for _ in range(n)]


@pytest.fixture
def make_updates():
    """The random_updates helper, as a fixture."""
    return random_updates
