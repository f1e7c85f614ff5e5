"""Reference arithmetic of the reward rule and of a slash (docs/protocol.md section 3.1)."""

from __future__ import annotations

from collections.abc import Mapping

from fedledger.chain.datatypes import BPS, RoundConfig
from fedledger.errors import ConfigError

__all__ = ["reward_amounts", "slash_amount"]


def reward_amounts(config: RoundConfig, weights: Mapping[str, int]) -> dict[str, int]:
    """Token units each survivor may claim after finalize; `weights` = survivor -> committed weight.

    Mode 0: min(R, floor(cap / n)) each. Mode 1: floor(R * w / maxWeight) each, unless
    R * W > cap * maxWeight (W = sum of weights), then floor(cap * w / W) each. Zero amounts are
    not minted (a claim of 0 mints nothing), so they are left out here too.
    """
    n = len(weights)
    if n == 0:
        return {}
    reward, cap = config.reward_per_contribution, config.reward_cap
    if config.reward_mode == 0:
        each = cap // n if reward * n > cap else reward
        return {a: each for a in weights} if each else {}
    if config.reward_mode != 1:
        raise ConfigError(f"reward_mode: unsupported value {config.reward_mode}")
    total = sum(weights.values())
    num, den = (
        (cap, total) if reward * total > cap * config.max_weight else (reward, config.max_weight)
    )
    out = {a: w * num // den for a, w in weights.items()}
    return {a: v for a, v in out.items() if v}


def slash_amount(stake: int, slash_bps: int) -> int:
    """Token units one slash takes: floor(stake * slashBps / 10000)."""
    return stake * slash_bps // BPS
