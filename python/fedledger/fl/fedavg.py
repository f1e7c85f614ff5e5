"""Plain weighted FedAvg (the non-secure reference), FedAvg of any task, a centralised run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fedledger.errors import ConfigError
from fedledger.fl.builtin import BuiltinTask
from fedledger.fl.datasets import Dataset
from fedledger.fl.partition import Partition, participant_data
from fedledger.fl.serialization import DecodedAggregate, apply_aggregate
from fedledger.fl.task import Task, TaskContext
from fedledger.fl.task_bridge import (
    fit_config,
    fit_model,
    initial_model,
    local_update,
    make_task_evaluator,
)
from fedledger.fl.train import LocalUpdate, TrainConfig, derive_seed

__all__ = [
    "Aggregator",
    "CentralisedResult",
    "FedAvgResult",
    "PlainAggregate",
    "RoundMetrics",
    "fedavg_aggregate",
    "run_centralised",
    "run_fedavg",
    "run_plain_fedavg",
    "run_task_fedavg",
]


@dataclass(frozen=True)
class PlainAggregate:
    """The exact (unquantised) FedAvg aggregate: sum_u w_u * delta_u in float64, and sum_u w_u."""

    total_weight: int
    weighted_sum: np.ndarray


def fedavg_aggregate(round_index: int, updates: Sequence[LocalUpdate]) -> PlainAggregate:
    """Weighted sum of float deltas in float64, accumulated in participant order."""
    del round_index  # the plain aggregator does not depend on the round
    if not updates:
        raise ConfigError("fedavg: no updates to aggregate")
    size = updates[0].delta.size
    wsum = np.zeros(size, dtype=np.float64)
    total = 0
    for i, upd in enumerate(updates):
        if upd.delta.shape != (size,):
            raise ConfigError(f"fedavg: update {i} has shape {upd.delta.shape}, expected ({size},)")
        if upd.weight <= 0:
            raise ConfigError(f"fedavg: update {i} has non-positive weight {upd.weight}")
        wsum += np.float64(upd.weight) * upd.delta.astype(np.float64)
        total += int(upd.weight)
    return PlainAggregate(total_weight=total, weighted_sum=wsum)


# Seed label of the centralised run (FedAvg uses (round, participant) labels).
_CENTRAL_LABEL = 2**31

# (round index, the round's local updates in participant order) -> decoded aggregate.
# The secure path plugs in here: quantise + mask + sum + decode gives the same shape of result.
Aggregator = Callable[[int, Sequence[LocalUpdate]], DecodedAggregate]


@dataclass(frozen=True)
class RoundMetrics:
    """Global model quality after one round."""

    round: int
    accuracy: float
    loss: float
    participants: int
    total_weight: int


@dataclass(frozen=True)
class FedAvgResult:
    """History of a FedAvg run and its final model bytes."""

    history: list[RoundMetrics] = field(default_factory=list)
    final_model: bytes = b""

    @property
    def final_accuracy(self) -> float:
        return self.history[-1].accuracy if self.history else float("nan")


@dataclass(frozen=True)
class CentralisedResult:
    """Centralised training on the pooled training data."""

    accuracy: float
    loss: float
    epochs: int
    final_model: bytes


def run_task_fedavg(
    *,
    task: Task,
    name: str,
    shards: Sequence[Any],
    test_data: Any,
    rounds: int,
    seed: int,
    ctx: TaskContext | None = None,
    aggregate: Aggregator = fedavg_aggregate,
    on_round: Callable[[RoundMetrics], None] | None = None,
) -> FedAvgResult:
    """Simulate `rounds` of FedAvg of any task, every participant (one per shard) each round.

    Participant u in round r fits with ``config = {"round": r + 1, "seed": derive_seed(seed,
    r, u)}``, exactly as a node does; the initial model is ``task.initial_weights(ctx)``.
    Any `aggregate` given the same updates therefore sees the same inputs, so secure and
    plain runs are comparable.
    """
    if rounds < 1:
        raise ConfigError(f"fedavg: rounds must be >= 1, got {rounds}")
    ctx = ctx or TaskContext(n_participants=len(shards), seed=seed)
    model = initial_model(task, ctx, name=name)
    evaluator = make_task_evaluator(task, test_data, name=name)
    history: list[RoundMetrics] = []
    for r in range(rounds):
        updates = [
            local_update(task, model, s, fit_config(r + 1, derive_seed(seed, r, u)), name=name)
            for u, s in enumerate(shards)
        ]
        decoded = aggregate(r, updates)
        model = apply_aggregate(model, decoded)
        acc, loss = evaluator(model) if evaluator is not None else (float("nan"),) * 2
        metrics = RoundMetrics(
            round=r,
            accuracy=acc,
            loss=loss,
            participants=len(updates),
            total_weight=int(decoded.total_weight),
        )
        history.append(metrics)
        if on_round is not None:
            on_round(metrics)
    return FedAvgResult(history=history, final_model=model)


def _builtin(dataset: Dataset, model_name: str, train_config: TrainConfig) -> BuiltinTask:
    return BuiltinTask(
        model_name,
        train=train_config,
        n_features=dataset.n_features,
        n_classes=dataset.n_classes,
    )


def run_fedavg(
    *,
    dataset: Dataset,
    partition: Partition,
    model_name: str,
    rounds: int,
    train_config: TrainConfig,
    seed: int,
    aggregate: Aggregator = fedavg_aggregate,
    on_round: Callable[[RoundMetrics], None] | None = None,
) -> FedAvgResult:
    """`run_task_fedavg` of the built-in task `model_name` on `dataset` split by `partition`.

    The initial model is ``build_model(model_name, seed=seed)``; evaluation is on the test split.
    """
    return run_task_fedavg(
        task=_builtin(dataset, model_name, train_config),
        name=f"builtin {model_name} on {dataset.name}",
        shards=[participant_data(dataset, partition, u) for u in range(partition.n_parties)],
        test_data=dataset.test,
        rounds=rounds,
        seed=seed,
        aggregate=aggregate,
        on_round=on_round,
    )


def run_plain_fedavg(
    *,
    dataset: Dataset,
    partition: Partition,
    model_name: str,
    rounds: int,
    train_config: TrainConfig,
    seed: int,
    on_round: Callable[[RoundMetrics], None] | None = None,
) -> FedAvgResult:
    """`run_fedavg` with the exact float64 aggregator (the non-secure reference)."""
    return run_fedavg(
        dataset=dataset,
        partition=partition,
        model_name=model_name,
        rounds=rounds,
        train_config=train_config,
        seed=seed,
        aggregate=fedavg_aggregate,
        on_round=on_round,
    )


def run_centralised(
    *,
    dataset: Dataset,
    model_name: str,
    epochs: int,
    train_config: TrainConfig,
    seed: int,
) -> CentralisedResult:
    """Train one model on the pooled training split for `epochs` epochs, then evaluate.

    Starts from the same initial model as `run_fedavg` with the same `seed`.
    """
    task = _builtin(dataset, model_name, dataclasses.replace(train_config, epochs=epochs))
    name = f"builtin {model_name} on {dataset.name}"
    initial = initial_model(task, TaskContext(seed=seed), name=name)
    config = fit_config(1, derive_seed(seed, _CENTRAL_LABEL))
    final, _ = fit_model(task, initial, dataset.train, config, name=name)
    evaluator = make_task_evaluator(task, dataset.test, name=name)
    assert evaluator is not None
    acc, loss = evaluator(final)
    return CentralisedResult(accuracy=acc, loss=loss, epochs=epochs, final_model=final)
