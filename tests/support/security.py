"""Shared set-up of the security tests: a small real simulation (k=4, t=3) on eth-tester."""

from __future__ import annotations

from pathlib import Path

from fedledger.chain import DEFAULT_ROUND_CONFIG
from fedledger.sim.simulation import Simulation
from tests.support.sim import quick_sim

N = 6
MAX_BODY = 64 * 1024
"""JSON body limit of the coordinator app under test."""
MAX_BLOB = 256 * 1024
"""Blob upload limit of the coordinator app under test."""
CONFIG = DEFAULT_ROUND_CONFIG.replace(neighbours=4, threshold=3, slash_bps=0)


def small_sim(state_dir: Path, *, participants: int = N) -> Simulation:
    """Logistic regression on digits, one local epoch: a round takes about a second."""
    return quick_sim(state_dir, participants=participants, round_config=CONFIG)
