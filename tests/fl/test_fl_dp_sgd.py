"""DP-SGD local training (Opacus) and the accountants: clipping, noise, seeds, epsilon."""

from __future__ import annotations

from dataclasses import replace

import dp_accounting
import numpy as np
import pytest
from dp_accounting.rdp import RdpAccountant

from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG, DP_DISTRIBUTED, DP_SGD
from fedledger.errors import ConfigError
from fedledger.fl.datasets import load_dataset
from fedledger.fl.dp_accountant import (
    ParticipantAccountant,
    epsilon_cost_micros,
    round_epsilon,
    with_privacy,
)
from fedledger.fl.dp_sgd import DpSgdParams, train_local_dp
from fedledger.fl.models import build_model, module_to_bytes
from fedledger.fl.train import TrainConfig, train_local

SGD = with_privacy(
    DEFAULT_ROUND_CONFIG,
    mode=DP_SGD,
    noise_multiplier=1.1,
    clip_norm=1.0,
    delta=1e-5,
    epsilon_budget=10.0,
    sample_rate=0.05,
    steps_per_round=40,
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _train(digits, dp: DpSgdParams, *, lr: float = 0.5, noise_seed: int | None = 7):
    module = build_model("logreg", n_features=64, n_classes=10, seed=0)
    model = module_to_bytes(module)
    X, y = digits.train.X[:200], digits.train.y[:200]
    return train_local_dp(
        module,
        model,
        X,
        y,
        dp=dp,
        config=TrainConfig(lr=lr, momentum=0.0),
        seed=3,
        noise_seed=noise_seed,
    )


def test_one_full_batch_step_moves_at_most_lr_times_the_clip_norm(digits) -> None:
    # q = 1: the step is lr * (sum of clipped gradients + noise) / n: |delta| <= lr * C (+ noise).
    clip = 0.01
    update = _train(digits, DpSgdParams(1e-3, clip, 1.0, 1), lr=1.0)
    assert np.linalg.norm(update.delta) <= clip * 1.01
    module = build_model("logreg", n_features=64, n_classes=10, seed=0)
    plain = train_local(
        module,
        module_to_bytes(module),
        digits.train.X[:200],
        digits.train.y[:200],
        config=TrainConfig(epochs=1, lr=1.0, momentum=0.0, batch_size=200),
        seed=3,
    )
    assert np.linalg.norm(plain.delta) > 10 * clip  # so the bound above is the clipping's doing


def test_noise_follows_the_noise_seed_and_batches_follow_the_seed(digits) -> None:
    dp = DpSgdParams(1.0, 1.0, 0.1, 5)
    a, b, c = _train(digits, dp), _train(digits, dp), _train(digits, dp, noise_seed=8)
    assert np.array_equal(a.delta, b.delta)
    assert not np.array_equal(a.delta, c.delta)


def test_noise_without_a_seed_is_fresh_each_run(digits) -> None:
    dp = DpSgdParams(1.0, 1.0, 0.1, 5)
    assert not np.array_equal(
        _train(digits, dp, noise_seed=None).delta, _train(digits, dp, noise_seed=None).delta
    )


def test_more_noise_moves_the_model_further_from_the_noiseless_step(digits) -> None:
    quiet = _train(digits, DpSgdParams(1e-3, 1.0, 0.2, 5)).delta
    loud = _train(digits, DpSgdParams(10.0, 1.0, 0.2, 5)).delta
    assert np.linalg.norm(loud - quiet) > 5 * np.linalg.norm(quiet)


def test_dp_sgd_params_come_from_a_mode_1_snapshot_only() -> None:
    assert DpSgdParams.from_config(SGD) == DpSgdParams(1.1, 1.0, 0.05, 40)
    with pytest.raises(ConfigError, match="not 1"):
        DpSgdParams.from_config(DEFAULT_ROUND_CONFIG)


def test_round_epsilon_is_the_rdp_accountant_of_the_subsampled_gaussian() -> None:
    step = dp_accounting.PoissonSampledDpEvent(0.05, dp_accounting.GaussianDpEvent(1.1))
    acc = RdpAccountant()
    acc.compose(dp_accounting.SelfComposedDpEvent(step, 40))
    assert round_epsilon(SGD) == pytest.approx(acc.get_epsilon(1e-5), rel=1e-12)
    assert SGD.epsilon_cost_micros == epsilon_cost_micros(SGD) >= round_epsilon(SGD) * 1e6


def test_more_noise_costs_less_epsilon() -> None:
    ddp = replace(SGD, dp_mode=DP_DISTRIBUTED)
    assert round_epsilon(replace(ddp, noise_multiplier_millis=8000)) < round_epsilon(ddp)


def test_participant_accountant_composes_the_rounds_it_trained_in() -> None:
    acc = ParticipantAccountant()
    assert acc.epsilon() == 0.0
    acc.record(SGD)
    one = acc.epsilon()
    acc.record(SGD)
    assert one == pytest.approx(round_epsilon(SGD))
    # RDP composition: more than one round, less than the chain's sum of two rounds.
    assert one < acc.epsilon() < 2 * one
