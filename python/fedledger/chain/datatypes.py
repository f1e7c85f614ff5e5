"""Typed values exchanged with the contracts: round configuration, round record, tx results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import IntEnum
from typing import Any

from fedledger.errors import ConfigError
from fedledger.secagg.params import DistributedDp, SecAggParams, min_roster, min_survivors

__all__ = [
    "DEFAULT_GOVERNANCE",
    "DEFAULT_ROUND_CONFIG",
    "DP_DISTRIBUTED",
    "DP_NONE",
    "DP_SGD",
    "DecodedEvent",
    "GovernanceSettings",
    "RoundConfig",
    "RoundInfo",
    "Stage",
    "TxResult",
    "production_governance",
]

TOKEN_UNIT = 10**18
UNSTAKE_DELAY = 7 * 24 * 3600  # seconds; must be >= commitWindow + 2 * unmaskWindow
BPS = 10_000  # basis points in one whole
DP_NONE, DP_SGD, DP_DISTRIBUTED = 0, 1, 2  # RoundConfig.dp_mode (docs/protocol.md 3.3)


class Stage(IntEnum):
    """RoundLog's `Stage` enum; the numbers are the on-chain values."""

    NONE = 0
    OPENED = 1
    ROSTERED = 2
    FINALIZED = 3
    FAILED = 4


@dataclass(frozen=True)
class RoundConfig:
    """The governed round parameters (Solidity `RoundConfig`, same field order).

    The stake fields have defaults (no stake, no slashing, a 7-day unstake delay), and so do the
    differential-privacy fields (no DP, no budget), so configs written before them still build.
    `fedledger.fl.dp_accountant.with_privacy` fills the DP fields, cost included.
    """

    neighbours: int
    threshold: int
    clip_range_micros: int
    quant_bits: int
    max_weight: int
    min_participants: int
    commit_window: int
    unmask_window: int
    reward_mode: int
    reward_per_contribution: int
    reward_cap: int
    min_stake: int = 0
    slash_bps: int = 0
    unstake_delay: int = UNSTAKE_DELAY
    dp_mode: int = DP_NONE
    noise_multiplier_millis: int = 0
    dp_clip_norm_micros: int = 0
    dp_sample_rate_ppm: int = 0
    dp_steps_per_round: int = 0
    dp_delta_atto: int = 0
    epsilon_cost_micros: int = 0
    epsilon_budget_micros: int = 0
    cohort_size: int = 0  # ABI position: after reward_mode (it packs into the first slot)

    @property
    def noise_multiplier(self) -> float:
        """z: noise standard deviation over clip norm."""
        return self.noise_multiplier_millis / 1_000

    @property
    def dp_clip_norm(self) -> float:
        """L2 clip norm (per example in DP-SGD, per update in distributed DP)."""
        return self.dp_clip_norm_micros / 1_000_000

    @property
    def dp_sample_rate(self) -> float:
        """DP-SGD Poisson sampling rate q."""
        return self.dp_sample_rate_ppm / 1_000_000

    @property
    def dp_delta(self) -> float:
        """delta of one round's (epsilon, delta) guarantee."""
        return self.dp_delta_atto / 10**18

    @property
    def epsilon_cost(self) -> float:
        """epsilon one round charges to the budget."""
        return self.epsilon_cost_micros / 1_000_000

    @property
    def epsilon_budget(self) -> float:
        """The federation's epsilon budget."""
        return self.epsilon_budget_micros / 1_000_000

    @property
    def clip_range(self) -> float:
        """Clipping range c: values are clipped to [-c, c]."""
        return self.clip_range_micros / 1_000_000

    @property
    def min_roster(self) -> int:
        """Smallest roster postRoster accepts: max(minParticipants, threshold + 1)."""
        return min_roster(self.min_participants, self.threshold)

    @property
    def min_survivors(self) -> int:
        """Fewest survivors finalize accepts: max(minParticipants, threshold)."""
        return min_survivors(self.min_participants, self.threshold)

    def secagg_params(self) -> SecAggParams:
        """The secagg parameters of a round with this config (ConfigError if unusable)."""
        return SecAggParams(
            neighbours=self.neighbours,
            threshold=self.threshold,
            clip_range=self.clip_range,
            quant_bits=self.quant_bits,
            max_weight=self.max_weight,
            ddp=(
                DistributedDp(
                    self.dp_clip_norm_micros, self.noise_multiplier_millis, self.min_survivors
                )
                if self.dp_mode == DP_DISTRIBUTED
                else None
            ),
        )

    def as_tuple(self) -> tuple[int, ...]:
        """ABI form (a tuple in Solidity field order)."""
        return (
            self.neighbours,
            self.threshold,
            self.clip_range_micros,
            self.quant_bits,
            self.max_weight,
            self.min_participants,
            self.commit_window,
            self.unmask_window,
            self.reward_mode,
            self.cohort_size,
            self.reward_per_contribution,
            self.reward_cap,
            self.min_stake,
            self.slash_bps,
            self.unstake_delay,
            self.dp_mode,
            self.noise_multiplier_millis,
            self.dp_clip_norm_micros,
            self.dp_sample_rate_ppm,
            self.dp_steps_per_round,
            self.dp_delta_atto,
            self.epsilon_cost_micros,
            self.epsilon_budget_micros,
        )

    def replace(self, **changes: int) -> RoundConfig:
        """A copy with the named fields changed (e.g. a small test config from the default)."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ConfigError(f"RoundConfig has no field(s) {', '.join(unknown)}")
        return replace(self, **changes)

    @classmethod
    def from_abi(cls, value: Sequence[Any] | Mapping[str, Any]) -> RoundConfig:
        """Build from a decoded ABI tuple (positional or named)."""
        values = [value[n] for n in _ABI_NAMES] if isinstance(value, Mapping) else list(value)
        if len(values) != len(_ABI_NAMES):
            raise ConfigError(f"RoundConfig: expected {len(_ABI_NAMES)} fields, got {len(values)}")
        return cls(**{_FIELD_OF[n]: int(v) for n, v in zip(_ABI_NAMES, values, strict=True)})

    def to_json(self) -> dict[str, int]:
        """Plain dict with snake_case keys (for records and CLIs)."""
        return {k: int(v) for k, v in self.__dict__.items()}


# Solidity field names in ABI order, and the dataclass field each one fills.
_ABI_NAMES = (
    "neighbours",
    "threshold",
    "clipRangeMicros",
    "quantBits",
    "maxWeight",
    "minParticipants",
    "commitWindow",
    "unmaskWindow",
    "rewardMode",
    "cohortSize",
    "rewardPerContribution",
    "rewardCap",
    "minStake",
    "slashBps",
    "unstakeDelay",
    "dpMode",
    "noiseMultiplierMillis",
    "dpClipNormMicros",
    "dpSampleRatePpm",
    "dpStepsPerRound",
    "dpDeltaAtto",
    "epsilonCostMicros",
    "epsilonBudgetMicros",
)
_FIELD_OF = {n: "".join("_" + c.lower() if c.isupper() else c for c in n) for n in _ABI_NAMES}

DEFAULT_ROUND_CONFIG = RoundConfig(
    neighbours=6,  # for ~10 participants: each talks to 6, any 4 of them recover its secrets
    threshold=4,
    clip_range_micros=500_000,  # c = 0.5
    quant_bits=16,
    max_weight=4096,
    min_participants=3,
    commit_window=600,
    unmask_window=600,
    reward_mode=0,
    reward_per_contribution=10 * TOKEN_UNIT,
    reward_cap=1000 * TOKEN_UNIT,
    min_stake=0,  # tokens exist only once rounds paid rewards: governance raises it later
    slash_bps=1000,  # 10 % of the stake per slash
    unstake_delay=UNSTAKE_DELAY,
)


@dataclass(frozen=True)
class GovernanceSettings:
    """Deploy-time Governor and timelock settings (small defaults suit devnets)."""

    voting_delay: int = 1  # blocks
    voting_period: int = 20  # blocks
    proposal_threshold: int = 0  # token units
    quorum_percent: int = 4
    timelock_delay: int = 60  # seconds

    def to_json(self) -> dict[str, int]:
        """Plain dict (for the deployment record)."""
        return {k: int(v) for k, v in self.__dict__.items()}


DEFAULT_GOVERNANCE = GovernanceSettings()

BLOCKS_PER_DAY = 7200  # 12-second Ethereum slots


def production_governance(supply: int) -> GovernanceSettings:
    """Governor settings for a real federation (docs/governance.md section 1.1 gives the sources).

    One day of voting delay (time to notice a proposal and delegate before the snapshot), one
    week of voting, quorum 4 % of the supply, a proposal threshold of 0.25 % of `supply` (the
    supply expected at launch: genesis allocations), and a two-day timelock, which is also the
    guardian's window to cancel.
    """
    if supply < 0:
        raise ConfigError(f"supply must be >= 0, got {supply}")
    return GovernanceSettings(
        voting_delay=BLOCKS_PER_DAY,
        voting_period=7 * BLOCKS_PER_DAY,
        proposal_threshold=supply * 25 // BPS,
        quorum_percent=4,
        timelock_delay=2 * 24 * 3600,
    )


@dataclass(frozen=True)
class RoundInfo:
    """Everything RoundLog stores about one round (`getRound`)."""

    round: int
    stage: Stage
    model_hash: bytes
    seed: bytes
    config: RoundConfig
    roster_hash: bytes
    member_count: int
    committed_count: int
    commit_deadline: int
    unmask_deadline: int
    aggregate_hash: bytes
    reveal_hash: bytes
    new_model_hash: bytes
    opened_block: int
    roster_root: bytes = b"\x00" * 32  # Merkle root of (index, address, bundleHash) leaves
    committed_weight: int = 0  # sum of the committed weights so far
    survivor_count: int = 0  # committers minus the excluded (set by finalize)
    total_weight: int = 0  # the survivors' weight (set by finalize)
    candidates_hash: bytes = b"\x00" * 32  # the candidates blob (rounds with a cohort size)
    candidate_count: int = 0
    candidates_block: int = 0  # block of postCandidates; its hash seeds the sample
    sample_seed: bytes = b"\x00" * 32  # set by postRoster when the round samples its cohort


@dataclass(frozen=True)
class DecodedEvent:
    """One decoded log: bytes32 values are `bytes`, addresses EIP-55 strings."""

    name: str
    args: dict[str, Any]
    address: str
    block_number: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    gas_used: int
    block_number: int
    events: tuple[DecodedEvent, ...] = field(default_factory=tuple)
    contract_address: str | None = None

    def named(self, name: str) -> list[DecodedEvent]:
        """The events called `name`, in log order."""
        return [e for e in self.events if e.name == name]
