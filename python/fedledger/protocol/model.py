"""ModelSpec: what a federation trains, as the coordinator announces it to its nodes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fedledger.errors import ConfigError

__all__ = ["ModelSpec"]


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
