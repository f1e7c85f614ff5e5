"""Tests for fedledger.fl.partition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.fl.datasets import Dataset
from fedledger.fl.partition import (
    ParticipantData,
    dirichlet_partition,
    iid_partition,
    label_histogram,
    load_participant_data,
    participant_data,
    save_participant_data,
    write_partition_files,
)


def _assert_disjoint_cover(parts: tuple[np.ndarray, ...], n: int) -> None:
    joined = np.concatenate(parts)
    assert joined.size == n
    np.testing.assert_array_equal(np.sort(joined), np.arange(n))


def test_iid_partition_sizes_differ_by_at_most_one() -> None:
    p = iid_partition(103, 10, seed=0)
    assert max(p.sizes()) - min(p.sizes()) <= 1
    _assert_disjoint_cover(p.parts, 103)


def test_partitions_are_reproducible_from_the_seed(digits: Dataset) -> None:
    y = digits.train.y
    a = dirichlet_partition(y, 8, alpha=0.3, seed=11)
    b = dirichlet_partition(y, 8, alpha=0.3, seed=11)
    c = dirichlet_partition(y, 8, alpha=0.3, seed=12)
    assert all(np.array_equal(u, v) for u, v in zip(a.parts, b.parts, strict=True))
    assert not all(np.array_equal(u, v) for u, v in zip(a.parts, c.parts, strict=True))
    i1, i2 = iid_partition(50, 5, seed=1), iid_partition(50, 5, seed=1)
    assert all(np.array_equal(u, v) for u, v in zip(i1.parts, i2.parts, strict=True))


def test_dirichlet_partition_covers_every_example_once(digits: Dataset) -> None:
    p = dirichlet_partition(digits.train.y, 10, alpha=0.5, seed=0)
    _assert_disjoint_cover(p.parts, len(digits.train))


def _mean_label_entropy(hist: np.ndarray) -> float:
    probs = hist / hist.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(probs > 0, probs * np.log(probs), 0.0), axis=1)
    return float(ent.mean())


def test_smaller_alpha_gives_stronger_label_skew(digits: Dataset) -> None:
    y = digits.train.y
    entropies = {}
    for alpha in (0.1, 1.0, 100.0):
        ents = [
            _mean_label_entropy(
                label_histogram(dirichlet_partition(y, 10, alpha=alpha, seed=s), y, 10)
            )
            for s in range(3)
        ]
        entropies[alpha] = float(np.mean(ents))
    assert entropies[0.1] < entropies[1.0] < entropies[100.0]
    # Near-uniform labels at large alpha: close to log(10).
    assert entropies[100.0] > 0.95 * np.log(10)


def test_min_size_is_honoured_even_at_extreme_skew() -> None:
    y = np.repeat(np.arange(3), 40)
    p = dirichlet_partition(y, 12, alpha=0.01, seed=0, min_size=10)
    assert min(p.sizes()) >= 10
    _assert_disjoint_cover(p.parts, 120)


def test_impossible_min_size_is_rejected() -> None:
    with pytest.raises(ConfigError, match="cannot give 13 participants at least 10"):
        dirichlet_partition(np.zeros(120, dtype=np.int64), 13, alpha=1.0, seed=0, min_size=10)


def test_bad_alpha_is_rejected() -> None:
    with pytest.raises(ConfigError, match="alpha"):
        dirichlet_partition(np.zeros(10, dtype=np.int64), 2, alpha=0.0, seed=0, min_size=1)


def test_participant_file_round_trip(tmp_path: Path, digits: Dataset) -> None:
    p = dirichlet_partition(digits.train.y, 4, alpha=0.5, seed=0)
    paths = write_partition_files(digits, p, tmp_path / "parts")
    assert [x.name for x in paths] == [f"participant-{i}.npz" for i in range(4)]
    loaded = load_participant_data(paths[2])
    expected = participant_data(digits, p, 2)
    np.testing.assert_array_equal(loaded.X, expected.X)
    np.testing.assert_array_equal(loaded.y, expected.y)
    assert (loaded.participant, loaded.n_parties, loaded.dataset) == (2, 4, "digits")
    assert loaded.feature_shape == (8, 8) and loaded.n_classes == 10


def test_missing_partition_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"partition file .*nope\.npz: not found"):
        load_participant_data(tmp_path / "nope.npz")


def test_garbage_partition_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(ConfigError, match=r"not a readable \.npz"):
        load_participant_data(bad)


def test_partition_file_missing_a_field_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "partial.npz"
    np.savez(bad, X=np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(ConfigError, match="missing field"):
        load_participant_data(bad)


def test_partition_file_with_inconsistent_rows_is_rejected(tmp_path: Path) -> None:
    data = ParticipantData(
        X=np.zeros((3, 4), dtype=np.float32),
        y=np.zeros(2, dtype=np.int64),
        n_classes=2,
        feature_shape=(4,),
        dataset="wine",
        participant=0,
        n_parties=1,
    )
    with pytest.raises(ConfigError, match="'X' has 3 rows but 'y' has 2"):
        save_participant_data(tmp_path / "p.npz", data)
