"""Seeded IID and Dirichlet label-skew partitioners, and per-participant partition files.

Minimum size: after the split is drawn, every participant with fewer than
`min_size` examples is topped up, in participant order, with examples moved one
at a time (chosen uniformly at random with the same seeded generator) from
whichever participant currently holds the most. This keeps the drawn skew except
for the few moved examples, and always terminates; it needs
``n_examples >= n_parties * min_size``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedledger.errors import ConfigError
from fedledger.fl.datasets import Dataset

__all__ = [
    "ParticipantData",
    "Partition",
    "dirichlet_partition",
    "iid_partition",
    "label_histogram",
    "load_participant_data",
    "participant_data",
    "save_participant_data",
    "write_partition_files",
]

PARTITION_FORMAT = "fedledger-partition-v1"


@dataclass(frozen=True)
class Partition:
    """Indices into a training split, one sorted int64 array per participant (disjoint)."""

    parts: tuple[np.ndarray, ...]
    scheme: str
    seed: int
    alpha: float | None = None

    @property
    def n_parties(self) -> int:
        return len(self.parts)

    def sizes(self) -> list[int]:
        """Number of examples per participant."""
        return [int(p.size) for p in self.parts]


def _check_common(n_examples: int, n_parties: int, min_size: int) -> None:
    if n_parties < 1:
        raise ConfigError(f"partition: n_parties must be >= 1, got {n_parties}")
    if min_size < 0:
        raise ConfigError(f"partition: min_size must be >= 0, got {min_size}")
    if n_examples < n_parties * min_size:
        raise ConfigError(
            f"partition: {n_examples} examples cannot give {n_parties} participants "
            f"at least {min_size} each"
        )


def _top_up(buckets: list[list[int]], min_size: int, rng: np.random.Generator) -> None:
    """Move random examples from the largest bucket to each bucket below `min_size`."""
    for i in range(len(buckets)):
        while len(buckets[i]) < min_size:
            donor = max(range(len(buckets)), key=lambda j: (len(buckets[j]), -j))
            pos = int(rng.integers(len(buckets[donor])))
            buckets[i].append(buckets[donor].pop(pos))


def iid_partition(n_examples: int, n_parties: int, *, seed: int, min_size: int = 1) -> Partition:
    """Shuffle with `seed` and split into near-equal contiguous chunks."""
    _check_common(n_examples, n_parties, min_size)
    perm = np.random.default_rng(seed).permutation(n_examples)
    parts = tuple(np.sort(chunk).astype(np.int64) for chunk in np.array_split(perm, n_parties))
    return Partition(parts=parts, scheme="iid", seed=seed)


def dirichlet_partition(
    labels: np.ndarray, n_parties: int, *, alpha: float, seed: int, min_size: int = 10
) -> Partition:
    """Label skew: for each class, split its examples by proportions ~ Dirichlet(alpha * 1).

    Smaller `alpha` gives more skew. Participants below `min_size` are topped up
    as described in the module docstring.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(f"partition: labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    if not (alpha > 0.0 and np.isfinite(alpha)):
        raise ConfigError(f"partition: alpha must be a positive finite number, got {alpha}")
    _check_common(int(y.size), n_parties, min_size)
    rng = np.random.default_rng(seed)
    buckets: list[list[int]] = [[] for _ in range(n_parties)]
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        props = rng.dirichlet(np.full(n_parties, alpha))
        cuts = (np.cumsum(props)[:-1] * idx.size).astype(np.int64)
        for bucket, chunk in zip(buckets, np.split(idx, cuts), strict=True):
            bucket.extend(int(i) for i in chunk)
    _top_up(buckets, min_size, rng)
    parts = tuple(np.sort(np.asarray(b, dtype=np.int64)) for b in buckets)
    return Partition(parts=parts, scheme="dirichlet", seed=seed, alpha=float(alpha))


def label_histogram(partition: Partition, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_parties, n_classes) counts of each label per participant."""
    y = np.asarray(labels)
    return np.stack([np.bincount(y[p], minlength=n_classes) for p in partition.parts])


@dataclass(frozen=True)
class ParticipantData:
    """One participant's local data, as a node process loads it from its partition file."""

    X: np.ndarray
    y: np.ndarray
    n_classes: int
    feature_shape: tuple[int, ...]
    dataset: str
    participant: int
    n_parties: int

    def __len__(self) -> int:
        return int(self.y.shape[0])


def save_participant_data(path: str | Path, data: ParticipantData) -> Path:
    """Write one participant's data as an `.npz` partition file (no pickles)."""
    out = Path(path)
    _validate_participant(data, where=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        np.savez(
            fh,
            format=np.array(PARTITION_FORMAT),
            X=data.X,
            y=data.y,
            n_classes=np.int64(data.n_classes),
            feature_shape=np.asarray(data.feature_shape, dtype=np.int64),
            dataset=np.array(data.dataset),
            participant=np.int64(data.participant),
            n_parties=np.int64(data.n_parties),
        )
    return out


def load_participant_data(path: str | Path) -> ParticipantData:
    """Read a partition file written by `save_participant_data`; errors name the file and field."""
    src = Path(path)
    if not src.is_file():
        raise ConfigError(f"partition file {src}: not found")
    required = (
        "format",
        "X",
        "y",
        "n_classes",
        "feature_shape",
        "dataset",
        "participant",
        "n_parties",
    )
    try:
        with np.load(src, allow_pickle=False) as npz:
            missing = [k for k in required if k not in npz.files]
            if missing:
                raise ConfigError(f"partition file {src}: missing field(s) {', '.join(missing)}")
            fields = {k: npz[k] for k in required}
    except ConfigError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ConfigError(f"partition file {src}: not a readable .npz file ({exc})") from None
    if str(fields["format"]) != PARTITION_FORMAT:
        raise ConfigError(
            f"partition file {src}: field 'format' is {str(fields['format'])!r}, "
            f"expected {PARTITION_FORMAT!r}"
        )
    try:
        data = ParticipantData(
            X=fields["X"],
            y=fields["y"],
            n_classes=int(fields["n_classes"]),
            feature_shape=tuple(int(v) for v in np.atleast_1d(fields["feature_shape"])),
            dataset=str(fields["dataset"]),
            participant=int(fields["participant"]),
            n_parties=int(fields["n_parties"]),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"partition file {src}: malformed scalar field ({exc})") from None
    _validate_participant(data, where=f"partition file {src}")
    return data


def _validate_participant(data: ParticipantData, *, where: str) -> None:
    X, y = data.X, data.y
    if not isinstance(X, np.ndarray) or X.dtype != np.float32 or X.ndim != 2:
        raise ConfigError(f"{where}: field 'X' must be a 2-D float32 array")
    if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.ndim != 1:
        raise ConfigError(f"{where}: field 'y' must be a 1-D int64 array")
    if X.shape[0] != y.shape[0]:
        raise ConfigError(f"{where}: 'X' has {X.shape[0]} rows but 'y' has {y.shape[0]} labels")
    if y.size == 0:
        raise ConfigError(f"{where}: the partition is empty")
    if int(np.prod(data.feature_shape)) != X.shape[1]:
        raise ConfigError(
            f"{where}: field 'feature_shape' {data.feature_shape} "
            f"does not match {X.shape[1]} features"
        )
    if data.n_classes < 2 or y.min() < 0 or y.max() >= data.n_classes:
        raise ConfigError(f"{where}: labels must lie in [0, n_classes={data.n_classes})")
    if not 0 <= data.participant < data.n_parties:
        raise ConfigError(
            f"{where}: participant {data.participant} is outside [0, n_parties={data.n_parties})"
        )
    if not np.all(np.isfinite(X)):
        raise ConfigError(f"{where}: field 'X' has non-finite values")


def participant_data(dataset: Dataset, partition: Partition, participant: int) -> ParticipantData:
    """The training examples of one participant under `partition`."""
    if not 0 <= participant < partition.n_parties:
        raise ConfigError(
            f"partition: participant {participant} is outside [0, {partition.n_parties})"
        )
    idx = partition.parts[participant]
    if idx.size and int(idx.max()) >= len(dataset.train):
        raise ConfigError(
            f"partition: indices reach {int(idx.max())} but dataset {dataset.name!r} has "
            f"{len(dataset.train)} training examples"
        )
    return ParticipantData(
        X=dataset.train.X[idx],
        y=dataset.train.y[idx],
        n_classes=dataset.n_classes,
        feature_shape=dataset.feature_shape,
        dataset=dataset.name,
        participant=participant,
        n_parties=partition.n_parties,
    )


def write_partition_files(
    dataset: Dataset, partition: Partition, out_dir: str | Path
) -> list[Path]:
    """One `participant-<i>.npz` per participant in `out_dir`; returns the paths in order."""
    root = Path(out_dir)
    return [
        save_participant_data(
            root / f"participant-{i}.npz", participant_data(dataset, partition, i)
        )
        for i in range(partition.n_parties)
    ]
