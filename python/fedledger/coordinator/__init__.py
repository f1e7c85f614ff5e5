"""fedledger.coordinator: the aggregator's round state machine, persistence and simulation."""

from fedledger.coordinator.publish import ReportIndex, RoundReport
from fedledger.coordinator.round import (
    ConflictingSubmission,
    NotInRoster,
    NotReady,
    NotRegistered,
    RoundCoordinator,
    RoundStatus,
    WrongStage,
)
from fedledger.coordinator.spec import ModelSpec, StageDurations, secagg_params
from fedledger.coordinator.transcript import build_transcript

__all__ = [
    "ConflictingSubmission",
    "ModelSpec",
    "NotInRoster",
    "NotReady",
    "NotRegistered",
    "ReportIndex",
    "RoundCoordinator",
    "RoundReport",
    "RoundStatus",
    "StageDurations",
    "WrongStage",
    "build_transcript",
    "secagg_params",
]
