"""Epsilon of one round from the public DP parameters, with Google's dp-accounting (RDP)."""

from __future__ import annotations

import math
from dataclasses import replace

import dp_accounting
from dp_accounting.rdp import RdpAccountant

from fedledger.chain.datatypes import DP_DISTRIBUTED, DP_NONE, DP_SGD, RoundConfig
from fedledger.errors import ConfigError

__all__ = [
    "ParticipantAccountant",
    "dp_event",
    "epsilon_cost_micros",
    "round_epsilon",
    "with_privacy",
]

MICROS = 1_000_000


def dp_event(config: RoundConfig) -> dp_accounting.DpEvent:
    """The mechanism one round runs under `config` (docs/protocol.md 3.3).

    Mode 1 (DP-SGD): each participant runs `dpStepsPerRound` steps, each a Poisson-subsampled
    Gaussian with rate q and noise multiplier z; a record belongs to one participant, so the
    round costs what one participant's steps cost. Mode 2 (distributed DP): one Gaussian with
    multiplier z on the sum of clipped updates (sensitivity = clip norm: one participant).
    """
    z = config.noise_multiplier
    if config.dp_mode == DP_SGD:
        if not 0 < config.dp_sample_rate <= 1 or config.dp_steps_per_round < 1:
            raise ConfigError("DP-SGD needs 0 < sample rate <= 1 and at least one step")
        step = dp_accounting.PoissonSampledDpEvent(
            config.dp_sample_rate, dp_accounting.GaussianDpEvent(z)
        )
        return dp_accounting.SelfComposedDpEvent(step, config.dp_steps_per_round)
    if config.dp_mode == DP_DISTRIBUTED:
        return dp_accounting.GaussianDpEvent(z)
    raise ConfigError(f"dp mode {config.dp_mode} has no mechanism to account")


def round_epsilon(config: RoundConfig) -> float:
    """epsilon of one round at the config's delta (RDP accountant, default orders)."""
    if config.dp_mode == DP_NONE:
        return 0.0
    if config.noise_multiplier <= 0 or not 0 < config.dp_delta < 1:
        raise ConfigError("DP needs a positive noise multiplier and 0 < delta < 1")
    accountant = RdpAccountant()
    accountant.compose(dp_event(config))
    return float(accountant.get_epsilon(config.dp_delta))


def epsilon_cost_micros(config: RoundConfig) -> int:
    """The per-round cost governance must set: round_epsilon in millionths, rounded up."""
    return math.ceil(round_epsilon(config) * MICROS)


def with_privacy(
    config: RoundConfig,
    *,
    mode: int,
    noise_multiplier: float,
    clip_norm: float,
    delta: float,
    epsilon_budget: float,
    sample_rate: float = 0.0,
    steps_per_round: int = 0,
) -> RoundConfig:
    """`config` with its DP fields set and the per-round cost computed by the accountant."""
    dp = replace(
        config,
        dp_mode=mode,
        noise_multiplier_millis=round(noise_multiplier * 1_000),
        dp_clip_norm_micros=round(clip_norm * MICROS),
        dp_sample_rate_ppm=round(sample_rate * MICROS),
        dp_steps_per_round=steps_per_round,
        dp_delta_atto=round(delta * 10**18),
        epsilon_budget_micros=round(epsilon_budget * MICROS),
        epsilon_cost_micros=0,
    )
    return replace(dp, epsilon_cost_micros=epsilon_cost_micros(dp))


class ParticipantAccountant:
    """One participant's own privacy loss: the RDP composition of the rounds it trained in.

    Tighter than the chain's charge (a sum of per-round epsilons, protocol 3.3), and private to
    the participant: it counts only the rounds this participant actually took part in.
    """

    def __init__(self) -> None:
        self._accountant = RdpAccountant()
        self.rounds = 0
        self.delta = 0.0

    def record(self, config: RoundConfig) -> None:
        """Add one round run under `config` (a DP round)."""
        self._accountant.compose(dp_event(config))
        self.rounds += 1
        self.delta = max(self.delta, config.dp_delta)

    def epsilon(self, delta: float | None = None) -> float:
        """epsilon so far at `delta` (default: the largest per-round delta seen); 0 before any."""
        if self.rounds == 0:
            return 0.0
        return float(self._accountant.get_epsilon(delta if delta is not None else self.delta))
