"""fedledger.protocol: what both sides of the wire share (stages, status, refusals, envelopes)."""

from fedledger.protocol.envelope import (
    ENVELOPE_HEADER,
    UPLOAD_BLOB,
    AuthError,
    SignedEnvelope,
    sign_envelope,
    upload_payload,
)
from fedledger.protocol.model import ModelSpec
from fedledger.protocol.port import CoordinatorPort
from fedledger.protocol.refusals import (
    REFUSAL_STATUS,
    ConflictingSubmission,
    NotInRoster,
    NotReady,
    NotRegistered,
    WrongStage,
)
from fedledger.protocol.status import FAILED, FINALIZED, IDLE, STAGES, RoundStatus

__all__ = [
    "ENVELOPE_HEADER",
    "FAILED",
    "FINALIZED",
    "IDLE",
    "REFUSAL_STATUS",
    "STAGES",
    "UPLOAD_BLOB",
    "AuthError",
    "ConflictingSubmission",
    "CoordinatorPort",
    "ModelSpec",
    "NotInRoster",
    "NotReady",
    "NotRegistered",
    "RoundStatus",
    "SignedEnvelope",
    "WrongStage",
    "sign_envelope",
    "upload_payload",
]
