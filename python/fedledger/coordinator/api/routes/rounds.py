"""Rounds: the current round's status, the published reports, and a round's fixed roster."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException

from fedledger.coordinator.api.deps import CoordinatorDep, require_current
from fedledger.coordinator.api.schemas import RosterPublic

__all__ = ["router"]

router = APIRouter(tags=["rounds"])


@router.get("/round")
def round_status(coordinator: CoordinatorDep) -> dict[str, Any]:
    """The current round's status (stage, counts, deadlines, parameters)."""
    return coordinator.status().to_json()


@router.get("/reports")
def report_index(coordinator: CoordinatorDep) -> dict[str, Any]:
    """Round id -> sha256 of its published report blob (`fedledger audit serve --reports`)."""
    return {"reports": {str(rid): name for rid, name in coordinator.reports.all().items()}}


@router.get("/rounds/{round_id}/report")
def round_report(round_id: int, coordinator: CoordinatorDep) -> dict[str, Any]:
    """The published report of a finished round."""
    report = coordinator.report(round_id)
    if report is None:
        raise HTTPException(404, f"round {round_id}: no report published (yet)")
    return report.doc


@router.get("/rounds/{round_id}/roster", response_model=RosterPublic, response_model_by_alias=True)
def get_roster(round_id: int, coordinator: CoordinatorDep) -> RosterPublic:
    """The fixed roster and graph seed (409 until the key stage closed)."""
    require_current(coordinator, round_id)
    roster = coordinator.roster()
    st = coordinator.status()
    return RosterPublic(
        round=round_id,
        rosterHash=roster.hash().hex(),
        seed=st.seed,
        roster=json.loads(roster.to_bytes()),
    )
