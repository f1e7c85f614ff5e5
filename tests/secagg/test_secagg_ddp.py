"""Distributed discrete Gaussian: rotation, norm bound, noise share, gamma, wrap-around."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedledger.errors import ConfigError
from fedledger.secagg.ddp import (
    DdpParams,
    choose_gamma,
    ddp_decode,
    ddp_encode,
    rotate,
    rotation_seed,
    round_ddp_params,
    unrotate,
)
from fedledger.secagg.dgauss import KeyStream
from fedledger.secagg.encoding import decode_aggregate
from fedledger.secagg.params import DistributedDp, RoundContext, SecAggParams

SEED = b"\x07" * 32
CONTRACT = "0x" + "11" * 20


def _stream(i: int) -> KeyStream:
    return KeyStream(bytes([i]) * 32)


@pytest.mark.parametrize("d", [1, 7, 64, 300])
def test_rotation_preserves_length_and_norm_and_inverts(d: int) -> None:
    x = np.random.default_rng(1).normal(size=d)
    y = rotate(x, SEED)
    assert y.size == d
    assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(x))
    assert np.allclose(unrotate(y, SEED), x)


def test_rotation_flattens_a_spike_over_the_whole_vector() -> None:
    x = np.zeros(300)
    x[299] = 1.0
    assert np.abs(rotate(x, SEED)).max() < 4 / math.sqrt(256)


def test_rotation_seed_binds_the_round() -> None:
    a = rotation_seed(RoundContext(1, CONTRACT, 1))
    assert a != rotation_seed(RoundContext(1, CONTRACT, 2))
    assert a != rotation_seed(RoundContext(2, CONTRACT, 1))
    assert len(a) == 32


def test_each_client_adds_the_share_that_makes_n_min_clients_carry_the_target_noise() -> None:
    p = DdpParams(clip_norm=1.0, noise_multiplier=2.0, min_survivors=16, gamma=1e-3)
    total_variance = 16 * p.client_sigma(100) ** 2
    assert math.sqrt(total_variance) == pytest.approx(2.0 * p.norm_bound(100))


def test_gamma_is_a_power_of_two_the_same_from_floats_and_from_the_chain_integers() -> None:
    g = choose_gamma(1.0, 650, participants=100, noise_multiplier=1.0)
    assert math.log2(g) == int(math.log2(g))
    exact = choose_gamma(Fraction(1_000_000, 10**6), 650, participants=100, noise_multiplier=1)
    assert g == exact
    # More participants need a coarser grid to stay inside the ring.
    assert choose_gamma(1.0, 650, participants=10_000, noise_multiplier=1.0) > g


def test_the_sum_of_n_encodings_decodes_to_the_sum_plus_noise_of_the_stated_size() -> None:
    rng = np.random.default_rng(2)
    n, d, z = 50, 200, 1.0
    p = DdpParams(1.0, z, n, choose_gamma(1.0, d, participants=n, noise_multiplier=z))
    updates = [rng.normal(size=d) * 0.01 for _ in range(n)]
    total = sum(
        ddp_encode(u, p, rotation_seed=SEED, stream=_stream(i)) for i, u in enumerate(updates)
    )
    error = ddp_decode(total % (1 << 32), p, rotation_seed=SEED) - sum(updates)
    # Per coordinate the noise std is z * norm bound * gamma.
    std = z * p.norm_bound(d) * p.gamma
    assert error.std() == pytest.approx(std, rel=0.15)


def test_an_update_above_the_clip_norm_is_clipped_before_encoding() -> None:
    p = DdpParams(1.0, 1e-4, 1, 2.0**-20)
    enc = ddp_encode(np.full(64, 10.0), p, rotation_seed=SEED, stream=_stream(3))
    decoded = ddp_decode(enc, p, rotation_seed=SEED)
    assert np.linalg.norm(decoded) == pytest.approx(1.0, rel=1e-3)


def test_encodings_are_residues_and_negative_sums_decode_centred() -> None:
    p = DdpParams(1.0, 1e-3, 1, 2.0**-20)
    x = -np.full(16, 0.2)
    enc = ddp_encode(x, p, rotation_seed=SEED, stream=_stream(4))
    assert enc.max() < 2**32
    assert np.allclose(ddp_decode(enc, p, rotation_seed=SEED), x, atol=1e-2)


def test_choose_gamma_refuses_a_modulus_too_small() -> None:
    with pytest.raises(ConfigError, match="cannot hold"):
        choose_gamma(1.0, 10_000, participants=100, noise_multiplier=1.0, bits=8)


def test_the_protocol_decoding_vector() -> None:
    """docs/protocol.md 3.4's test vector, bit for bit (an outside decoder's reference)."""
    ctx = RoundContext(31337, "0x" + "ab" * 20, 7)
    params = SecAggParams(
        neighbours=2,
        threshold=2,
        clip_range=0.5,
        quant_bits=16,
        max_weight=100,
        ddp=DistributedDp(1_000_000, 1_000, 3),
    )
    assert round_ddp_params(params.ddp, 6, 3).gamma == 2.0**-27  # type: ignore[arg-type]
    seed = rotation_seed(ctx)
    assert seed.hex() == "0a67fec63c5969e27a7bb34beb8932b613becf8e56dd891e5bbfa9a86be2a8b5"
    a = np.array([300, 123456, 4294967000, 2**31, 2**31 - 1, 0, 77], dtype=np.uint32)

    out = decode_aggregate(a, 3, params, total_weight=300, ctx=ctx, participants=3)

    assert out.total_weight == 300
    assert out.weighted_sum.tolist() == [
        799.9541193246841,
        800.0461295247078,
        -800.0458806753159,
        799.9539270997047,
        2.905726432800293e-05,
        -1599.9999709427357,
    ]


@settings(max_examples=60, deadline=None)
@given(
    d=st.integers(1, 300),
    seed=st.binary(min_size=32, max_size=32),
    scale=st.floats(1e-6, 1e6),
)
def test_rotation_is_orthogonal_for_any_length_and_seed(d: int, seed: bytes, scale: float) -> None:
    x = np.random.default_rng(d).normal(size=d) * scale
    y = rotate(x, seed)
    assert y.size == d
    assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(x), rel=1e-9)
    assert np.allclose(unrotate(y, seed), x, rtol=0, atol=1e-9 * scale * math.sqrt(d))


@settings(max_examples=40, deadline=None)
@given(d=st.integers(1, 64), key=st.binary(min_size=32, max_size=32))
def test_an_encoding_decodes_within_its_noise_and_is_a_residue(d: int, key: bytes) -> None:
    p = DdpParams(1.0, 1e-3, 1, 2.0**-20)
    x = np.random.default_rng(d).normal(size=d)
    x *= 0.5 / np.linalg.norm(x)
    enc = ddp_encode(x, p, rotation_seed=SEED, stream=KeyStream(key))
    assert enc.dtype == np.uint64 and int(enc.max()) < 2**32
    # noise std per coordinate about z * norm bound * gamma = 1e-3 * (0.5 + ~2^-20 sqrt(d))
    assert np.abs(ddp_decode(enc, p, rotation_seed=SEED) - x).max() < 0.01
