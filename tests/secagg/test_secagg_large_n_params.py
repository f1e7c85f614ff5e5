"""Neighbours and threshold for large rounds (Bell et al. 2020): the rule, its documented table."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedledger.errors import ConfigError
from fedledger.secagg.params import _binomial_tail_at_least, large_n_params, large_n_table

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


@pytest.mark.parametrize("n", [1_000, 10_000, 1_000_000])
def test_large_n_params_meet_privacy_correctness_and_majority(n):
    k, t = large_n_params(n)

    assert k < n - 1 and k % 2 == 0
    assert 2 * t > k
    assert n * _binomial_tail_at_least(k, 0.1, t) <= 2.0**-40
    assert n * (1 - _binomial_tail_at_least(k, 0.8, t)) <= 2.0**-30


def test_large_n_params_pick_the_smallest_degree():
    k, _ = large_n_params(10_000)
    smaller = k - 2

    feasible = [
        s
        for s in range(smaller // 2 + 1, smaller + 1)
        if 10_000 * _binomial_tail_at_least(smaller, 0.1, s) <= 2.0**-40
        and 10_000 * (1 - _binomial_tail_at_least(smaller, 0.8, s)) <= 2.0**-30
    ]

    assert feasible == []


def test_degree_grows_slowly_with_n():
    ks = [k for _, k, _ in large_n_table((1_000, 10_000, 100_000, 1_000_000))]

    assert ks == sorted(ks)
    assert ks[-1] < 2 * ks[0]  # O(log n): 1000x the members, far less than 2x the degree


def test_small_rounds_get_the_complete_graph():
    assert large_n_params(100) == (99, 50)


def test_documented_table_matches_the_rule():
    text = PROTOCOL.read_text()

    for n, k, t in large_n_table():
        k_cell = f"{k} (complete)" if k == n - 1 else f"{k}"
        assert f"| {n:,} | {k_cell} | {t} |" in text, (n, k, t)


@pytest.mark.parametrize("bad", [{"corrupt": 0.6, "dropout": 0.5}, {"corrupt": -0.1}])
def test_impossible_fractions_are_refused_by_name(bad):
    with pytest.raises(ConfigError, match="large_n_params"):
        large_n_params(1000, **bad)
