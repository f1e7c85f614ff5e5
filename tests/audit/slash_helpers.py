"""Staked simulations for the slash audit tests: a silent survivor and a garbage-share sender."""

from __future__ import annotations

from pathlib import Path

from fedledger.chain import RoundConfig
from fedledger.coordinator.simulation import Simulation, SimulationConfig
from fedledger.fl.train import TrainConfig
from fedledger.node.participant import Participant
from fedledger.secagg.crypto import shamir
from fedledger.secagg.messages import UnmaskRequest, UnmaskResponse

TOKEN = 10**18
STAKE = 100 * TOKEN
TREASURY = "0x000000000000000000000000000000000000dEaD"
SLASH_CONFIG = RoundConfig(
    neighbours=4,
    threshold=3,
    clip_range_micros=500_000,
    quant_bits=16,
    max_weight=4096,
    min_participants=3,
    commit_window=600,
    unmask_window=600,
    reward_mode=1,
    reward_per_contribution=10 * TOKEN,
    reward_cap=1000 * TOKEN,
    min_stake=STAKE,
    slash_bps=2_500,
)
N = 6


class GarbageShares(Participant):
    """Answers the unmask request with every share shifted by one field element (and signs it)."""

    def unmask(self, request: UnmaskRequest) -> UnmaskResponse:
        honest = super().unmask(request)

        def shift(raw: bytes) -> bytes:
            return shamir.share_to_bytes((shamir.share_from_bytes(raw) + 1) % shamir.PRIME)

        return UnmaskResponse(
            honest.sender,
            {a: shift(v) for a, v in honest.self_mask_shares.items()},
            {a: shift(v) for a, v in honest.mask_key_shares.items()},
        )


def staked_sim(
    state_dir: Path, *, silent: int | None = None, cheater: int | None = None
) -> Simulation:
    """Six participants staked 100 FLR each; one silent in unmask and/or one cheater in round 1."""
    config = SimulationConfig(
        participants=N,
        rounds=1,
        model="logreg",
        partition="iid",
        min_size=5,
        train=TrainConfig(epochs=1),
        round_config=SLASH_CONFIG,
        dropouts={1: {silent: "during_unmask"}} if silent is not None else {},
        stake=STAKE,
        slash_recipient=TREASURY,
    )
    sim = Simulation(config, state_dir=state_dir)
    if cheater is not None:
        sim.participants[cheater].__class__ = GarbageShares
    return sim
