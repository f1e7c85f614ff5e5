"""Small real simulations for the tests of every folder, and a participant that sends bad shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fedledger.fl.train import TrainConfig
from fedledger.node.participant import Participant
from fedledger.secagg.client import Partition
from fedledger.secagg.crypto import shamir
from fedledger.secagg.messages import UnmaskRequest, UnmaskResponse
from fedledger.sim.simulation import Simulation, SimulationConfig


def quick_sim_config(**changes: Any) -> SimulationConfig:
    """Six participants, one round of logistic regression on iid digits, one local epoch.

    `changes` override any SimulationConfig field; a round then takes about a second.
    """
    base: dict[str, Any] = dict(
        participants=6,
        rounds=1,
        model="logreg",
        partition="iid",
        min_size=5,
        train=TrainConfig(epochs=1),
    )
    return SimulationConfig(**{**base, **changes})


def quick_sim(state_dir: Path, **changes: Any) -> Simulation:
    """A Simulation of `quick_sim_config(**changes)` keeping its state in `state_dir`."""
    return Simulation(quick_sim_config(**changes), state_dir=state_dir)


class GarbageShares(Participant):
    """Answers the unmask request with every share shifted by one field element (and signs it)."""

    def unmask(self, request: UnmaskRequest, facts: Partition | None = None) -> UnmaskResponse:
        honest = super().unmask(request, facts)

        def shift(raw: bytes) -> bytes:
            return shamir.share_to_bytes((shamir.share_from_bytes(raw) + 1) % shamir.PRIME)

        return UnmaskResponse(
            honest.sender,
            {a: shift(v) for a, v in honest.self_mask_shares.items()},
            {a: shift(v) for a, v in honest.mask_key_shares.items()},
        )
