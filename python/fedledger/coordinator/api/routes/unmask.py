"""Stage 4: GET whose secrets to reveal; POST a survivor's signed unmask shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fedledger.coordinator.api.deps import (
    CoordinatorDep,
    SignedWrite,
    require_current,
    signed_write,
)
from fedledger.coordinator.api.schemas import Accepted, UnmaskRequestPublic
from fedledger.protocol.envelope import SignedEnvelope
from fedledger.protocol.messages import unmask_response_from_json
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.constants import UNMASK

__all__ = ["router"]

router = APIRouter(tags=["rounds"])


@router.get("/rounds/{round_id}/unmask/{address}", response_model=UnmaskRequestPublic)
def get_unmask(round_id: int, address: str, coordinator: CoordinatorDep) -> UnmaskRequestPublic:
    """Stage 4 input: whose secrets `address` must reveal."""
    require_current(coordinator, round_id)
    request = coordinator.unmask_request_for(address)
    return UnmaskRequestPublic(
        round=round_id, survivors=list(request.survivors), dropped=list(request.dropped)
    )


@router.post("/rounds/{round_id}/unmask", response_model=Accepted)
def post_unmask(
    coordinator: CoordinatorDep,
    write: Annotated[SignedWrite, Depends(signed_write(UNMASK, "sender"))],
) -> Accepted:
    """Stage 4: a survivor's shares of survivors' seeds and dropped members' mask keys."""

    def apply(env: SignedEnvelope) -> Receipt:
        return coordinator.submit_unmask(unmask_response_from_json(env.payload))

    return write.accept(apply)
