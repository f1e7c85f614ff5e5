"""Static coordinator settings: the model trained, stage durations, chain params -> secagg."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fedledger.chain.datatypes import RoundConfig
from fedledger.errors import ConfigError
from fedledger.secagg.params import SecAggParams

__all__ = ["ModelSpec", "StageDurations", "secagg_params"]


@dataclass(frozen=True)
class ModelSpec:
    """What is trained: the task (import string), the model architecture and the data's shape.

    For a built-in task, `model`, `dataset`, `n_features` and `n_classes` name it; for any
    other task `model` repeats the task string and the shape fields are 0 (the published
    genesis model fixes the layout).
    """

    model: str
    dataset: str
    n_features: int
    n_classes: int
    task: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Any) -> ModelSpec:
        """Parse the JSON form, naming a missing field."""
        try:
            return cls(
                str(obj["model"]),
                str(obj["dataset"]),
                int(obj["n_features"]),
                int(obj["n_classes"]),
                str(obj.get("task", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"model spec: bad or missing field ({exc})") from None


@dataclass(frozen=True)
class StageDurations:
    """Off-chain stage deadlines in seconds of the coordinator's clock.

    The commit and unmask windows are on chain (RoundConfig).
    """

    advertise_keys: float = 60.0
    """From open until the roster is fixed (bounded by the on-chain roster deadline)."""
    share_keys: float = 60.0
    """From the roster on chain until U2 (the sharers) is fixed."""
    unmask: float = 60.0
    """From the unmask request until the shares are combined (bounded by the on-chain deadline)."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int | float) or value <= 0:
                raise ConfigError(
                    f"StageDurations.{name}: must be a positive number of seconds, got {value!r}"
                )

    def to_json(self) -> dict[str, float]:
        """Plain JSON object."""
        return {k: float(v) for k, v in asdict(self).items()}


def secagg_params(config: RoundConfig) -> SecAggParams:
    """The secagg parameters of a round, from its on-chain `RoundConfig` snapshot."""
    return SecAggParams(
        neighbours=config.neighbours,
        threshold=config.threshold,
        clip_range=config.clip_range,
        quant_bits=config.quant_bits,
        max_weight=config.max_weight,
    )
