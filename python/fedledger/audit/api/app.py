"""create_app: the read-only auditor API under /api and the dashboard at /."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from fedledger.audit.api.routes import (
    governance,
    metrics,
    participants,
    privacy,
    rewards,
    rounds,
    slashes,
)
from fedledger.audit.service import AuditService
from fedledger.errors import FedledgerError

__all__ = ["create_app"]


def _static_dir() -> Path:
    return Path(str(resources.files("fedledger.audit") / "static"))


def create_app(service: AuditService, *, poll_seconds: float = 0.0) -> FastAPI:
    """The app; with `poll_seconds` > 0 a background thread keeps the index and audits fresh."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(poll_seconds):
            with contextlib.suppress(FedledgerError):  # node restarting: the next poll retries
                service.refresh()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        thread = None
        if poll_seconds > 0:
            thread = threading.Thread(target=poll, name="audit-poll", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=5)

    app = FastAPI(
        title="fedledger auditor",
        summary="Read-only view of fedledger rounds, verified from the chain and the blob store.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load scripts from a CDN; the auditor serves nothing external.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    api = APIRouter(prefix="/api")
    for module in (rounds, participants, rewards, slashes, governance, metrics, privacy):
        api.include_router(module.router)
    app.include_router(api)

    @app.exception_handler(FedledgerError)
    async def fedledger_error(_: Request, exc: FedledgerError) -> JSONResponse:
        # The chain or the store failed underneath a valid request: the auditor's upstream is down.
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    app.mount("/", StaticFiles(directory=_static_dir(), html=True), name="dashboard")
    return app
