"""Static coordinator settings: the off-chain stage durations."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fedledger.errors import ConfigError

__all__ = ["StageDurations"]


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
