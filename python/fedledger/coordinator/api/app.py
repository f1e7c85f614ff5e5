"""create_app: the coordinator's HTTP service, round routes over a RoundCoordinator, plus /blobs.

Every write is a signed envelope (api.deps) checked before the state machine sees it; a
background task ticks the state machine and, with `rounds`, opens the next round whenever
the previous one is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam

from fedledger.coordinator.api.deps import signed_upload
from fedledger.coordinator.api.errors import install_error_handlers
from fedledger.coordinator.api.limits import BodyLimitMiddleware, JsonDepthMiddleware
from fedledger.coordinator.api.longpoll import StatusChanges
from fedledger.coordinator.api.routes import info, keys, masked, shares, unmask
from fedledger.coordinator.api.routes import rounds as round_routes
from fedledger.coordinator.auth import EnvelopeVerifier, RegistrationCache, ReplayGuard
from fedledger.coordinator.driver import RoundDriver
from fedledger.coordinator.round import RoundCoordinator
from fedledger.coordinator.settings import ServiceSettings
from fedledger.store.base import BlobStore
from fedledger.store.http import blob_router

__all__ = ["create_app"]

log = logging.getLogger("fedledger.coordinator")

_ROUTERS = (
    info.router,
    round_routes.router,
    keys.router,
    shares.router,
    masked.router,
    unmask.router,
)


async def _tick_forever(driver: RoundDriver, interval: float, changes: StatusChanges) -> None:
    """Step the driver every `interval` seconds; a failed tick is logged (once) and retried.

    After each tick, long-polls waiting for a status change are woken if there was one.
    """
    while True:
        try:
            await run_in_threadpool(driver.step)
            changes.observe(await run_in_threadpool(driver.coordinator.status))
            driver.last_error = ""
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep serving; the next tick retries
            text = f"{type(exc).__name__}: {exc}"
            if text != driver.last_error:
                log.warning("tick failed: %s", text)
            driver.last_error = text
        await asyncio.sleep(interval)


def _new_app(
    driver: RoundDriver, settings: ServiceSettings, changes: StatusChanges, *, tick: bool
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = (
            asyncio.create_task(_tick_forever(driver, settings.tick_interval, changes))
            if tick
            else None
        )
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return FastAPI(
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


def create_app(
    coordinator: RoundCoordinator,
    *,
    store: BlobStore,
    settings: ServiceSettings | None = None,
    rounds: int = 0,
    until_round: int = 0,
    tick: bool = True,
) -> FastAPI:
    """The coordinator's HTTP app serving `coordinator` and `store` (blobs at /blobs).

    With `tick`, a background task calls `coordinator.tick()` every `settings.tick_interval`
    seconds; with `rounds` > 0 it also runs that many more rounds one after the other (with
    `until_round` > 0: until that round id), see RoundDriver.
    """
    settings = settings or ServiceSettings()
    changes = StatusChanges()

    def present() -> bool:
        expected = coordinator.expected_participants
        if expected is None:
            expected = coordinator.contracts.registry.participant_count()
        return changes.waiting >= expected

    driver = RoundDriver(
        coordinator,
        rounds=rounds,
        until_round=until_round,
        present=present,
        grace=settings.first_round_grace,
    )
    app = _new_app(driver, settings, changes, tick=tick)
    app.state.coordinator = coordinator
    app.state.changes = changes
    app.state.driver = driver
    app.state.verifier = EnvelopeVerifier(
        chain_id=coordinator.chain_id,
        contract=coordinator.contract,
        registrations=RegistrationCache(coordinator.contracts.registry.is_registered),
    )
    app.state.replays = ReplayGuard()
    # The last added runs first: the size cap holds before the depth check buffers a body.
    app.add_middleware(JsonDepthMiddleware, exempt=("/blobs",))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt=("/blobs",))
    install_error_handlers(app)

    v1 = APIRouter(prefix="/v1")
    for router in _ROUTERS:
        v1.include_router(router)
    app.include_router(v1)
    guards: list[DependsParam] = [Depends(signed_upload)] if settings.require_signed_blobs else []
    app.include_router(
        blob_router(store, max_bytes=settings.max_blob_bytes, put_dependencies=guards)
    )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        return {
            "ok": True,
            "round": coordinator.round_id,
            "tickError": driver.last_error,
            "statusServed": changes.served,
        }

    return app
