"""Round stages as the coordinator reports them, and RoundStatus: where the current round is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fedledger.errors import ProtocolError
from fedledger.secagg.constants import ADVERTISE_KEYS, FINALIZE, MASKED_INPUT, SHARE_KEYS, UNMASK

__all__ = ["FAILED", "FINALIZED", "IDLE", "STAGES", "RoundStatus"]

IDLE = "idle"
FINALIZED = "finalized"
FAILED = "failed"
# Coordinator stages in order; FINALIZE means "unmasked, waiting to finalize on chain".
STAGES = (IDLE, ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK, FINALIZE, FINALIZED, FAILED)


@dataclass(frozen=True)
class RoundStatus:
    """What a participant (or dashboard) needs to know about the current round."""

    round_id: int
    stage: str
    chain_id: int
    contract: str
    model_hash: str = ""
    seed: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    min_participants: int = 0
    roster_hash: str = ""
    roster_posted: bool = False
    members: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    expected: int = 0
    stage_deadline: float | None = None
    """Off-chain deadline of the current stage (coordinator clock), None when it is on chain."""
    commit_deadline: int = 0
    unmask_deadline: int = 0
    """On-chain deadlines (block timestamps)."""
    waiting_for: str = ""
    new_model_hash: str = ""
    reason: str = ""

    @property
    def done(self) -> bool:
        """The round is over (finalized or failed) or none was opened."""
        return self.stage in (IDLE, FINALIZED, FAILED)

    @property
    def change_key(self) -> str:
        """What a participant waits to see change: round, stage, roster on chain.

        `GET /v1/round?since=KEY&wait=S` answers as soon as the key differs from KEY.
        """
        return f"{self.round_id}:{self.stage}:{int(self.roster_posted)}"

    def to_json(self) -> dict[str, Any]:
        """JSON object (camelCase keys)."""
        return {
            "round": self.round_id,
            "stage": self.stage,
            "chainId": self.chain_id,
            "contract": self.contract,
            "modelHash": self.model_hash,
            "seed": self.seed,
            "params": self.params,
            "minParticipants": self.min_participants,
            "rosterHash": self.roster_hash,
            "rosterPosted": self.roster_posted,
            "members": self.members,
            "counts": self.counts,
            "expected": self.expected,
            "stageDeadline": self.stage_deadline,
            "commitDeadline": self.commit_deadline,
            "unmaskDeadline": self.unmask_deadline,
            "waitingFor": self.waiting_for,
            "newModelHash": self.new_model_hash,
            "reason": self.reason,
            "changeKey": self.change_key,
        }

    @classmethod
    def from_json(cls, obj: Any) -> RoundStatus:
        """The inverse of `to_json` (a node rebuilds the status from GET /v1/round);
        ProtocolError (stage "status") when `obj` is not a status document."""
        try:
            return cls._from_json(obj)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ProtocolError(
                "status", "status", f"not a round status document ({type(exc).__name__}: {exc})"
            ) from None

    @classmethod
    def _from_json(cls, obj: Any) -> RoundStatus:
        return cls(
            round_id=int(obj["round"]),
            stage=str(obj["stage"]),
            chain_id=int(obj["chainId"]),
            contract=str(obj["contract"]),
            model_hash=obj.get("modelHash", ""),
            seed=obj.get("seed", ""),
            params=dict(obj.get("params") or {}),
            min_participants=int(obj.get("minParticipants", 0)),
            roster_hash=obj.get("rosterHash", ""),
            roster_posted=bool(obj.get("rosterPosted", False)),
            members=int(obj.get("members", 0)),
            counts=dict(obj.get("counts") or {}),
            expected=int(obj.get("expected", 0)),
            stage_deadline=obj.get("stageDeadline"),
            commit_deadline=int(obj.get("commitDeadline", 0)),
            unmask_deadline=int(obj.get("unmaskDeadline", 0)),
            waiting_for=obj.get("waitingFor", ""),
            new_model_hash=obj.get("newModelHash", ""),
            reason=obj.get("reason", ""),
        )
