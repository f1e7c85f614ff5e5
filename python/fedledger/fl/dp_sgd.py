"""Record-level DP-SGD for local training with Opacus: Poisson batches, per-example clip, noise."""

from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fedledger.chain.datatypes import DP_SGD, RoundConfig
from fedledger.errors import ConfigError
from fedledger.fl.models import load_model_bytes, module_to_bytes
from fedledger.fl.serialization import flatten_model
from fedledger.fl.train import LocalUpdate, TrainConfig, torch_threads

__all__ = ["DpSgdParams", "train_local_dp"]


@dataclass(frozen=True)
class DpSgdParams:
    """The governed DP-SGD mechanism of a round (RoundConfig mode 1, docs/protocol.md 3.3)."""

    noise_multiplier: float
    clip_norm: float
    sample_rate: float
    steps: int

    def __post_init__(self) -> None:
        if not self.noise_multiplier > 0 or not self.clip_norm > 0:
            raise ConfigError("dp-sgd: noise multiplier and clip norm must be > 0")
        if not 0 < self.sample_rate <= 1 or self.steps < 1:
            raise ConfigError("dp-sgd: need 0 < sample rate <= 1 and steps >= 1")

    @classmethod
    def from_config(cls, config: RoundConfig) -> DpSgdParams:
        """The parameters a round snapshot (dp mode 1) prescribes."""
        if config.dp_mode != DP_SGD:
            raise ConfigError(f"dp-sgd: round dp mode is {config.dp_mode}, not {DP_SGD}")
        return cls(
            config.noise_multiplier,
            config.dp_clip_norm,
            config.dp_sample_rate,
            config.dp_steps_per_round,
        )


def train_local_dp(
    module: nn.Module,
    global_model: bytes,
    X: np.ndarray,
    y: np.ndarray,
    *,
    dp: DpSgdParams,
    config: TrainConfig,
    seed: int,
    noise_seed: int | None = None,
) -> LocalUpdate:
    """DP-SGD from `global_model`: `dp.steps` steps, each on a Poisson sample of rate q.

    Each example's gradient is clipped to `dp.clip_norm` in L2 and Gaussian noise of standard
    deviation `noise_multiplier * clip_norm` is added to the sum (Opacus' DPOptimizer), which
    is divided by the expected batch q * n. `config` gives lr, momentum and threads (its epochs
    and batch size are replaced by the governed steps and rate). The batches follow `seed`;
    the noise follows `noise_seed`, and with None (the default) fresh OS entropy: a noise seed
    anyone can derive voids the guarantee, so only benchmarks and tests pass one.
    """
    try:
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer
    except ImportError:
        raise ConfigError("dp-sgd needs opacus: pip install 'fedledger[dp]'") from None

    if X.ndim != 2 or X.dtype != np.float32 or y.dtype != np.int64 or y.shape != (X.shape[0],):
        raise ConfigError("dp-sgd: X must be 2-D float32 and y 1-D int64, one label per row")
    if y.size == 0:
        raise ConfigError("dp-sgd: no examples")
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(y))
    n = int(yt.shape[0])
    load_model_bytes(module, global_model)
    old_flat = flatten_model(global_model)
    sampler = torch.Generator().manual_seed(seed)
    noise = torch.Generator().manual_seed(
        noise_seed if noise_seed is not None else int.from_bytes(os.urandom(8), "big") >> 1
    )
    loss_fn = nn.CrossEntropyLoss()
    total_loss, seen = 0.0, 0
    # Opacus hooks the module it wraps: train a copy so `module` stays a plain nn.Module.
    work = copy.deepcopy(module)
    with torch_threads(config.num_threads):
        gsm = GradSampleModule(work, loss_reduction="mean")
        base = torch.optim.SGD(
            gsm.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
        opt = DPOptimizer(
            base,
            noise_multiplier=dp.noise_multiplier,
            max_grad_norm=dp.clip_norm,
            expected_batch_size=max(1, round(dp.sample_rate * n)),
            loss_reduction="mean",
            generator=noise,
        )
        gsm.train()
        for _ in range(dp.steps):
            batch = (torch.rand(n, generator=sampler) < dp.sample_rate).nonzero().squeeze(1)
            opt.zero_grad(set_to_none=True)
            if batch.numel() == 0:
                # An empty Poisson batch still takes a noisy step (the accountant counts it).
                for p in gsm.parameters():
                    p.grad_sample = torch.zeros((0, *p.shape))
            else:
                loss = loss_fn(gsm(Xt[batch]), yt[batch])
                with warnings.catch_warnings():
                    # Opacus' hooks on a first layer whose input needs no gradient: harmless.
                    warnings.filterwarnings("ignore", message="Full backward hook is firing")
                    loss.backward()
                total_loss += float(loss.detach()) * int(batch.numel())
                seen += int(batch.numel())
            opt.step()
        gsm._close()
    module.load_state_dict(work.state_dict())
    delta = (flatten_model(module_to_bytes(module)) - old_flat).astype(np.float32)
    if not np.all(np.isfinite(delta)):
        raise ConfigError("dp-sgd: local training diverged (non-finite weights); lower the lr")
    return LocalUpdate(delta=delta, weight=n, train_loss=total_loss / max(seen, 1))
