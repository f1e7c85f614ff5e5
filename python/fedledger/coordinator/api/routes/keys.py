"""Stage 1: POST a signed key bundle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fedledger.coordinator.api.deps import CoordinatorDep, SignedWrite, signed_write
from fedledger.coordinator.api.schemas import Accepted
from fedledger.protocol.envelope import AuthError, SignedEnvelope
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.constants import ADVERTISE_KEYS
from fedledger.secagg.messages import KeyBundle

__all__ = ["router"]

router = APIRouter(tags=["rounds"])


@router.post("/rounds/{round_id}/keys", response_model=Accepted)
def post_keys(
    round_id: int,
    coordinator: CoordinatorDep,
    write: Annotated[SignedWrite, Depends(signed_write(ADVERTISE_KEYS, "participant"))],
) -> Accepted:
    """Stage 1: a signed key bundle (payload = the bundle's JSON)."""

    def apply(env: SignedEnvelope) -> Receipt:
        bundle = KeyBundle.from_json(env.payload)
        if bundle.round_id != round_id:
            raise AuthError(422, "payload.round", f"bundle is for round {bundle.round_id}")
        return coordinator.submit_keys(bundle)

    return write.accept(apply)
