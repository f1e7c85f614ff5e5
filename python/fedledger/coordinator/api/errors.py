"""Errors as HTTP problems: every refusal is a 4xx with a one-line `detail` naming the field."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from fedledger.errors import ChainError, ConfigError, FedledgerError, ProtocolError, StoreError
from fedledger.protocol.envelope import AuthError
from fedledger.protocol.refusals import REFUSAL_STATUS

__all__ = ["install_error_handlers", "problem"]

log = logging.getLogger("fedledger.coordinator")

# ProtocolError fields that mean "not now" rather than "malformed".
_CONFLICT_FIELDS = frozenset({"stage", "round", "duplicate", "already"})


def problem(status: int, detail: str, *, code: str = "") -> JSONResponse:
    """A JSON problem response {"detail": ..., "code": ...}; `code` names the refusal's kind."""
    content = {"detail": detail, "code": code} if code else {"detail": detail}
    return JSONResponse(status_code=status, content=content)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def install_error_handlers(app: FastAPI) -> None:
    """Map fedledger's exceptions and request validation onto 4xx problems."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        parts = [
            f"{_location(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in errors[:3]
        ]
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return problem(422, "; ".join(parts) + more)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        return problem(exc.status, str(exc), code="AuthError")

    @app.exception_handler(ProtocolError)
    async def _protocol(_: Request, exc: ProtocolError) -> JSONResponse:
        status = 409 if exc.field in _CONFLICT_FIELDS else 422
        return problem(status, str(exc))

    @app.exception_handler(ChainError)
    async def _chain(_: Request, exc: ChainError) -> JSONResponse:
        # The chain is the coordinator's dependency, not the caller's fault: retryable.
        log.warning("chain error while serving a request: %s", exc)
        return problem(503, f"chain unavailable: {exc}")

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return problem(422, str(exc))

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JSONResponse:
        return problem(422, str(exc))

    @app.exception_handler(FedledgerError)
    async def _fedledger(_: Request, exc: FedledgerError) -> JSONResponse:
        return problem(422, str(exc))

    _install_refusals(app)


def _install_refusals(app: FastAPI) -> None:
    """The state machine's refusals, answered with the one status table of fedledger.protocol."""
    for exc_type, status in REFUSAL_STATUS.items():

        def handler(_: Request, exc: Exception, status: int = status) -> JSONResponse:
            return problem(status, str(exc), code=type(exc).__name__)

        app.add_exception_handler(exc_type, handler)
