"""Tests for fedledger.fl.datasets."""

from __future__ import annotations

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.fl.datasets import DATASET_NAMES, Dataset, load_dataset


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_every_dataset_loads_with_typed_arrays(name: str) -> None:
    ds = load_dataset(name, seed=1)
    for split in (ds.train, ds.test):
        assert split.X.dtype == np.float32 and split.X.ndim == 2
        assert split.y.dtype == np.int64 and split.y.shape == (split.X.shape[0],)
        assert split.X.shape[1] == ds.n_features
    assert set(np.unique(ds.train.y)) == set(range(ds.n_classes))


def test_training_split_is_standardised_with_its_own_statistics(digits: Dataset) -> None:
    mean = digits.train.X.mean(axis=0)
    std = digits.train.X.std(axis=0)
    assert np.allclose(mean, 0.0, atol=1e-5)
    varying = std > 0
    assert np.allclose(std[varying], 1.0, atol=1e-4)
    # The test split is transformed with train statistics, so its mean is not forced to 0.
    assert not np.allclose(digits.test.X.mean(axis=0)[varying], 0.0, atol=1e-3)


def test_split_is_reproducible_and_seed_dependent() -> None:
    a, b, c = (load_dataset("wine", seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.test.X, b.test.X)
    assert not np.array_equal(a.test.y, c.test.y) or not np.array_equal(a.test.X, c.test.X)


def test_digits_keeps_its_image_shape(digits: Dataset) -> None:
    assert digits.feature_shape == (8, 8)
    assert digits.n_classes == 10
    assert len(digits.train) + len(digits.test) == 1797


def test_unknown_dataset_is_rejected_by_name() -> None:
    with pytest.raises(ConfigError, match="unknown name 'mnist'"):
        load_dataset("mnist")


def test_bad_test_fraction_is_rejected() -> None:
    with pytest.raises(ConfigError, match="test_fraction"):
        load_dataset("wine", test_fraction=1.0)
