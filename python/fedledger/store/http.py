"""The blob store over HTTP: a FastAPI router to serve any BlobStore, and an httpx client."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends

from fedledger.errors import StoreError
from fedledger.store.base import (
    BlobIntegrityError,
    BlobNameError,
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    blob_name,
    validate_name,
    verify_blob,
)

__all__ = ["DEFAULT_MAX_BYTES", "HttpBlobStore", "blob_router"]

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
log = logging.getLogger("fedledger.store")


# What GET answers (500) for a stored copy that no longer hashes to its name; auditors read it
# as "the server's copy was altered" rather than "unreachable". It names no local path.
CORRUPT_COPY = "stored copy is corrupt"


def _default_spool() -> Path:
    return Path(tempfile.gettempdir()) / "fedledger-uploads"


_OCTET = "application/octet-stream"
# Statuses worth retrying: the server is (re)starting or overloaded, not refusing us.
_TRANSIENT_STATUS = frozenset({502, 503, 504})


def _checked_name(name: str) -> str:
    try:
        return validate_name(name)
    except BlobNameError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def _cap(name: str, request: Request, max_bytes: int) -> int:
    """The upload's byte limit: the router's, lowered by a guard that set
    `request.state.max_blob_bytes` (e.g. the size a round's masked vector needs)."""
    cap = min(max_bytes, int(getattr(request.state, "max_blob_bytes", max_bytes)))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise HTTPException(status_code=413, detail=f"blob {name}: {declared} bytes exceeds {cap}")
    return cap


async def _receive(name: str, request: Request, cap: int, spool: Path) -> tuple[Path, int, str]:
    """Stream the body into a file under `spool`, hashing as it comes; 413 past `cap` bytes.

    Never more than one chunk of the body is in memory; the caller owns the file.
    """
    spool.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=spool, prefix=f"{name[:16]}.", suffix=".part")
    path = Path(tmp)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    raise HTTPException(
                        status_code=413, detail=f"blob {name}: body exceeds {cap} bytes"
                    )
                digest.update(chunk)
                fh.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


def _store_file(store: BlobStore, name: str, path: Path) -> None:
    """Hand the received file to the store: moved in when it can take files, else read."""
    put_file = getattr(store, "put_file", None)
    if callable(put_file):
        put_file(name, path)
    else:
        store.put_expected(name, path.read_bytes())


def blob_router(
    store: BlobStore,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    put_dependencies: Sequence[Depends] = (),
    spool_dir: Path | None = None,
) -> APIRouter:
    """Routes ``GET|HEAD|PUT /blobs/{name}`` serving `store`.

    Status codes: 400 malformed name; 404 unknown blob; 413 body over `max_bytes`;
    422 body does not hash to the name; 201 stored, 200 already present;
    500 if the stored copy is corrupt or cannot be written (never naming a local path).
    `put_dependencies` lets the mounting app guard uploads (e.g. require a signature, lower
    the size limit through `request.state.max_blob_bytes`) without changing this router.
    Bodies are streamed to a file in `spool_dir` (default: the store's `incoming_dir`, else a
    temporary folder), never held whole in memory.
    """
    if max_bytes < 1:
        raise ValueError(f"blob_router: max_bytes must be >= 1, got {max_bytes}")
    router = APIRouter(prefix="/blobs", tags=["blobs"])

    def _read(name: str) -> bytes:
        _checked_name(name)
        try:
            return store.get(name)
        except BlobNotFoundError:
            raise HTTPException(status_code=404, detail=f"blob {name}: not found") from None
        except BlobIntegrityError as exc:
            log.error("blob %s: %s", name, exc)
            raise HTTPException(status_code=500, detail=f"blob {name}: {CORRUPT_COPY}") from None

    @router.get("/{name}", response_class=Response, summary="Fetch a blob by its SHA-256")
    def get_blob(name: str) -> Response:
        return Response(content=_read(name), media_type=_OCTET, headers={"ETag": f'"{name}"'})

    @router.head("/{name}", response_class=Response, summary="Whether a blob exists")
    def head_blob(name: str) -> Response:
        _checked_name(name)
        if not store.has(name):
            raise HTTPException(status_code=404, detail=f"blob {name}: not found")
        # Content-Length must be what GET would send; use a cheap size() when the store has one.
        sizer = getattr(store, "size", None)
        size = sizer(name) if callable(sizer) else len(_read(name))
        return Response(
            status_code=200,
            media_type=_OCTET,
            headers={"ETag": f'"{name}"', "Content-Length": str(size)},
        )

    @router.put(
        "/{name}",
        summary="Upload a blob; its body must hash to the name",
        dependencies=list(put_dependencies),
        status_code=201,
    )
    async def put_blob(name: str, request: Request, response: Response) -> dict[str, Any]:
        _checked_name(name)
        cap = _cap(name, request, max_bytes)
        if await run_in_threadpool(store.has, name):
            # Already stored (a retry, or a replayed envelope): nothing to read or write.
            response.status_code = 200
            return {"name": name, "size": None, "created": False}
        spool = spool_dir or getattr(store, "incoming_dir", None) or _default_spool()
        path, size, actual = await _receive(name, request, cap, Path(spool))
        try:
            if actual != name:
                raise HTTPException(
                    status_code=422,
                    detail=f"blob {name}: body ({size} bytes) hashes to {actual}, not to the name",
                )
            await run_in_threadpool(_store_file, store, name, path)
        except StoreError as exc:
            log.error("blob %s: could not be stored: %s", name, exc)
            raise HTTPException(
                status_code=500, detail=f"blob {name}: the blob store could not store it"
            ) from None
        finally:
            path.unlink(missing_ok=True)
        return {"name": name, "size": size, "created": True}

    return router


class HttpBlobStore:
    """A BlobStore client for `blob_router` served under `base_url` (blobs at ``/blobs/<name>``).

    Every `get` re-verifies the hash locally, so a lying server is caught. Nodes use it for
    the coordinator's /blobs with a `sign` hook that adds the upload's signed envelope.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        sign: Callable[[str], dict[str, str]] | None = None,
        retries: int = 0,
        backoff: float = 0.2,
    ) -> None:
        """`sign(name)` gives the extra headers of an upload of blob `name` (e.g. a signed
        envelope); connection errors and 502/503/504 are retried `retries` times, the wait
        doubling from `backoff` seconds up to 5 s."""
        if not base_url.startswith(("http://", "https://")):
            raise StoreError(f"blob store URL {base_url!r}: must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.sign = sign
        self.retries = retries
        self.backoff = backoff
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"HttpBlobStore({self.base_url!r})"

    def close(self) -> None:
        """Close the underlying httpx client if this object created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpBlobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, name: str) -> str:
        return f"{self.base_url}/blobs/{validate_name(name)}"

    def _request(self, method: str, name: str, **kwargs: Any) -> httpx.Response:
        url = self._url(name)
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 5.0))
            last = attempt == self.retries
            try:
                resp = self._client.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                if last:
                    raise StoreError(
                        f"blob {name}: {method} {url} failed ({type(exc).__name__}: {exc})"
                    ) from None
                continue
            if resp.status_code not in _TRANSIENT_STATUS or last:
                return resp
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _detail(resp: httpx.Response) -> str:
        try:
            detail = resp.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        return str(detail) if detail else resp.text[:200] or resp.reason_phrase

    def put(self, data: bytes) -> str:
        """Upload `data` and return its name."""
        name = blob_name(bytes(data))
        self.put_expected(name, data)
        return name

    def put_expected(self, name: str, data: bytes) -> None:
        """Upload `data` under `name`; refuses locally first if the hash does not match."""
        validate_name(name)
        verify_blob(name, bytes(data), where="refused before upload")
        headers = {"content-type": _OCTET, **(self.sign(name) if self.sign else {})}
        resp = self._request("PUT", name, content=bytes(data), headers=headers)
        if resp.status_code in (200, 201):
            return
        detail = self._detail(resp)
        if resp.status_code == 413:
            raise BlobTooLargeError(
                f"blob {name}: rejected by {self.base_url} as too large ({detail})"
            )
        if resp.status_code == 422:
            raise BlobIntegrityError(f"blob {name}: server says {detail}")
        raise StoreError(
            f"blob {name}: PUT to {self.base_url} returned {resp.status_code} ({detail})"
        )

    def get(self, name: str) -> bytes:
        """Download a blob and verify that it hashes to `name`."""
        resp = self._request("GET", name)
        if resp.status_code == 404:
            raise BlobNotFoundError(f"blob {name}: not found at {self.base_url}")
        if resp.status_code != 200:
            raise StoreError(
                f"blob {name}: GET from {self.base_url} returned {resp.status_code} "
                f"({self._detail(resp)})"
            )
        data = resp.content
        verify_blob(name, data, where=f"served by {self.base_url}")
        return data

    def has(self, name: str) -> bool:
        """Whether the server holds the blob (HEAD request)."""
        resp = self._request("HEAD", name)
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise StoreError(f"blob {name}: HEAD at {self.base_url} returned {resp.status_code}")
