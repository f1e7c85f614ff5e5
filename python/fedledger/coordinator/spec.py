"""Static coordinator settings: the off-chain stage durations and the on-chain bounds of waits."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fedledger.errors import ConfigError

__all__ = ["StageDurations", "chain_margin"]


def chain_margin(window: int) -> int:
    """Seconds kept before an on-chain deadline for the aggregator's own transaction after it.

    A fifth of the governed window, at least 3 s and at most 30 s: with a 30 s window the key
    stage closes 6 s before the roster deadline, with 600 s windows 30 s before.
    """
    return int(min(30, max(3, window // 5)))


@dataclass(frozen=True)
class StageDurations:
    """Optional early closes of the off-chain stages, in seconds of the coordinator's clock.

    None (the default) means: wait until every expected message is in or the stage's
    on-chain bound is near (`Transitions` says which). A number closes the stage earlier,
    counted from the later of the stage's start and the coordinator's (re)start, so a slow
    restart never eats the participants' time. The chain's bound always applies.
    """

    advertise_keys: float | None = None
    """From open until the roster is fixed (bound: the on-chain roster deadline)."""
    share_keys: float | None = None
    """From the roster on chain until U2 is fixed (bound: half of the commit window)."""
    unmask: float | None = None
    """From the unmask request until the shares are combined (bound: the unmask deadline)."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is None:
                continue
            if not isinstance(value, int | float) or value <= 0:
                raise ConfigError(
                    f"StageDurations.{name}: must be a positive number of seconds, got {value!r}"
                )

    def to_json(self) -> dict[str, float | None]:
        """Plain JSON object (null: follow the chain)."""
        return {k: None if v is None else float(v) for k, v in asdict(self).items()}
