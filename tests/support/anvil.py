"""Anvil fixtures: one session anvil (tests/chain, tests/governance), throw-away ones on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from fedledger.chain.devnet import free_port, spawn_anvil


@contextmanager
def running_anvil(*extra: str) -> Iterator[str]:
    """A throw-away anvil on a free 127.0.0.1 port: yields its URL, stops it after."""
    port = free_port()
    proc = spawn_anvil(port, *extra)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """One anvil for the whole session (tests/chain and tests/governance share it)."""
    with running_anvil() as url:
        yield url


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
