"""fedledger.coordinator: the aggregator's round state machine, its persistence and HTTP service."""

from fedledger.coordinator.publish import ReportIndex, RoundReport
from fedledger.coordinator.round import RoundCoordinator
from fedledger.coordinator.spec import StageDurations

__all__ = ["ReportIndex", "RoundCoordinator", "RoundReport", "StageDurations"]
