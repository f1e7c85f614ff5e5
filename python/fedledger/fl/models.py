"""PyTorch models by name (logistic regression, MLP, small CNN) with seeded initialisation."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

from fedledger.errors import ConfigError
from fedledger.fl.serialization import model_from_bytes, model_to_bytes

__all__ = [
    "MODEL_NAMES",
    "build_model",
    "load_model_bytes",
    "load_numpy_state",
    "module_to_bytes",
    "state_to_numpy",
]


class LogisticRegression(nn.Module):
    """Multinomial logistic regression: one linear layer on flat features."""

    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.reshape(x.shape[0], -1))


class MLP(nn.Module):
    """Two-layer perceptron with one ReLU hidden layer."""

    def __init__(self, n_features: int, n_classes: int, hidden: int = 64) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_features, hidden)
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x.reshape(x.shape[0], -1))))


class SmallCNN(nn.Module):
    """Two 3x3 conv blocks for small square single-channel images (digits: 1x8x8)."""

    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        side = math.isqrt(n_features)
        if side * side != n_features or side < 4:
            raise ConfigError(
                f"model 'cnn': n_features={n_features} is not a square image of side >= 4"
            )
        self.side = side
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.fc = nn.Linear(32 * (side // 4) * (side // 4), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], 1, self.side, self.side)
        h = torch.max_pool2d(torch.relu(self.conv1(h)), 2)
        h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)
        return self.fc(h.flatten(1))


_REGISTRY: dict[str, Callable[[int, int], nn.Module]] = {
    "logreg": LogisticRegression,
    "mlp": MLP,
    "cnn": SmallCNN,
}
MODEL_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def build_model(name: str, *, n_features: int, n_classes: int, seed: int) -> nn.Module:
    """A freshly initialised model; the same (name, sizes, seed) always gives the same weights.

    The global torch RNG is forked, so building a model does not disturb other code's RNG.
    """
    if name not in _REGISTRY:
        raise ConfigError(f"model: unknown name {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    if n_features < 1 or n_classes < 2:
        raise ConfigError(
            f"model {name!r}: need n_features >= 1 and n_classes >= 2, "
            f"got {n_features} and {n_classes}"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = _REGISTRY[name](n_features, n_classes)
    return module


def state_to_numpy(module: nn.Module) -> dict[str, np.ndarray]:
    """The module's state_dict as float32 numpy copies (detached, on CPU)."""
    return {
        name: tensor.detach().cpu().to(torch.float32).numpy().copy()
        for name, tensor in module.state_dict().items()
    }


def load_numpy_state(module: nn.Module, state: Mapping[str, np.ndarray]) -> None:
    """Copy a numpy state into the module, checking names and shapes first."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise ConfigError(
            f"model state does not fit the module: missing {missing}, unexpected {extra}"
        )
    for name, tensor in own.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ConfigError(
                f"model state: tensor {name!r} has shape {tuple(state[name].shape)}, "
                f"module expects {tuple(tensor.shape)}"
            )
    module.load_state_dict(
        {name: torch.from_numpy(np.array(arr, dtype=np.float32)) for name, arr in state.items()}
    )


def module_to_bytes(module: nn.Module) -> bytes:
    """Canonical model bytes of a module (see fl.serialization)."""
    return model_to_bytes(state_to_numpy(module))


def load_model_bytes(module: nn.Module, data: bytes) -> None:
    """Load canonical model bytes into the module."""
    load_numpy_state(module, model_from_bytes(data))
