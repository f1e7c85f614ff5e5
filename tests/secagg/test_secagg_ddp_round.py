"""A dpMode 2 round through the secagg library: the sum decodes near the clipped mean, verifies."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.secagg import SecAggParams, simulate_round, verify_round
from fedledger.secagg.constants import MASKED_INPUT
from fedledger.secagg.encoding import decode_aggregate
from fedledger.secagg.params import DistributedDp, RoundContext
from fedledger.secagg.quantize import decode_sum

BASE = SecAggParams(neighbours=4, threshold=2, clip_range=0.5, quant_bits=16, max_weight=100)
DDP = replace(BASE, ddp=DistributedDp(1_000_000, 1, 4))  # c = 1, z = 0.001: little noise


def _updates(n: int, d: int) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(5)
    return [(rng.normal(0.0, 0.05, d), 100) for _ in range(n)]


def test_a_mode_2_round_with_a_dropout_decodes_the_survivors_sum_and_verifies() -> None:
    updates = _updates(6, 40)
    sim = simulate_round(updates, params=DDP, dropout={MASKED_INPUT: [2]}, min_participants=4)

    decoded = sim.result.decoded
    survivors = [i for i in range(6) if i != 2]
    truth = sum(updates[i][0] for i in survivors) * 100  # w = M: weight factor 1, no clipping
    assert decoded.total_weight == 500
    # noise std about z c sqrt(5/4) M = 0.11 per coordinate; a wrong decoding is off by ~10
    assert np.abs(decoded.weighted_sum - truth).max() < 1.0
    report = verify_round(sim.transcript)
    assert report.ok, report.failed


def test_each_mode_2_input_is_its_own_noised_encoding_not_a_quantized_one() -> None:
    updates = _updates(4, 8)
    sim = simulate_round(updates, params=DDP, min_participants=4)
    t = sim.transcript
    x = sim.quantized[sim.addresses[0]]
    ctx = RoundContext(t.chain_id, t.contract, t.round_id)

    alone = decode_aggregate(x, 1, DDP, total_weight=100, ctx=ctx, participants=4)

    assert x[0] == 100
    assert np.abs(alone.weighted_sum - updates[0][0] * 100).max() < 1.0
    as_quantized = decode_sum(x, 1, BASE, total_weight=100).weighted_sum
    assert np.abs(as_quantized - updates[0][0] * 100).max() > 10


def test_the_transcript_carries_the_distributed_dp_parameters() -> None:
    assert SecAggParams.from_json(DDP.to_json()) == DDP
    assert "distributedDp" not in BASE.to_json()


def test_mode_2_capacity_only_bounds_the_weight_element() -> None:
    DDP.check_capacity(70_000)  # 70000 * 100 < 2^32: fine when coordinates use the whole ring
    with pytest.raises(ConfigError, match="overflow"):
        BASE.check_capacity(70_000)  # quantized: 70000 * (2^16 - 1) >= 2^32
    with pytest.raises(ConfigError, match="overflow"):
        DDP.check_capacity(-(-(2**32) // 100))  # the weight element would wrap


def test_distributed_dp_parameters_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="noise_multiplier_millis"):
        DistributedDp(1_000_000, 0, 4)
