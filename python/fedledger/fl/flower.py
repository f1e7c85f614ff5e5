"""Flower clients as fedledger tasks: a `NumPyClient` or a `client_fn(context)` runs unchanged.

Needs the optional extra `fedledger[flower]` (PyPI `flwr`). fedledger calls the client's
`fit(parameters, config)` with the current global model and turns the returned parameters
and example count into the masked update; `evaluate(parameters, config)` gives the metrics.
Flower's parameter list becomes named tensors `param_0000`, `param_0001`, ... (list order).
What of Flower's API is supported is listed in docs/tasks.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from fedledger.fl.task import (
    EvalResult,
    FitConfig,
    FitResult,
    Scalar,
    Task,
    TaskContext,
    TaskError,
    Weights,
)

try:
    from flwr.app import Context, RecordDict
    from flwr.client import Client, ClientApp, NumPyClient
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise TaskError(
        "Flower clients need the 'flower' extra: pip install 'fedledger[flower]' "
        f"({type(_exc).__name__}: {_exc})"
    ) from None

__all__ = ["FlowerTask", "flower_task_from", "to_parameters", "to_weights"]


def to_weights(parameters: Any, *, what: str) -> Weights:
    """Flower's list of arrays as named tensors, in list order."""
    if not isinstance(parameters, list | tuple) or not parameters:
        raise TaskError(f"{what}: expected a non-empty list of numpy arrays")
    return {f"param_{i:04d}": np.asarray(p) for i, p in enumerate(parameters)}


def to_parameters(weights: Weights) -> list[np.ndarray]:
    """Named tensors back into Flower's list (sorted names = list order)."""
    return [np.asarray(weights[name]) for name in sorted(weights)]


def _scalars(metrics: Any) -> dict[str, Scalar]:
    """Flower metrics minus what fedledger cannot report (bytes)."""
    if not isinstance(metrics, Mapping):
        return {}
    return {str(k): v for k, v in metrics.items() if isinstance(v, bool | int | float | str)}


def _unwrap(made: Any, *, what: str) -> NumPyClient:
    if isinstance(made, NumPyClient):
        return made
    inner = getattr(made, "numpy_client", None)  # what NumPyClient.to_client() returns
    if isinstance(made, Client) and isinstance(inner, NumPyClient):
        return inner
    raise TaskError(
        f"{what} returned {type(made).__name__}; fedledger runs NumPyClient "
        "(or NumPyClient(...).to_client()) only"
    )


@dataclasses.dataclass
class FlowerTask(Task):
    """A task whose participants are Flower NumPyClients.

    Give `client_fn` (called once per participant with a Flower `Context` whose node_config
    holds "partition-id" and "num-partitions") or one `client` used as is. The initial model
    is `initial_parameters` if given, else the `get_parameters({})` of the client of
    partition 0; that client's `evaluate` also scores each new global model.
    """

    client_fn: Callable[[Context], Any] | None = None
    client: NumPyClient | None = None
    initial_parameters: list[np.ndarray] | None = None
    name: str = "flower"

    def _client(self, ctx: TaskContext, participant: int) -> NumPyClient:
        if self.client is not None:
            return self.client
        assert self.client_fn is not None
        config: dict[str, Scalar] = {
            **ctx.options,
            "partition-id": participant,
            "num-partitions": ctx.n_participants,
        }
        context = Context(
            run_id=0,
            node_id=participant,
            node_config=config,
            state=RecordDict(),
            run_config={"seed": ctx.seed, **ctx.options},
        )
        return _unwrap(self.client_fn(context), what=f"task {self.name!r}: client_fn")

    def initial_weights(self, ctx: TaskContext) -> Weights:
        what = f"task {self.name!r}: get_parameters"
        if self.initial_parameters is not None:
            return to_weights(list(self.initial_parameters), what=what)
        # Flower clients build their model from torch's global RNG: seed it (inside a fork,
        # so nothing leaks) so that `--seed` reproduces the run, as for native tasks.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            return to_weights(self._client(ctx, 0).get_parameters({}), what=what)

    def load_data(self, ctx: TaskContext) -> NumPyClient:
        # A Flower client holds its own data: the client is this participant's "data".
        return self._client(ctx, ctx.participant or 0)

    def load_test_data(self, ctx: TaskContext) -> NumPyClient:
        return self._client(ctx, 0)

    def fit(self, weights: Weights, data: Any, config: FitConfig) -> FitResult:
        what = f"task {self.name!r}: fit"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.get("seed", 0)))  # shuffling, dropout: reproducible
            out = data.fit(to_parameters(weights), dict(config))
        if not (isinstance(out, tuple | list) and len(out) == 3):
            raise TaskError(f"{what} must return (parameters, num_examples, metrics)")
        parameters, count, metrics = out
        new = to_weights(parameters, what=what)
        if len(new) != len(weights):
            raise TaskError(f"{what} returned {len(new)} arrays for a model of {len(weights)}")
        return FitResult(new, count, _scalars(metrics))

    def evaluate(self, weights: Weights, data: Any) -> EvalResult:
        out = data.evaluate(to_parameters(weights), {})
        if not (isinstance(out, tuple | list) and len(out) == 3):
            raise TaskError(
                f"task {self.name!r}: evaluate must return (loss, num_examples, metrics)"
            )
        loss, count, metrics = out
        return EvalResult(float(loss), int(count), _scalars(metrics))


def flower_task_from(spec: str, obj: Any, *, client_fn_like: bool) -> FlowerTask | None:
    """A FlowerTask for Flower client code named by `spec`; None when `obj` is not Flower code."""
    if isinstance(obj, ClientApp):
        raise TaskError(
            f"task {spec!r}: a Flower ClientApp cannot be run as is; name the client_fn "
            "it was built from instead (module:client_fn)"
        )
    if isinstance(obj, NumPyClient | Client):
        return FlowerTask(client=_unwrap(obj, what=f"task {spec!r}"), name=spec)
    if client_fn_like:
        return FlowerTask(client_fn=obj, name=spec)
    return None
