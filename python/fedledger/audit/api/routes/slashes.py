"""/api/slashes: every ParticipantSlashed with its reason, evidence and where the stake went."""

from __future__ import annotations

from fastapi import APIRouter, Query

from fedledger.audit.api.deps import MAX_ROUND, PageDep, ServiceDep
from fedledger.audit.api.schemas import SlashesPublic, SlashPublic

router = APIRouter(prefix="/slashes", tags=["slashes"])


@router.get("/", response_model=SlashesPublic, summary="Slashes, newest first")
def list_slashes(
    service: ServiceDep,
    page: PageDep,
    round_id: int | None = Query(
        None, alias="round", ge=1, le=MAX_ROUND, description="only this round"
    ),
) -> SlashesPublic:
    """Each slash: round, account, reason (1 no_unmask_response, 2 bad_share), evidence, amount."""
    rows = service.slashes(round_id=round_id)
    return SlashesPublic(
        data=[SlashPublic(**r) for r in rows[page.skip : page.skip + page.limit]], count=len(rows)
    )
