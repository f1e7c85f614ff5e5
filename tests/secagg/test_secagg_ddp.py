"""Distributed discrete Gaussian: sampler, rotation, norm bound, noise share, wrap-around."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.secagg.ddp import (
    DdpParams,
    choose_gamma,
    ddp_decode,
    ddp_encode,
    discrete_gaussian,
    rotate,
    unrotate,
)

SEED = b"\x07" * 32


def test_discrete_gaussian_has_mean_zero_and_variance_sigma_squared() -> None:
    s = discrete_gaussian(3.0, 200_000, np.random.default_rng(0))
    assert s.dtype == np.int64
    assert abs(s.mean()) < 0.05
    assert s.var() == pytest.approx(9.0, rel=0.02)


def test_rotation_preserves_the_norm_and_inverts() -> None:
    x = np.random.default_rng(1).normal(size=300)
    y = rotate(x, SEED)
    assert y.size == 512
    assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(x))
    assert np.allclose(unrotate(y, 300, SEED), x)


def test_each_client_adds_the_share_that_makes_n_min_clients_carry_the_target_noise() -> None:
    p = DdpParams(clip_norm=1.0, noise_multiplier=2.0, min_survivors=16, gamma=1e-3)
    total_variance = 16 * p.client_sigma(100) ** 2
    assert math.sqrt(total_variance) == pytest.approx(2.0 * p.norm_bound(100))


def test_the_sum_of_n_encodings_decodes_to_the_sum_plus_noise_of_the_stated_size() -> None:
    rng = np.random.default_rng(2)
    n, d, z = 50, 200, 1.0
    p = DdpParams(1.0, z, n, choose_gamma(1.0, d, participants=n, noise_multiplier=z))
    updates = [rng.normal(size=d) * 0.01 for _ in range(n)]
    total = sum(ddp_encode(u, p, rotation_seed=SEED, rng=rng) for u in updates) % (1 << 32)
    error = ddp_decode(total, d, p, rotation_seed=SEED) - sum(updates)
    # Per coordinate the noise std is z * norm bound * gamma, about z * c.
    std = z * p.norm_bound(d) * p.gamma
    assert error.std() == pytest.approx(std, rel=0.15)


def test_an_update_above_the_clip_norm_is_clipped_before_encoding() -> None:
    p = DdpParams(1.0, 1e-3, 1, 1e-6)
    big = np.full(64, 10.0)
    enc = ddp_encode(big, p, rotation_seed=SEED, rng=np.random.default_rng(3))
    decoded = ddp_decode(enc, 64, p, rotation_seed=SEED)
    assert np.linalg.norm(decoded) == pytest.approx(1.0, rel=1e-3)


def test_encodings_are_residues_and_negative_sums_decode_centred() -> None:
    p = DdpParams(1.0, 1e-3, 1, 1e-6)
    x = -np.full(16, 0.2)
    enc = ddp_encode(x, p, rotation_seed=SEED, rng=np.random.default_rng(4))
    assert enc.max() < 2**32
    assert np.allclose(ddp_decode(enc, 16, p, rotation_seed=SEED), x, atol=1e-2)


def test_choose_gamma_refuses_a_modulus_too_small() -> None:
    with pytest.raises(ConfigError, match="cannot hold"):
        choose_gamma(1.0, 10_000, participants=100, noise_multiplier=1.0, bits=8)
