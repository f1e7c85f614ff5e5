"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fedledger.chain.devnet import free_port, spawn_anvil

# sim_helpers (shared by every folder), whichever way pytest is started
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def fresh_anvil() -> Iterator[Callable[..., str]]:
    """Start throw-away anvils on 127.0.0.1 (`fresh_anvil(*extra_args) -> url`); all stop after."""
    procs: list[Any] = []

    def start(*extra: str) -> str:
        port = free_port()
        procs.append(spawn_anvil(port, *extra))
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
