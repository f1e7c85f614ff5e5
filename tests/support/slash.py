"""Staked simulations for the slash audit tests: a silent survivor and a garbage-share sender."""

from __future__ import annotations

from pathlib import Path

from fedledger.chain import DEFAULT_ROUND_CONFIG
from fedledger.sim.simulation import Simulation
from tests.support.sim import GarbageShares, quick_sim

TOKEN = 10**18
STAKE = 100 * TOKEN
TREASURY = "0x000000000000000000000000000000000000dEaD"
SLASH_CONFIG = DEFAULT_ROUND_CONFIG.replace(
    neighbours=4, threshold=3, reward_mode=1, min_stake=STAKE, slash_bps=2_500
)
N = 6


def staked_sim(
    state_dir: Path, *, silent: int | None = None, cheater: int | None = None
) -> Simulation:
    """Six participants staked 100 FLR each; one silent in unmask and/or one cheater in round 1."""
    sim = quick_sim(
        state_dir,
        participants=N,
        round_config=SLASH_CONFIG,
        dropouts={1: {silent: "during_unmask"}} if silent is not None else {},
        stake=STAKE,
        slash_recipient=TREASURY,
    )
    if cheater is not None:
        sim.participants[cheater].__class__ = GarbageShares
    return sim
