"""A participant in a DP round: DP-SGD or distributed DP under the governed parameters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG, DP_DISTRIBUTED, DP_SGD
from fedledger.fl.dp_accountant import round_epsilon, with_privacy
from fedledger.sim.simulation import Simulation

SGD = with_privacy(
    DEFAULT_ROUND_CONFIG,
    mode=DP_SGD,
    noise_multiplier=1.0,
    clip_norm=1.0,
    delta=1e-5,
    epsilon_budget=50.0,
    sample_rate=0.1,
    steps_per_round=20,
)


def test_a_dp_sgd_round_finalizes_passes_the_audit_and_each_node_knows_its_epsilon(
    new_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    sim = new_sim(tmp_path / "sim", participants=5, round_config=SGD)
    try:
        [result] = sim.run()
        assert result.outcome == "finalized"
        assert result.verified is True, result.failed_checks
        for p in sim.participants:
            assert p.rounds[result.round_id].epsilon == pytest.approx(round_epsilon(SGD))
        assert sim.contracts.round_log.epsilon_spent_micros() == SGD.epsilon_cost_micros
    finally:
        sim.close()


def test_nodes_noise_a_distributed_dp_round_which_finalizes_and_passes_the_audit(
    new_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    ddp = with_privacy(
        DEFAULT_ROUND_CONFIG,
        mode=DP_DISTRIBUTED,
        noise_multiplier=1.0,
        clip_norm=1.0,
        delta=1e-5,
        epsilon_budget=10.0,
    )
    sim = new_sim(tmp_path / "sim", participants=5, round_config=ddp)
    try:
        [result] = sim.run()
        assert result.outcome == "finalized"
        assert result.verified is True, result.failed_checks
        assert sim.contracts.round_log.epsilon_spent_micros() == ddp.epsilon_cost_micros
        for p in sim.participants:
            assert p.rounds[result.round_id].epsilon == pytest.approx(round_epsilon(ddp))
    finally:
        sim.close()
