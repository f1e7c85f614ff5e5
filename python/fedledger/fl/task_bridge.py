"""Between a Task and the protocol: weights <-> model bytes, the update, layout checks, evaluation.

Everything a coordinator, node or simulation does with a task goes through here, for
built-in and user tasks alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fedledger.fl.serialization import (
    ModelFormatError,
    flatten_model,
    model_from_bytes,
    model_to_bytes,
)
from fedledger.fl.task import FitConfig, Scalar, Task, TaskContext, TaskError, Weights
from fedledger.fl.train import LocalUpdate

__all__ = [
    "TaskMismatch",
    "TaskRunner",
    "check_layout",
    "fit_config",
    "fit_model",
    "initial_model",
    "layout",
    "local_update",
    "make_task_evaluator",
    "weights_of",
    "weights_to_model",
]


class TaskMismatch(TaskError):
    """The task's model does not have the layout of the model the coordinator published."""


def weights_to_model(weights: Any, *, what: str) -> bytes:
    """Canonical model bytes of task weights; floating tensors are cast to float32."""
    if not isinstance(weights, Mapping) or not weights:
        raise TaskError(f"{what}: expected a non-empty dict of named arrays")
    state: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TaskError(f"{what}: tensor {name!r} has dtype {arr.dtype}, need floating point")
        state[str(name)] = np.array(arr, dtype=np.float32, order="C")
    try:
        return model_to_bytes(state)
    except ModelFormatError as exc:
        raise TaskError(f"{what}: {exc}") from None


def layout(model: bytes) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of model bytes."""
    return {name: tuple(arr.shape) for name, arr in model_from_bytes(model).items()}


def check_layout(mine: bytes, published: bytes, *, task: str) -> None:
    """TaskMismatch naming the first difference between two models' tensor names and shapes."""
    a, b = layout(mine), layout(published)
    if a == b:
        return
    missing = sorted(set(b) - set(a))
    extra = sorted(set(a) - set(b))
    if missing or extra:
        detail = f"tensors missing here {missing[:3]}, not in the published model {extra[:3]}"
    else:
        name = next(n for n in sorted(a) if a[n] != b[n])
        detail = f"tensor {name!r} is {a[name]} here but {b[name]} in the published model"
    raise TaskMismatch(
        f"task {task!r} does not match the federation's published model ({detail}); "
        "run the task the coordinator publishes"
    )


def initial_model(task: Task, ctx: TaskContext, *, name: str) -> bytes:
    """The task's initial weights as canonical model bytes."""
    return weights_to_model(task.initial_weights(ctx), what=f"task {name!r}: initial_weights")


def fit_config(round_id: int, seed: int, **extra: Scalar) -> dict[str, Scalar]:
    """The config every `Task.fit` gets: 1-based `round`, the derived `seed`, node settings."""
    return {"round": int(round_id), "seed": int(seed), **extra}


def local_update(
    task: Task, global_model: bytes, data: Any, config: FitConfig, *, name: str
) -> LocalUpdate:
    """Run `task.fit` from `global_model` and turn its result into a FedAvg update."""
    return fit_model(task, global_model, data, config, name=name)[1]


def fit_model(
    task: Task, global_model: bytes, data: Any, config: FitConfig, *, name: str
) -> tuple[bytes, LocalUpdate]:
    """`task.fit` from `global_model`: the trained model bytes and the FedAvg update."""
    what = f"task {name!r}: fit"
    result = task.fit(model_from_bytes(global_model), data, config)
    if not (hasattr(result, "weights") and hasattr(result, "num_examples")):
        raise TaskError(f"{what} returned {type(result).__name__}, expected a FitResult")
    weights, count = result.weights, result.num_examples
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise TaskError(f"{what}: num_examples must be a positive integer, got {count!r}")
    trained = weights_to_model(weights, what=what)
    check_layout(trained, global_model, task=name)
    delta = (flatten_model(trained) - flatten_model(global_model)).astype(np.float32)
    if not np.all(np.isfinite(delta)):
        raise TaskError(f"{what}: the trained weights are not finite (lower the learning rate)")
    metrics = dict(result.metrics or {})
    loss = metrics.get("train_loss", metrics.get("loss", math.nan))
    return trained, LocalUpdate(
        delta=delta,
        weight=int(count),
        train_loss=float(loss) if isinstance(loss, int | float) else math.nan,
    )


def make_task_evaluator(
    task: Task, test_data: Any, *, name: str
) -> Callable[[bytes], tuple[float, float]] | None:
    """evaluate(model bytes) -> (accuracy, loss) on the task's held-out data; None without data.

    A task that reports no 'accuracy' metric gets 0.0 there (the report's column is numeric).
    """
    if test_data is None:
        return None

    def run(model: bytes) -> tuple[float, float]:
        result = task.evaluate(model_from_bytes(model), test_data)
        loss = getattr(result, "loss", None)
        if not isinstance(loss, int | float):
            raise TaskError(f"task {name!r}: evaluate must return an EvalResult with a loss")
        acc = dict(getattr(result, "metrics", None) or {}).get("accuracy", 0.0)
        return float(acc) if isinstance(acc, int | float) else 0.0, float(loss)

    return run


def weights_of(model: bytes) -> Weights:
    """Task weights of model bytes (a dict of float32 arrays in sorted name order)."""
    return model_from_bytes(model)


class TaskRunner:
    """One participant's side of a task: its data, the layout check, and its updates."""

    def __init__(
        self,
        task: Task,
        *,
        name: str,
        ctx: TaskContext,
        data: Any = None,
        extra_config: Mapping[str, Scalar] | None = None,
    ) -> None:
        """`data` defaults to `task.load_data(ctx)`; `extra_config` goes into every fit config."""
        self.task = task
        self.name = name
        self.ctx = ctx
        self.data = task.load_data(ctx) if data is None else data
        self.extra_config = dict(extra_config or {})
        self._layout: dict[str, tuple[int, ...]] | None = None

    def check(self, published: bytes) -> None:
        """TaskMismatch unless this task's model has the layout of `published`."""
        if self._layout is None:
            self._layout = layout(initial_model(self.task, self.ctx, name=self.name))
        if self._layout != layout(published):
            check_layout(
                initial_model(self.task, self.ctx, name=self.name), published, task=self.name
            )

    def update(self, global_model: bytes, *, round_id: int, seed: int) -> LocalUpdate:
        """Check the layout, then fit from `global_model` with the round's derived seed."""
        self.check(global_model)
        config = fit_config(round_id, seed, **self.extra_config)
        return local_update(self.task, global_model, self.data, config, name=self.name)
