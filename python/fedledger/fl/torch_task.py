"""TorchTask: a Task for a PyTorch module with its own training loop (weights <-> state_dict)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from fedledger.fl.models import load_numpy_state, state_to_numpy
from fedledger.fl.task import EvalResult, FitConfig, FitResult, Scalar, Task, TaskContext, Weights

__all__ = ["TorchTask"]


class TorchTask(Task):
    """Write `build_model`, `load_data`, `train` and `test`; fedledger does the rest.

    `train` and `test` receive a module already holding the global weights. The module's
    float32 `state_dict` is the model fedledger aggregates (buffers included). Training runs
    with torch's global RNG seeded from `config["seed"]` and restored afterwards, so a run is
    repeatable. A module built for `fit`/`evaluate` uses the context `initial_weights` last
    saw (fedledger always asks for the initial weights first: to publish or to check them).
    """

    _ctx: TaskContext | None = None
    _module: nn.Module | None = None

    @abstractmethod
    def build_model(self, ctx: TaskContext) -> nn.Module:
        """A fresh module (torch's RNG is already seeded with `ctx.seed`)."""

    @abstractmethod
    def train(
        self, module: nn.Module, data: Any, config: FitConfig
    ) -> int | tuple[int, Mapping[str, Scalar]]:
        """Train `module` in place; return the number of examples (and optional metrics)."""

    @abstractmethod
    def test(self, module: nn.Module, data: Any) -> EvalResult:
        """Evaluate `module` on `data`."""

    def _remember(self, ctx: TaskContext) -> None:
        self._ctx = ctx

    def _module_with(self, weights: Weights) -> nn.Module:
        if self._module is None:
            ctx = self._ctx or TaskContext()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(ctx.seed)
                self._module = self.build_model(ctx)
        load_numpy_state(self._module, weights)
        return self._module

    def initial_weights(self, ctx: TaskContext) -> Weights:
        self._remember(ctx)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            return state_to_numpy(self.build_model(ctx))

    def fit(self, weights: Weights, data: Any, config: FitConfig) -> FitResult:
        module = self._module_with(weights)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.get("seed", 0)))
            module.train()
            out = self.train(module, data, config)
        count, metrics = out if isinstance(out, tuple) else (out, {})
        return FitResult(state_to_numpy(module), count, dict(metrics))

    def evaluate(self, weights: Weights, data: Any) -> EvalResult:
        module = self._module_with(weights)
        with torch.no_grad():
            module.eval()
            return self.test(module, data)
