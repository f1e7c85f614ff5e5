"""The built-in tasks: models of fl.models on bundled datasets or on partition files.

`fedledger.fl.builtin:digits_mlp` trains the MLP on scikit-learn's digits (each simulated
participant takes its share of a seeded partition); `fedledger.fl.builtin:mlp` trains the
MLP on whatever partition files the nodes hold (`fedledger data split`, also from CSV),
the coordinator evaluating on `--test-data`.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np

from fedledger.errors import ConfigError
from fedledger.fl.datasets import DATASET_NAMES, Dataset, Split, load_dataset
from fedledger.fl.models import MODEL_NAMES, build_model, load_numpy_state, state_to_numpy
from fedledger.fl.partition import (
    Partition,
    dirichlet_partition,
    iid_partition,
    load_participant_data,
    participant_data,
)
from fedledger.fl.serialization import model_to_bytes
from fedledger.fl.task import EvalResult, FitConfig, FitResult, Task, TaskContext, Weights
from fedledger.fl.task_bridge import TaskRunner
from fedledger.fl.train import TrainConfig, evaluate, train_local

__all__ = ["BuiltinTask", "builtin_runner", "context_partition"]


@functools.lru_cache(maxsize=8)
def _bundled(name: str, seed: int) -> Dataset:
    return load_dataset(name, seed=seed)


def context_partition(y: np.ndarray, ctx: TaskContext) -> Partition:
    """The partition a simulation's context describes (the one `fedledger demo` uses)."""
    if ctx.partition == "dirichlet":
        return dirichlet_partition(
            y, ctx.n_participants, alpha=ctx.alpha, seed=ctx.seed, min_size=ctx.min_size
        )
    if ctx.partition == "iid":
        return iid_partition(len(y), ctx.n_participants, seed=ctx.seed, min_size=ctx.min_size)
    raise ConfigError(
        f"task context: partition must be 'dirichlet' or 'iid', got {ctx.partition!r}"
    )


@functools.lru_cache(maxsize=8)
def _partition(name: str, seed: int, scheme: str, alpha: float, min_size: int, n: int) -> Partition:
    ctx = TaskContext(n_participants=n, seed=seed, partition=scheme, alpha=alpha, min_size=min_size)
    return context_partition(_bundled(name, seed).train.y, ctx)


def _file(path: Path | None, what: str) -> Any:
    if path is None:
        raise ConfigError(f"built-in task on partition files: {what} needs a data file")
    return load_participant_data(path)


@dataclasses.dataclass
class BuiltinTask(Task):
    """Model `model` (logreg, mlp, cnn) on bundled `dataset`, or on data files if None.

    `n_features` and `n_classes` fix the model's shape when the data is handed over in
    memory (fl.fedavg) rather than named by a bundled dataset or a file.
    """

    model: str
    dataset: str | None = None
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    n_features: int | None = None
    n_classes: int | None = None

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ConfigError(f"built-in task: unknown model {self.model!r}")
        if self.dataset is not None and self.dataset not in DATASET_NAMES:
            raise ConfigError(f"built-in task: unknown dataset {self.dataset!r}")
        self._modules: dict[tuple[int, int], Any] = {}

    def _shape(self, ctx: TaskContext) -> tuple[int, int]:
        if self.n_features is not None and self.n_classes is not None:
            return self.n_features, self.n_classes
        # A node's own data file first: a node holding other data then fails the layout check.
        if self.dataset is not None and ctx.data is None:
            ds = _bundled(self.dataset, ctx.seed)
            return ds.n_features, ds.n_classes
        data = _file(ctx.data or ctx.test_data, "initial_weights")
        return int(data.X.shape[1]), int(data.n_classes)

    def initial_weights(self, ctx: TaskContext) -> Weights:
        n_features, n_classes = self._shape(ctx)
        module = build_model(self.model, n_features=n_features, n_classes=n_classes, seed=ctx.seed)
        return state_to_numpy(module)

    def load_data(self, ctx: TaskContext) -> Any:
        if ctx.data is not None or self.dataset is None:
            return _file(ctx.data, "load_data")
        if ctx.participant is None:
            raise ConfigError("built-in task: load_data needs a participant index")
        part = _partition(
            self.dataset, ctx.seed, ctx.partition, ctx.alpha, ctx.min_size, ctx.n_participants
        )
        return participant_data(_bundled(self.dataset, ctx.seed), part, ctx.participant)

    def load_test_data(self, ctx: TaskContext) -> Any | None:
        if ctx.test_data is not None:
            return load_participant_data(ctx.test_data)
        return None if self.dataset is None else _bundled(self.dataset, ctx.seed).test

    def _module_for(self, weights: Weights, data: Any) -> Any:
        """A module of the right shape, reused (its weights are always overwritten)."""
        key = (int(data.X.shape[1]), _n_classes(weights))
        if key not in self._modules:
            self._modules[key] = build_model(
                self.model, n_features=key[0], n_classes=key[1], seed=0
            )
        return self._modules[key]

    def fit(self, weights: Weights, data: Any, config: FitConfig) -> FitResult:
        train = dataclasses.replace(
            self.train,
            epochs=int(config.get("epochs", self.train.epochs)),
            lr=float(config.get("lr", self.train.lr)),
            batch_size=int(config.get("batch_size", self.train.batch_size)),
        )
        module = self._module_for(weights, data)
        update = train_local(
            module,
            model_to_bytes(weights),
            data.X,
            data.y,
            config=train,
            seed=int(config.get("seed", 0)),
        )
        return FitResult(
            state_to_numpy(module), update.weight, {"train_loss": float(update.train_loss)}
        )

    def evaluate(self, weights: Weights, data: Any) -> EvalResult:
        module = self._module_for(weights, data)
        load_numpy_state(module, weights)
        acc, loss = evaluate(module, data.X, data.y, num_threads=self.train.num_threads)
        return EvalResult(loss=loss, num_examples=len(data.y), metrics={"accuracy": acc})


def _n_classes(weights: Weights) -> int:
    """Classes of a built-in model: rows of its last layer's bias."""
    last = sorted(n for n in weights if n.endswith(".bias"))[-1]
    return int(weights[last].shape[0])


digits_logreg = BuiltinTask("logreg", "digits")
digits_mlp = BuiltinTask("mlp", "digits")
digits_cnn = BuiltinTask("cnn", "digits")
breast_cancer_logreg = BuiltinTask("logreg", "breast_cancer")
breast_cancer_mlp = BuiltinTask("mlp", "breast_cancer")
wine_logreg = BuiltinTask("logreg", "wine")
wine_mlp = BuiltinTask("mlp", "wine")
logreg = BuiltinTask("logreg")
mlp = BuiltinTask("mlp")
cnn = BuiltinTask("cnn")


def builtin_runner(
    model: str,
    *,
    n_features: int,
    n_classes: int,
    train: TrainConfig,
    X: np.ndarray,
    y: np.ndarray,
    ctx: TaskContext,
) -> TaskRunner:
    """The runner of built-in `model` on in-memory (X, y) with `train` settings."""
    task = BuiltinTask(model, train=train, n_features=n_features, n_classes=n_classes)
    data = Split(X, y)
    return TaskRunner(task, name=f"builtin {model}", ctx=ctx, data=data)
