"""The exact discrete Gaussian sampler: moments, integer-only decisions, the keystream."""

from __future__ import annotations

import ast
import inspect
import math
import textwrap
from fractions import Fraction

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.secagg import dgauss
from fedledger.secagg.dgauss import (
    KeyStream,
    bernoulli_exp,
    discrete_gaussian,
    discrete_laplace,
    sigma_squared,
)

KEY = bytes(range(32))
N = 40_000


@pytest.mark.parametrize("sigma2", [Fraction(1, 2), Fraction(9), Fraction(1000, 7)])
def test_samples_have_mean_zero_and_variance_sigma_squared(sigma2: Fraction) -> None:
    s = discrete_gaussian(sigma2, N, KeyStream(KEY)).astype(np.float64)
    var = float(sigma2)
    # For sigma >= 1/sqrt(2) the discrete Gaussian's variance is within 1e-4 of sigma^2 (CKS20
    # Prop. 19); the estimators' standard errors are sqrt(var / N) and about var sqrt(2 / N).
    assert abs(s.mean()) < 5 * math.sqrt(var / N)
    assert abs(s.var() - var) < 5 * var * math.sqrt(2 / N) + 1e-3


def test_the_samples_are_symmetric_integers() -> None:
    s = discrete_gaussian(Fraction(4), N, KeyStream(KEY))
    assert s.dtype == np.int64
    assert abs(int((s > 0).sum()) - int((s < 0).sum())) < 5 * math.sqrt(N)


def test_bernoulli_exp_hits_its_probability() -> None:
    stream = KeyStream(KEY)
    for num, den in [(1, 3), (5, 2), (0, 1)]:
        hits = sum(bernoulli_exp(stream, num, den) for _ in range(N))
        p = math.exp(-num / den)
        assert abs(hits / N - p) < 5 * math.sqrt(p * (1 - p) / N) + 1e-9


def test_discrete_laplace_has_its_variance() -> None:
    stream, t = KeyStream(KEY), 3
    s = np.array([discrete_laplace(stream, t) for _ in range(N)], dtype=np.float64)
    var = 2 * math.exp(-1 / t) / (1 - math.exp(-1 / t)) ** 2
    assert abs(s.var() - var) < 6 * var * math.sqrt(5 / N)


def test_a_fixed_key_reproduces_and_another_key_differs() -> None:
    a = discrete_gaussian(Fraction(9), 100, KeyStream(KEY))
    assert np.array_equal(a, discrete_gaussian(Fraction(9), 100, KeyStream(KEY)))
    assert not np.array_equal(a, discrete_gaussian(Fraction(9), 100, KeyStream(bytes(32))))


def test_the_default_stream_is_keyed_from_os_entropy() -> None:
    a = discrete_gaussian(Fraction(9), 50, KeyStream())
    assert not np.array_equal(a, discrete_gaussian(Fraction(9), 50, KeyStream()))


DECIDERS = (
    dgauss._bernoulli_exp_at_most_one,
    dgauss.bernoulli_exp,
    dgauss.discrete_laplace,
    dgauss._one_gaussian,
    dgauss.discrete_gaussian,
    KeyStream.bits,
    KeyStream.below,
)


@pytest.mark.parametrize("fn", DECIDERS, ids=lambda f: f.__name__)
def test_accept_reject_decisions_use_no_float(fn: object) -> None:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))  # type: ignore[arg-type]
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), node
        assert not isinstance(node, ast.Div), f"true division in {fn}"  # only // on integers
        if isinstance(node, ast.Name):
            assert node.id not in {"float", "math_exp", "random"}, node.id
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"exp", "log", "random", "sqrt", "uniform"}, node.attr


def test_a_float_sigma_squared_is_refused() -> None:
    with pytest.raises(ConfigError, match="Fraction"):
        discrete_gaussian(9.0, 1, KeyStream(KEY))  # type: ignore[arg-type]


def test_sigma_squared_rounds_up_never_less_noise() -> None:
    s2 = sigma_squared(0.1)
    assert s2 >= Fraction(0.1) ** 2
    assert s2.denominator <= dgauss.SIGMA2_DENOMINATOR


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="32-byte"):
        KeyStream(b"short")
