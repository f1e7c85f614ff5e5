"""Stage 2: POST encrypted shares; stage 3 input: GET the shares addressed to a participant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fedledger.coordinator.api.deps import (
    CoordinatorDep,
    SignedWrite,
    require_current,
    signed_write,
)
from fedledger.coordinator.api.schemas import Accepted, SharesPublic
from fedledger.protocol.envelope import SignedEnvelope
from fedledger.protocol.messages import share_to_json, shares_from_json
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.constants import SHARE_KEYS

__all__ = ["router"]

router = APIRouter(tags=["rounds"])


@router.post("/rounds/{round_id}/shares", response_model=Accepted)
def post_shares(
    coordinator: CoordinatorDep,
    write: Annotated[SignedWrite, Depends(signed_write(SHARE_KEYS, "sender"))],
) -> Accepted:
    """Stage 2: encrypted share pairs for the sender's neighbours (payload sender = signer)."""

    def apply(env: SignedEnvelope) -> Receipt:
        return coordinator.submit_shares(shares_from_json(env.payload))

    return write.accept(apply)


@router.get("/rounds/{round_id}/shares/{address}", response_model=SharesPublic)
def get_shares(round_id: int, address: str, coordinator: CoordinatorDep) -> SharesPublic:
    """Stage 3 input: the encrypted shares addressed to `address`."""
    require_current(coordinator, round_id)
    shares = coordinator.shares_for(address)
    return SharesPublic(
        round=round_id, recipient=address, shares=[share_to_json(s) for s in shares]
    )
