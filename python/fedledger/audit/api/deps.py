"""Dependencies of the auditor API: the service, pagination and validated path parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from eth_utils import is_hex_address, to_checksum_address
from fastapi import Depends, HTTPException, Path, Query, Request

from fedledger.audit.service import AuditService

__all__ = ["MAX_LIMIT", "AddressDep", "Page", "PageDep", "RoundIdDep", "ServiceDep"]

MAX_LIMIT = 200
MAX_ROUND = 2**53  # SQLite integers are 64-bit; anything larger cannot be a stored round


def get_service(request: Request) -> AuditService:
    """The AuditService the app was built with."""
    service: AuditService = request.app.state.service
    return service


@dataclass(frozen=True)
class Page:
    """skip/limit of a list endpoint."""

    skip: int
    limit: int


def get_page(
    skip: Annotated[int, Query(ge=0, le=MAX_ROUND, description="items to skip")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
    ] = 50,
) -> Page:
    """Bounded pagination (FastAPI answers 422 with the offending field otherwise)."""
    return Page(skip, limit)


def get_address(
    address: Annotated[str, Path(description="0x-prefixed 20-byte hex address")],
) -> str:
    """A path address, checksummed; 422 naming it when malformed."""
    if not is_hex_address(address):
        raise HTTPException(
            status_code=422,
            detail=f"address {address[:60]!r}: expected 0x followed by 40 hex digits",
        )
    return str(to_checksum_address(address))


ServiceDep = Annotated[AuditService, Depends(get_service)]
PageDep = Annotated[Page, Depends(get_page)]
AddressDep = Annotated[str, Depends(get_address)]
RoundIdDep = Annotated[int, Path(ge=1, le=MAX_ROUND, description="round id (starts at 1)")]
