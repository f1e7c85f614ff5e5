"""Datasets shipped with scikit-learn, split with a seed and standardised on the training split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

from fedledger.errors import ConfigError

__all__ = ["DATASET_NAMES", "Dataset", "Split", "load_dataset"]


@dataclass(frozen=True)
class Split:
    """Features (float32, shape (n, n_features)) and labels (int64, shape (n,))."""

    X: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A standardised train/test split; `feature_shape` is the unflattened shape of one example."""

    name: str
    train: Split
    test: Split
    n_classes: int
    feature_shape: tuple[int, ...]

    @property
    def n_features(self) -> int:
        return int(np.prod(self.feature_shape))


# name -> (loader, feature shape of one example)
_LOADERS: dict[str, tuple[Callable[..., Any], tuple[int, ...] | None]] = {
    "digits": (skd.load_digits, (8, 8)),
    "breast_cancer": (skd.load_breast_cancer, None),
    "wine": (skd.load_wine, None),
}
DATASET_NAMES: tuple[str, ...] = tuple(_LOADERS)


def load_dataset(name: str, *, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Load `name`, make a stratified seeded test split, standardise with train-split statistics.

    Features whose training standard deviation is 0 (e.g. always-blank digit pixels)
    are only centred, not scaled.
    """
    if name not in _LOADERS:
        raise ConfigError(
            f"dataset: unknown name {name!r}; choose one of {', '.join(DATASET_NAMES)}"
        )
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"dataset: test_fraction must be in (0, 1), got {test_fraction}")
    loader, shape = _LOADERS[name]
    bunch = loader()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    std[std == 0.0] = 1.0
    return Dataset(
        name=name,
        train=Split(((X_tr - mean) / std).astype(np.float32), y_tr.astype(np.int64)),
        test=Split(((X_te - mean) / std).astype(np.float32), y_te.astype(np.int64)),
        n_classes=int(y.max()) + 1,
        feature_shape=shape if shape is not None else (X.shape[1],),
    )
