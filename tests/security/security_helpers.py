"""Shared set-up of the security tests: a small real simulation (k=4, t=3) on eth-tester."""

from __future__ import annotations

from pathlib import Path

from fedledger.chain import RoundConfig
from fedledger.coordinator.simulation import Simulation, SimulationConfig
from fedledger.fl.train import TrainConfig

TOKEN = 10**18
N = 6
MAX_BODY = 64 * 1024
"""JSON body limit of the coordinator app under test."""
MAX_BLOB = 256 * 1024
"""Blob upload limit of the coordinator app under test."""
CONFIG = RoundConfig(
    neighbours=4,
    threshold=3,
    clip_range_micros=500_000,
    quant_bits=16,
    max_weight=4096,
    min_participants=3,
    commit_window=600,
    unmask_window=600,
    reward_mode=0,
    reward_per_contribution=10 * TOKEN,
    reward_cap=1000 * TOKEN,
)


def small_sim(state_dir: Path, *, participants: int = N) -> Simulation:
    """Logistic regression on digits, one local epoch: a round takes about a second."""
    config = SimulationConfig(
        participants=participants,
        rounds=1,
        model="logreg",
        partition="iid",
        min_size=5,
        train=TrainConfig(epochs=1),
        round_config=CONFIG,
    )
    return Simulation(config, state_dir=state_dir)
