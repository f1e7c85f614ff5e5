"""The Task API: what a federation trains (model, local data, local training, evaluation).

A task is one object with four methods. fedledger never looks inside a task's data or
model: it only moves named float32 tensors ("weights") between the task and the
protocol, which encodes them canonically (fl.serialization) and aggregates
``weights_after_fit - global_weights`` securely. Tasks are named by an import string
``package.module:attribute`` (see fl.task_loader).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fedledger.errors import ConfigError

__all__ = [
    "EvalResult",
    "FitConfig",
    "FitResult",
    "Scalar",
    "Task",
    "TaskContext",
    "TaskError",
    "Weights",
]

Weights = dict[str, np.ndarray]
"""Named tensors of a model; float32, any shapes. Names fix the coordinate order (sorted)."""

Scalar = bool | int | float | str
"""A metric or configuration value (Flower's `Scalar` without bytes)."""

FitConfig = Mapping[str, Scalar]
"""What fedledger tells `Task.fit`: always `round` (1-based) and `seed` (derived per round and
participant); plus the node's `epochs`, `lr` and `batch_size` when the operator set them."""


class TaskError(ConfigError):
    """A task could not be loaded, or broke the Task API (wrong return type, layout, dtype)."""


@dataclass(frozen=True)
class TaskContext:
    """Where `load_data` / `load_test_data` / `initial_weights` run.

    Simulations pass the participant index and count, and the partition settings, so a
    task can split one dataset itself; a node process passes its `data` file instead.
    """

    participant: int | None = None
    """0-based index of this participant; None on the coordinator."""
    n_participants: int = 1
    seed: int = 0
    """The federation's seed: data split, partition and initial model."""
    data: Path | None = None
    """This participant's data file (`fedledger node run --data/--partition`), if any."""
    test_data: Path | None = None
    """The coordinator's held-out data file, if any."""
    partition: str = "dirichlet"
    """How a task that splits its own data should do it: 'dirichlet' or 'iid'."""
    alpha: float = 0.5
    min_size: int = 10
    options: Mapping[str, Scalar] = field(default_factory=dict)
    """Free-form settings passed through to the task (Flower's node_config gets them too)."""


@dataclass(frozen=True)
class FitResult:
    """A participant's local contribution: trained weights and how many examples made them.

    fedledger's update is ``weights - global_weights``; `num_examples` is its FedAvg weight.
    """

    weights: Weights
    num_examples: int
    metrics: Mapping[str, Scalar] = field(default_factory=dict)
    """Reported by the node (e.g. 'train_loss'); never aggregated."""


@dataclass(frozen=True)
class EvalResult:
    """Quality of some weights on some data; 'accuracy' in `metrics` feeds the round report."""

    loss: float
    num_examples: int
    metrics: Mapping[str, Scalar] = field(default_factory=dict)


class Task(ABC):
    """Subclass this (or `fl.torch_task.TorchTask` for PyTorch modules) to bring your own model.

    The same task object must give the same `initial_weights` layout on every machine:
    nodes refuse to train when theirs differs from the model the coordinator published.
    """

    @abstractmethod
    def initial_weights(self, ctx: TaskContext) -> Weights:
        """The model to start from (deterministic in `ctx.seed`)."""

    @abstractmethod
    def load_data(self, ctx: TaskContext) -> Any:
        """This participant's training data, in whatever form `fit` wants."""

    @abstractmethod
    def fit(self, weights: Weights, data: Any, config: FitConfig) -> FitResult:
        """Train locally, starting from the global `weights`."""

    @abstractmethod
    def evaluate(self, weights: Weights, data: Any) -> EvalResult:
        """Evaluate `weights` on `data` (from `load_data` or `load_test_data`)."""

    def load_test_data(self, ctx: TaskContext) -> Any | None:
        """Held-out data the coordinator evaluates each new model on; None: no evaluation."""
        return None
