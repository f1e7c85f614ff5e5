"""The simulation fixture: each set-up deployed and enrolled once a session, reverted per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported on first use: other folders need not load torch
    from fedledger.chain import ChainBackend, Deployment
    from fedledger.fl.datasets import Dataset
    from fedledger.fl.partition import Partition
    from tests.support.sim import Simulation, SimulationConfig


@dataclass
class _Enrolled:
    """A chain where a simulation's contracts are deployed and its participants enrolled."""

    chain: ChainBackend
    deployment: Deployment
    dataset: Dataset
    partition: Partition
    snapshot: Any


def _setup_key(cfg: SimulationConfig) -> str:
    """Everything a Simulation writes on chain or derives its accounts and data from."""
    return repr(
        (
            cfg.round_config,
            cfg.stake,
            cfg.slash_recipient,
            cfg.participants,
            cfg.seed,
            cfg.dataset,
            cfg.partition,
            cfg.alpha,
            cfg.min_size,
        )
    )


@pytest.fixture(scope="session")
def _enrolled() -> dict[str, _Enrolled]:
    """Set-ups built so far in this session, by `_setup_key`."""
    return {}


@pytest.fixture
def new_sim(_enrolled: dict[str, _Enrolled]) -> Iterator[Callable[..., Simulation]]:
    """`new_sim(state_dir, **changes)`: a Simulation of `quick_sim_config(**changes)`.

    The first simulation of a set-up deploys and enrols as `quick_sim` does; later ones (in
    any test) reuse that chain from a snapshot taken right after enrolment, so each starts
    exactly where a fresh one would. A second simulation of the same set-up in one test gets
    a fresh chain of its own. Every reused chain is reverted after the test.
    """
    in_use: set[str] = set()

    from tests.support.sim import Simulation, quick_sim_config

    def make(state_dir: Path, **changes: Any) -> Simulation:
        cfg = quick_sim_config(**changes)
        key = _setup_key(cfg)
        if key in in_use:
            return Simulation(cfg, state_dir=state_dir)
        in_use.add(key)
        base = _enrolled.get(key)
        if base is None:
            sim = Simulation(cfg, state_dir=state_dir)
            _enrolled[key] = _Enrolled(
                sim.chain, sim.deployment, sim.dataset, sim.partition, sim.chain.snapshot()
            )
            return sim
        return Simulation(
            cfg,
            chain=base.chain,
            deployment=base.deployment,
            state_dir=state_dir,
            dataset=base.dataset,
            partition=base.partition,
        )

    try:
        yield make
    finally:
        for key in in_use:
            base = _enrolled[key]
            base.chain.revert(base.snapshot)
            base.snapshot = base.chain.snapshot()
