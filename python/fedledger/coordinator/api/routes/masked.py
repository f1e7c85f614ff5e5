"""Stage 3: POST the hashes of a masked input uploaded to /blobs and committed on chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fedledger.coordinator.api.deps import (
    CoordinatorDep,
    SignedWrite,
    hex32,
    payload_field,
    signed_write,
)
from fedledger.coordinator.api.schemas import Accepted
from fedledger.protocol.envelope import SignedEnvelope
from fedledger.secagg.constants import MASKED_INPUT

__all__ = ["router"]

router = APIRouter(tags=["rounds"])


@router.post("/rounds/{round_id}/masked", response_model=Accepted)
def post_masked(
    coordinator: CoordinatorDep,
    write: Annotated[SignedWrite, Depends(signed_write(MASKED_INPUT, "participant"))],
) -> Accepted:
    """Stage 3: masked blob uploaded and committed on chain (maskedHash, seedCommitment)."""

    def apply(env: SignedEnvelope) -> None:
        p = env.payload
        masked = hex32(payload_field(p, "maskedHash"), "payload.maskedHash")
        seed_c = hex32(payload_field(p, "seedCommitment"), "payload.seedCommitment")
        coordinator.submit_masked(env.signer, masked, seed_c)

    return write.accept(apply)
