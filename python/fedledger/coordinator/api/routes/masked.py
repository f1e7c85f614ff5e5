"""Stage 3: POST a masked input's hashes and signed local-dropout report; GET the reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fedledger.coordinator.api.deps import (
    CoordinatorDep,
    SignedWrite,
    hex32,
    payload_field,
    require_current,
    signed_write,
)
from fedledger.coordinator.api.schemas import Accepted, DropoutReportsPublic
from fedledger.protocol.envelope import SignedEnvelope
from fedledger.protocol.messages import local_dropouts_from_json, local_dropouts_to_json
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.constants import MASKED_INPUT

__all__ = ["router"]

router = APIRouter(tags=["rounds"])


@router.post("/rounds/{round_id}/masked", response_model=Accepted)
def post_masked(
    coordinator: CoordinatorDep,
    write: Annotated[SignedWrite, Depends(signed_write(MASKED_INPUT, "participant"))],
) -> Accepted:
    """Stage 3: masked blob uploaded and committed on chain (maskedHash, seedCommitment)."""

    def apply(env: SignedEnvelope) -> Receipt:
        p = env.payload
        masked = hex32(payload_field(p, "maskedHash"), "payload.maskedHash")
        seed_c = hex32(payload_field(p, "seedCommitment"), "payload.seedCommitment")
        report = p.get("dropouts") if isinstance(p, dict) else None
        dropouts = None if report is None else local_dropouts_from_json(report)
        return coordinator.submit_masked(env.signer, masked, seed_c, dropouts)

    return write.accept(apply)


@router.get("/rounds/{round_id}/dropouts", response_model=DropoutReportsPublic)
def get_dropouts(round_id: int, coordinator: CoordinatorDep) -> DropoutReportsPublic:
    """Stage 4 input: every committer's signed local-dropout report (survivors check them)."""
    require_current(coordinator, round_id)
    reports = [local_dropouts_to_json(x) for x in coordinator.dropout_reports()]
    return DropoutReportsPublic(round=round_id, data=reports, count=len(reports))
