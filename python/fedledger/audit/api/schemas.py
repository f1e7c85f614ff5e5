"""The auditor API's response schemas (the public contract of `fedledger audit serve`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AccuracyPoint",
    "AccuracyPublic",
    "CheckPublic",
    "CommitmentPublic",
    "GovernanceParamsPublic",
    "MemberPublic",
    "ParticipantDetail",
    "ParticipantPublic",
    "ParticipantsPublic",
    "ProposalPublic",
    "ProposalsPublic",
    "RewardPublic",
    "RewardsPublic",
    "RoundDetail",
    "RoundPublic",
    "RoundsPublic",
    "SlashPublic",
    "SlashesPublic",
    "StakeEventPublic",
    "VerificationPublic",
    "VotePublic",
    "VotesPublic",
]


class SlashPublic(BaseModel):
    """One ParticipantSlashed event (amounts are decimal strings of token units)."""

    round: int
    account: str
    reason_code: int
    reason: str = Field(description="no_unmask_response (1) or bad_share (2)")
    evidence_hash: str
    amount: str
    recipient: str = Field(description="treasury, or the zero address when burned")
    block_number: int
    tx_hash: str


class SlashesPublic(BaseModel):
    """A page of slashes, newest first."""

    data: list[SlashPublic]
    count: int


class StakeEventPublic(BaseModel):
    """One registry stake event: staked, unstake_requested, withdrawn or slashed."""

    kind: str
    amount: str
    stake: str = Field(description="the account's stake after the event")
    unlock_at: int | None = None
    recipient: str | None = None
    block_number: int
    tx_hash: str


class RoundPublic(BaseModel):
    """One round in a list."""

    round: int
    stage: str
    model_hash: str | None = None
    new_model_hash: str | None = None
    members: int = 0
    committed: int = 0
    survivors: int = 0
    opened_block: int | None = None
    closed_block: int | None = None
    failure_reason: str | None = None
    total_weight: int | None = None
    verified: bool | None = Field(None, description="None until the round is finished and audited")
    failed_checks: list[str] = Field(default_factory=list)


class RoundsPublic(BaseModel):
    """A page of rounds, newest first; `count` is the total."""

    data: list[RoundPublic]
    count: int


class CommitmentPublic(BaseModel):
    """One UpdateCommitted event."""

    round: int
    participant: str
    masked_hash: str
    seed_commitment: str
    block_number: int
    tx_hash: str
    weight: int | None = Field(None, description="committed FedAvg weight min(examples, maxWeight)")
    gas_used: int | None = None


class MemberPublic(BaseModel):
    """A roster member and how far it got."""

    address: str
    status: str = Field(
        description="survivor, dropped, unshared, committed_not_aggregated or no_commit"
    )
    stage_dropped: str | None = Field(None, description="protocol stage at which it dropped out")
    committed: bool
    reward: str | None = None


class CheckPublic(BaseModel):
    """One named verification check."""

    name: str
    source: str
    passed: bool
    expected: Any = None
    found: Any = None
    detail: str = ""


class VerificationPublic(BaseModel):
    """The audit report of a round."""

    round: int
    stage: str
    ok: bool
    failed: list[str]
    checks: list[CheckPublic]
    blobs: list[dict[str, Any]] = Field(default_factory=list)
    block: int
    failure_reason: str | None = None


class RoundDetail(RoundPublic):
    """A round with its roster, commitments, gas and verification."""

    seed: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    roster_hash: str | None = None
    aggregate_hash: str | None = None
    reveal_hash: str | None = None
    commit_deadline: int | None = None
    unmask_deadline: int | None = None
    roster: list[MemberPublic] = Field(default_factory=list)
    commitments: list[CommitmentPublic] = Field(default_factory=list)
    gas: dict[str, int] = Field(default_factory=dict, description="gasUsed per transaction kind")
    verification: VerificationPublic | None = None
    slashes: list[SlashPublic] = Field(default_factory=list)
    metrics: dict[str, float | None] = Field(
        default_factory=dict, description="reported by aggregator, not verified"
    )


class ParticipantPublic(BaseModel):
    """A registry entry with its totals."""

    address: str
    registered: bool
    registered_block: int | None = None
    rounds: int = 0
    survived: int = 0
    rewards_accrued: str = "0"
    stake: str = Field("0", description="current stake (token units), after slashes")
    unlock_at: int | None = Field(None, description="set while the stake is unlocking")
    slashed_total: str = "0"
    slash_count: int = 0


class ParticipantsPublic(BaseModel):
    """A page of participants."""

    data: list[ParticipantPublic]
    count: int


class RewardPublic(BaseModel):
    """Rewards of one participant (token units as decimal strings)."""

    participant: str
    accrued_total: str
    claimed_total: str
    rounds: int
    stake: str = "0"
    slashed_total: str = "0"


class RewardsPublic(BaseModel):
    """A page of reward totals."""

    data: list[RewardPublic]
    count: int


class ParticipantDetail(ParticipantPublic):
    """A participant's rounds, commitments and rewards."""

    round_ids: list[int] = Field(default_factory=list)
    commitments: list[CommitmentPublic] = Field(default_factory=list)
    rewards: list[dict[str, Any]] = Field(default_factory=list)
    claimed_total: str = "0"
    stake_events: list[StakeEventPublic] = Field(default_factory=list)
    slashes: list[SlashPublic] = Field(default_factory=list)


class GovernanceParamsPublic(BaseModel):
    """The round parameters now in force and the history of changes."""

    current: dict[str, Any]
    updates: list[dict[str, Any]]


class PrivacyPublic(BaseModel):
    """The federation's differential-privacy budget: parameters in force, spent and remaining."""

    dp_mode: int = Field(description="0 none, 1 DP-SGD in each participant, 2 distributed DP")
    noise_multiplier: float
    clip_norm: float
    delta: float = Field(description="delta of one round")
    epsilon_per_round: float = Field(description="epsilon one round charges (on chain)")
    epsilon_budget: float
    epsilon_spent: float = Field(description="RoundLog.epsilonSpent(): every round opened so far")
    epsilon_remaining: float
    rounds_left: int | None = Field(None, description="rounds the remaining budget still pays for")


class ProposalPublic(BaseModel):
    """A governance proposal."""

    id: str
    proposer: str | None
    description: str | None
    status: str
    state: str | None = Field(None, description="live Governor state")
    vote_start: int | None = None
    vote_end: int | None = None
    created_block: int | None = None
    targets: list[str] = Field(default_factory=list)
    votes_for: str = "0"
    votes_against: str = "0"
    votes_abstain: str = "0"


class ProposalsPublic(BaseModel):
    """A page of proposals."""

    data: list[ProposalPublic]
    count: int


class VotePublic(BaseModel):
    """One vote."""

    proposal_id: str
    voter: str
    support: int
    weight: str
    reason: str
    block_number: int


class VotesPublic(BaseModel):
    """A page of votes."""

    data: list[VotePublic]
    count: int


class AccuracyPoint(BaseModel):
    """Reported metrics of one finalized round."""

    round: int
    accuracy: float | None
    loss: float | None = None


class AccuracyPublic(BaseModel):
    """Per-round accuracy as reported by the aggregator (not verifiable from the chain)."""

    source: str = "reported by aggregator"
    data: list[AccuracyPoint]
