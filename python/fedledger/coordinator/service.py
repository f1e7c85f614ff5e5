"""The coordinator's FastAPI service: versioned round routes over a RoundCoordinator, plus /blobs.

Every write is a signed envelope (coordinator.auth) checked before the state machine sees
it; a background task ticks the state machine and, with `rounds`, opens the next round
whenever the previous one is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam

from fedledger.coordinator import wire
from fedledger.coordinator.api.errors import install_error_handlers, problem
from fedledger.coordinator.api.limits import BodyLimitMiddleware
from fedledger.coordinator.api.schemas import (
    Accepted,
    EnvelopeIn,
    InfoPublic,
    RosterPublic,
    SharesPublic,
    UnmaskRequestPublic,
)
from fedledger.coordinator.auth import (
    UPLOAD_BLOB,
    AuthError,
    EnvelopeVerifier,
    RegistrationCache,
    ReplayGuard,
    SignedEnvelope,
)
from fedledger.coordinator.memory import release_free_heap
from fedledger.coordinator.round import (
    ConflictingSubmission,
    NotInRoster,
    NotReady,
    NotRegistered,
    RoundCoordinator,
    WrongStage,
)
from fedledger.coordinator.settings import ServiceSettings
from fedledger.encoding import from_hex
from fedledger.errors import FedledgerError, ProtocolError
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.store.base import BlobStore
from fedledger.store.http import blob_router

__all__ = ["UPLOAD_BLOB", "RoundDriver", "create_app"]

log = logging.getLogger("fedledger.coordinator")

ENVELOPE_HEADER = "x-fedledger-envelope"


class RoundDriver:
    """Ticks the state machine and opens up to `rounds` rounds, one after the other."""

    def __init__(self, coordinator: RoundCoordinator, *, rounds: int) -> None:
        self.coordinator = coordinator
        self.rounds = rounds
        self.last_error = ""
        self.heap_releases = 0  # rounds after which freed heap was handed back to the OS
        self._released_round = 0

    @property
    def finished(self) -> bool:
        """All planned rounds are over (always False when rounds == 0: nothing is planned)."""
        st = self.coordinator.status()
        return self.rounds > 0 and st.round_id >= self.rounds and st.done

    def step(self) -> None:
        """One tick; opens the next planned round when the current one is over."""
        st = self.coordinator.tick()
        over = st.done and st.round_id > self._released_round
        if over and self.coordinator.report(st.round_id) is not None:
            # Once per round, when it is over and published: its buffers are garbage now,
            # and glibc would keep their pages (RSS grew ~280 KiB/round without this).
            self._released_round = st.round_id
            if release_free_heap():
                self.heap_releases += 1
        if self.rounds and st.done and st.round_id < self.rounds:
            report_out = st.round_id == 0 or self.coordinator.report(st.round_id) is not None
            if report_out:  # the last round is fully published before the next opens
                self.coordinator.open_round()


def _payload_field(payload: dict[str, Any], name: str) -> Any:
    if name not in payload:
        raise AuthError(422, f"payload.{name}", "missing")
    return payload[name]


def create_app(
    coordinator: RoundCoordinator,
    *,
    store: BlobStore,
    settings: ServiceSettings | None = None,
    rounds: int = 0,
    tick: bool = True,
) -> FastAPI:
    """The coordinator's HTTP app serving `coordinator` and `store` (blobs at /blobs).

    With `tick`, a background task calls `coordinator.tick()` every `settings.tick_interval`
    seconds; with `rounds` > 0 it also opens rounds 1..rounds one after the other.
    """
    settings = settings or ServiceSettings()
    driver = RoundDriver(coordinator, rounds=rounds)
    registry = coordinator.contracts.registry
    verifier = EnvelopeVerifier(
        chain_id=coordinator.chain_id,
        contract=coordinator.contract,
        registrations=RegistrationCache(registry.is_registered),
    )
    replays = ReplayGuard()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_ticker()) if tick else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _ticker() -> None:
        while True:
            try:
                await run_in_threadpool(driver.step)
                driver.last_error = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving; the next tick retries
                text = f"{type(exc).__name__}: {exc}"
                if text != driver.last_error:
                    log.warning("tick failed: %s", text)
                driver.last_error = text
            await asyncio.sleep(settings.tick_interval)

    app = FastAPI(
        title="fedledger coordinator",
        version="1",
        lifespan=lifespan,
        responses={
            403: {"description": "signature, signer or registration refused"},
            409: {"description": "wrong round or stage, or conflicting resubmission"},
            413: {"description": "body too large"},
            422: {"description": "malformed payload"},
        },
    )
    app.state.coordinator = coordinator
    app.state.driver = driver
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt=("/blobs",))
    install_error_handlers(app)
    _install_round_errors(app)

    def accept(
        body: EnvelopeIn,
        *,
        round_id: int,
        stage: str,
        author_field: str,
        apply: Callable[[SignedEnvelope], None],
    ) -> Accepted:
        env = SignedEnvelope.from_json(body.wire())
        current = coordinator.round_id
        if round_id != current:
            raise AuthError(409, "round", f"round {round_id} is not the current round ({current})")
        verifier.verify(
            env,
            round_id=round_id,
            stage=stage,
            participant=_payload_field(env.payload, author_field),
        )
        previous = replays.previous(env)
        if previous is not None:
            return Accepted(**{**previous, "replayed": True})
        apply(env)
        answer = Accepted(round=round_id, stage=stage, signer=env.signer)
        replays.remember(env, answer.model_dump())
        return answer

    v1 = APIRouter(prefix="/v1", tags=["rounds"])

    @v1.get("/info", response_model=InfoPublic, response_model_by_alias=True)
    def info() -> InfoPublic:
        """Chain id, RoundLog, deployment record and aggregator of this coordinator."""
        return InfoPublic(
            chainId=coordinator.chain_id,
            roundLog=coordinator.contract,
            aggregator=coordinator.aggregator.address,
            deployment=coordinator.deployment.to_json(),
            model=coordinator.model_spec.to_json(),
            apiVersion=1,
            genesisModelHash=coordinator.genesis_hash.hex(),
            currentRound=coordinator.round_id,
            roundsPlanned=rounds,
        )

    @v1.get("/round")
    def round_status() -> dict[str, Any]:
        """The current round's status (stage, counts, deadlines, parameters)."""
        return coordinator.status().to_json()

    @v1.get("/reports")
    def report_index() -> dict[str, Any]:
        """Round id -> sha256 of its published report blob (`fedledger audit serve --reports`)."""
        return {"reports": {str(rid): name for rid, name in coordinator.reports.all().items()}}

    @v1.get("/rounds/{round_id}/report")
    def round_report(round_id: int) -> dict[str, Any]:
        """The published report of a finished round."""
        report = coordinator.report(round_id)
        if report is None:
            raise HTTPException(404, f"round {round_id}: no report published (yet)")
        return report.doc

    @v1.post("/rounds/{round_id}/keys", response_model=Accepted)
    def post_keys(round_id: int, body: EnvelopeIn) -> Accepted:
        """Stage 1: a signed key bundle (payload = the bundle's JSON)."""

        def apply(env: SignedEnvelope) -> None:
            bundle = wire.bundle_from_json(env.payload)
            if bundle.round_id != round_id:
                raise AuthError(422, "payload.round", f"bundle is for round {bundle.round_id}")
            coordinator.submit_keys(bundle)

        return accept(
            body, round_id=round_id, stage=ADVERTISE_KEYS, author_field="participant", apply=apply
        )

    @v1.get("/rounds/{round_id}/roster", response_model=RosterPublic, response_model_by_alias=True)
    def get_roster(round_id: int) -> RosterPublic:
        """The fixed roster and graph seed (409 until the key stage closed)."""
        _current(round_id)
        roster = coordinator.roster()
        st = coordinator.status()
        return RosterPublic(
            round=round_id,
            rosterHash=roster.hash().hex(),
            seed=st.seed,
            roster=json.loads(roster.to_bytes()),
        )

    @v1.post("/rounds/{round_id}/shares", response_model=Accepted)
    def post_shares(round_id: int, body: EnvelopeIn) -> Accepted:
        """Stage 2: encrypted share pairs for the sender's neighbours (payload sender = signer)."""

        def apply(env: SignedEnvelope) -> None:
            coordinator.submit_shares(wire.shares_from_json(env.payload))

        return accept(body, round_id=round_id, stage=SHARE_KEYS, author_field="sender", apply=apply)

    @v1.get("/rounds/{round_id}/shares/{address}", response_model=SharesPublic)
    def get_shares(round_id: int, address: str) -> SharesPublic:
        """Stage 3 input: the encrypted shares addressed to `address`."""
        _current(round_id)
        shares = coordinator.shares_for(address)
        return SharesPublic(
            round=round_id, recipient=address, shares=[wire.share_to_json(s) for s in shares]
        )

    @v1.post("/rounds/{round_id}/masked", response_model=Accepted)
    def post_masked(round_id: int, body: EnvelopeIn) -> Accepted:
        """Stage 3: masked blob uploaded and committed on chain (maskedHash, seedCommitment)."""

        def apply(env: SignedEnvelope) -> None:
            p = env.payload
            masked = _hex32(_payload_field(p, "maskedHash"), "payload.maskedHash")
            seed_c = _hex32(_payload_field(p, "seedCommitment"), "payload.seedCommitment")
            coordinator.submit_masked(env.signer, masked, seed_c)

        return accept(
            body, round_id=round_id, stage=MASKED_INPUT, author_field="participant", apply=apply
        )

    @v1.get("/rounds/{round_id}/unmask/{address}", response_model=UnmaskRequestPublic)
    def get_unmask(round_id: int, address: str) -> UnmaskRequestPublic:
        """Stage 4 input: whose secrets `address` must reveal."""
        _current(round_id)
        request = coordinator.unmask_request_for(address)
        return UnmaskRequestPublic(
            round=round_id, survivors=list(request.survivors), dropped=list(request.dropped)
        )

    @v1.post("/rounds/{round_id}/unmask", response_model=Accepted)
    def post_unmask(round_id: int, body: EnvelopeIn) -> Accepted:
        """Stage 4: a survivor's shares of survivors' seeds and dropped members' mask keys."""

        def apply(env: SignedEnvelope) -> None:
            coordinator.submit_unmask(wire.unmask_response_from_json(env.payload))

        return accept(body, round_id=round_id, stage=UNMASK, author_field="sender", apply=apply)

    def _current(round_id: int) -> None:
        current = coordinator.round_id
        if round_id != current:
            raise HTTPException(409, f"round: {round_id} is not the current round ({current})")

    def signed_upload(name: str, x_fedledger_envelope: str | None = Header(None)) -> None:
        """Blob PUTs need a registered participant's envelope over {blob: name} for this round."""
        if x_fedledger_envelope is None:
            raise HTTPException(401, "X-Fedledger-Envelope header: missing (uploads are signed)")
        try:
            obj = json.loads(x_fedledger_envelope)
        except ValueError:
            raise HTTPException(422, "X-Fedledger-Envelope header: not JSON") from None
        try:
            env = SignedEnvelope.from_json(obj)
            payload = env.payload if isinstance(env.payload, dict) else {}
            if payload.get("blob") != name:
                raise AuthError(
                    422, "payload.blob", f"envelope is for blob {payload.get('blob')!r}"
                )
            verifier.verify(
                env,
                round_id=coordinator.round_id,
                stage=UPLOAD_BLOB,
                participant=_payload_field(payload, "participant"),
            )
        except AuthError as exc:
            raise HTTPException(exc.status, str(exc)) from None

    guards: list[DependsParam] = [Depends(signed_upload)] if settings.require_signed_blobs else []
    app.include_router(v1)
    app.include_router(
        blob_router(store, max_bytes=settings.max_blob_bytes, put_dependencies=guards)
    )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        return {"ok": True, "round": coordinator.round_id, "tickError": driver.last_error}

    return app


def _hex32(value: Any, field: str) -> bytes:
    try:
        return from_hex(value, length=32, what=field)
    except FedledgerError as exc:
        raise AuthError(422, field, str(exc).split(": ", 1)[-1]) from None


def _install_round_errors(app: FastAPI) -> None:
    """Status codes of the state machine's refusals (more specific than ProtocolError's)."""
    codes: dict[type[ProtocolError], int] = {
        NotRegistered: 403,
        NotInRoster: 403,
        WrongStage: 409,
        ConflictingSubmission: 409,
        NotReady: 409,
    }
    for exc_type, status in codes.items():

        def handler(_: Request, exc: Exception, status: int = status) -> Any:
            return problem(status, str(exc), code=type(exc).__name__)

        app.add_exception_handler(exc_type, handler)
