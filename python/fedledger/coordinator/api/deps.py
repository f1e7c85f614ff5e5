"""Dependencies of the coordinator API: the coordinator and the envelope checks of writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from fedledger.coordinator.api.schemas import Accepted, EnvelopeIn
from fedledger.coordinator.auth import EnvelopeVerifier, ReplayGuard
from fedledger.coordinator.round import RoundCoordinator
from fedledger.encoding import from_hex
from fedledger.errors import FedledgerError
from fedledger.protocol.envelope import UPLOAD_BLOB, AuthError, SignedEnvelope
from fedledger.protocol.receipts import Receipt
from fedledger.protocol.refusals import NotInRoster, NotReady, UploadQuotaExceeded, WrongStage

__all__ = [
    "CoordinatorDep",
    "SignedWrite",
    "hex32",
    "payload_field",
    "require_current",
    "signed_upload",
    "signed_write",
]


def get_coordinator(request: Request) -> RoundCoordinator:
    """The RoundCoordinator the app serves."""
    coordinator: RoundCoordinator = request.app.state.coordinator
    return coordinator


CoordinatorDep = Annotated[RoundCoordinator, Depends(get_coordinator)]


def payload_field(payload: dict[str, Any], name: str) -> Any:
    """A field of a signed payload; AuthError(422) naming it when missing."""
    if name not in payload:
        raise AuthError(422, f"payload.{name}", "missing")
    return payload[name]


def hex32(value: Any, field: str) -> bytes:
    """A 32-byte hex field of a payload; AuthError(422) naming it when malformed."""
    try:
        return from_hex(value, length=32, what=field)
    except FedledgerError as exc:
        raise AuthError(422, field, str(exc).split(": ", 1)[-1]) from None


def require_current(coordinator: RoundCoordinator, round_id: int) -> None:
    """409 unless `round_id` is the coordinator's current round."""
    current = coordinator.round_id
    if round_id != current:
        raise HTTPException(409, f"round: {round_id} is not the current round ({current})")


@dataclass(frozen=True)
class SignedWrite:
    """A participant write whose envelope was verified for this round and stage."""

    env: SignedEnvelope
    round_id: int
    stage: str
    replays: ReplayGuard

    def accept(self, apply: Callable[[SignedEnvelope], Receipt | None]) -> Accepted:
        """`apply` the write once; an exact replay gets the first answer (and receipt) back."""
        previous = self.replays.previous(self.env)
        if previous is not None:
            return Accepted(**{**previous, "replayed": True})
        receipt = apply(self.env)
        answer = Accepted(
            round=self.round_id,
            stage=self.stage,
            signer=self.env.signer,
            receipt=receipt.to_json() if receipt is not None else None,
        )
        self.replays.remember(self.env, answer.model_dump())
        return answer


def signed_write(stage: str, author_field: str) -> Callable[..., SignedWrite]:
    """The dependency checking a write's envelope: current round, `stage`, and the payload's
    `author_field` naming the signer."""

    def check(round_id: int, body: EnvelopeIn, request: Request) -> SignedWrite:
        state = request.app.state
        env = SignedEnvelope.from_json(body.wire())
        current = state.coordinator.round_id
        if round_id != current:
            raise AuthError(409, "round", f"round {round_id} is not the current round ({current})")
        verifier: EnvelopeVerifier = state.verifier
        verifier.verify(
            env,
            round_id=round_id,
            stage=stage,
            participant=payload_field(env.payload, author_field),
        )
        return SignedWrite(env, round_id, stage, state.replays)

    return check


def signed_upload(
    name: str, request: Request, x_fedledger_envelope: str | None = Header(None)
) -> None:
    """Blob PUTs need a roster member's envelope over {blob: name} for this round, in the
    masked-input stage, within its quota (one blob per round) and its masked vector's size."""
    if x_fedledger_envelope is None:
        raise HTTPException(401, "X-Fedledger-Envelope header: missing (uploads are signed)")
    try:
        obj = json.loads(x_fedledger_envelope)
    except ValueError:
        raise HTTPException(422, "X-Fedledger-Envelope header: not JSON") from None
    state = request.app.state
    coordinator: RoundCoordinator = state.coordinator
    try:
        env = SignedEnvelope.from_json(obj)
        payload = env.payload if isinstance(env.payload, dict) else {}
        if payload.get("blob") != name:
            raise AuthError(422, "payload.blob", f"envelope is for blob {payload.get('blob')!r}")
        round_id = coordinator.round_id
        state.verifier.verify(
            env,
            round_id=round_id,
            stage=UPLOAD_BLOB,
            participant=payload_field(payload, "participant"),
        )
        try:
            request.state.max_blob_bytes = coordinator.upload_limit(env.signer)
        except (WrongStage, NotReady) as exc:
            why = f"uploads are open in the masked-input stage ({exc})"
            raise AuthError(409, "upload", why) from None
        except NotInRoster as exc:
            raise AuthError(403, "upload", str(exc)) from None
        try:
            coordinator.admit_upload(env.signer, name)
        except UploadQuotaExceeded as exc:
            raise AuthError(429, "upload quota", exc.detail) from None
        except (WrongStage, NotReady) as exc:
            raise AuthError(
                409, "upload", f"uploads are open in the masked-input stage ({exc})"
            ) from None
    except AuthError as exc:
        raise HTTPException(exc.status, str(exc)) from None
