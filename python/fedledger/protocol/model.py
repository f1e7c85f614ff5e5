"""ModelSpec: what a federation trains, as the coordinator announces it to its nodes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fedledger.errors import ConfigError

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """What is trained: the model architecture and the shape of the dataset it reads."""

    model: str
    dataset: str
    n_features: int
    n_classes: int

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
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"model spec: bad or missing field ({exc})") from None
