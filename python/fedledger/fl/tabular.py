"""Tabular data from CSV: numeric features, one label column, a stratified standardised split.

Standardisation statistics come from the training split only (the test split and every
participant's data are scaled with them), and are kept so new rows can be scaled alike.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from fedledger.errors import ConfigError
from fedledger.fl.datasets import Dataset, Split
from fedledger.fl.partition import ParticipantData, save_participant_data

__all__ = [
    "MIN_CLASS_EXAMPLES",
    "Table",
    "read_csv_table",
    "split_table",
    "write_test_file",
]

MIN_CLASS_EXAMPLES = 2
"""A class needs one example in the training split and one in the test split."""


@dataclass(frozen=True)
class Table:
    """Numeric features (float64), labels as class indices, and the names of both."""

    source: str
    features: tuple[str, ...]
    label: str
    classes: tuple[str, ...]
    X: np.ndarray
    y: np.ndarray


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise ConfigError(f"CSV {path}: not found")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"CSV {path}: unreadable ({exc})") from None
    if len(rows) < 2:
        raise ConfigError(f"CSV {path}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(
                f"CSV {path}: line {n} has {len(row)} fields, the header has {len(header)}"
            )
    return header, rows[1:]


def _class_order(values: list[str]) -> tuple[str, ...]:
    """Sorted labels; numerically when every label is a number (so '10' follows '9')."""
    unique = set(values)
    try:
        return tuple(sorted(unique, key=float))
    except ValueError:
        return tuple(sorted(unique))


def read_csv_table(path: str | Path, *, label: str) -> Table:
    """Read `path`; every column but `label` must be numeric (errors name column and line)."""
    src = Path(path)
    header, rows = _read_rows(src)
    if label not in header:
        shown = ", ".join(header[:10]) + (", ..." if len(header) > 10 else "")
        raise ConfigError(f"CSV {src}: no label column {label!r} (columns: {shown})")
    if len(header) != len(set(header)):
        raise ConfigError(f"CSV {src}: duplicate column names in the header")
    li = header.index(label)
    features = tuple(h for i, h in enumerate(header) if i != li)
    if not features:
        raise ConfigError(f"CSV {src}: no feature columns besides {label!r}")
    X = np.empty((len(rows), len(features)), dtype=np.float64)
    for r, row in enumerate(rows):
        cells = [c for i, c in enumerate(row) if i != li]
        for c, cell in enumerate(cells):
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise ConfigError(
                    f"CSV {src}: feature column {features[c]!r} is not numeric "
                    f"(line {r + 2}: {cell!r})"
                )
            X[r, c] = value
    labels = [row[li].strip() for row in rows]
    if any(not v for v in labels):
        raise ConfigError(f"CSV {src}: label column {label!r} has empty values")
    classes = _class_order(labels)
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[v] for v in labels], dtype=np.int64)
    return Table(str(src), features, label, classes, X, y)


def _check_classes(table: Table, test_fraction: float) -> None:
    if len(table.classes) < 2:
        raise ConfigError(
            f"CSV {table.source}: label column {table.label!r} has a single class "
            f"{table.classes[0]!r}; a classifier needs at least 2"
        )
    counts = np.bincount(table.y, minlength=len(table.classes))
    for cls, count in zip(table.classes, counts, strict=True):
        if count < MIN_CLASS_EXAMPLES:
            raise ConfigError(
                f"CSV {table.source}: class {cls!r} of column {table.label!r} has {count} "
                f"example(s); every class needs at least {MIN_CLASS_EXAMPLES} "
                "(one for training, one for the test split)"
            )
    n_test = math.ceil(test_fraction * len(table.y))
    if n_test < len(table.classes) or len(table.y) - n_test < len(table.classes):
        raise ConfigError(
            f"CSV {table.source}: {len(table.y)} rows are too few for a stratified "
            f"{test_fraction:g} test split of {len(table.classes)} classes"
        )


def split_table(
    table: Table, *, test_fraction: float = 0.2, seed: int = 0
) -> tuple[Dataset, dict[str, Any]]:
    """A stratified seeded train/test Dataset standardised on the training split, and the
    scaler document (features, mean, std, label, classes) to scale new rows the same way."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"--test-fraction: must be in (0, 1), got {test_fraction}")
    _check_classes(table, test_fraction)
    X_tr, X_te, y_tr, y_te = train_test_split(
        table.X, table.y, test_size=test_fraction, random_state=seed, stratify=table.y
    )
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    std[std == 0.0] = 1.0
    dataset = Dataset(
        name=Path(table.source).stem,
        train=Split(((X_tr - mean) / std).astype(np.float32), y_tr.astype(np.int64)),
        test=Split(((X_te - mean) / std).astype(np.float32), y_te.astype(np.int64)),
        n_classes=len(table.classes),
        feature_shape=(len(table.features),),
    )
    scaler = {
        "source": table.source,
        "features": list(table.features),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "label": table.label,
        "classes": list(table.classes),
    }
    return dataset, scaler


def write_test_file(dataset: Dataset, out_dir: str | Path) -> Path:
    """The held-out split as `test.npz` (partition-file format), for the coordinator."""
    return save_participant_data(
        Path(out_dir) / "test.npz",
        ParticipantData(
            X=dataset.test.X,
            y=dataset.test.y,
            n_classes=dataset.n_classes,
            feature_shape=dataset.feature_shape,
            dataset=dataset.name,
            participant=0,
            n_parties=1,
        ),
    )
