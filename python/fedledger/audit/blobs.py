"""Fetch blobs for an audit as raw bytes and re-hash them here: the store is not trusted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from fedledger.encoding import sha256_hex
from fedledger.errors import ConfigError
from fedledger.store.base import validate_name
from fedledger.store.http import CORRUPT_COPY

__all__ = ["BlobFetch", "BlobSource", "open_blob_source"]

BlobStatus = Literal["ok", "missing", "mismatch", "unreachable"]


@dataclass(frozen=True)
class BlobFetch:
    """What the store returned for one name; `data` is kept even when it does not hash to `name`."""

    name: str
    status: BlobStatus
    data: bytes | None = None
    found_hash: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the bytes were found and hash to the name."""
        return self.status == "ok"


class BlobSource:
    """Raw reads from a filesystem store folder or an HTTP blob store (no trust in either)."""

    def __init__(self, location: str | Path, *, timeout: float = 30.0) -> None:
        text = str(location)
        self.location = text
        self._client: httpx.Client | None = None
        self._root: Path | None = None
        if text.startswith(("http://", "https://")):
            self._client = httpx.Client(timeout=timeout)
            self._base = text.rstrip("/")
        else:
            root = Path(text)
            if not root.is_dir():
                raise ConfigError(f"blob store {text!r}: not a directory and not an http(s) URL")
            self._root = root

    def close(self) -> None:
        """Release the HTTP client, if any."""
        if self._client is not None:
            self._client.close()

    def _raw(self, name: str) -> tuple[bytes | None, str]:
        if self._root is not None:
            # Same layout as FilesystemBlobStore: root/ab/cd/<name>; read without its hash check.
            path = self._root / name[:2] / name[2:4] / name
            try:
                return path.read_bytes(), ""
            except FileNotFoundError:
                return None, f"not found in {self._root}"
            except OSError as exc:
                return None, f"cannot read {path}: {exc}"
        assert self._client is not None
        url = f"{self._base}/blobs/{name}"
        try:
            resp = self._client.get(url)
        except httpx.HTTPError as exc:
            raise _Unreachable(f"GET {url} failed ({type(exc).__name__})") from None
        if resp.status_code == 404:
            return None, f"not found at {self._base}"
        if resp.status_code == 500 and CORRUPT_COPY in resp.text:
            # blob_router refuses to serve a stored copy that no longer hashes to its name.
            raise _Altered(f"server reports its copy altered: {resp.text[:200]}")
        if resp.status_code != 200:
            raise _Unreachable(f"GET {url} returned {resp.status_code}: {resp.text[:200]}")
        return resp.content, ""

    def fetch(self, name: str) -> BlobFetch:
        """Fetch `name` and re-hash it; never raises for a missing or altered blob."""
        validate_name(name)
        try:
            data, detail = self._raw(name)
        except _Unreachable as exc:
            return BlobFetch(name, "unreachable", detail=str(exc))
        except _Altered as exc:
            return BlobFetch(name, "mismatch", detail=str(exc))
        if data is None:
            return BlobFetch(name, "missing", detail=detail)
        found = sha256_hex(data)
        if found != name:
            return BlobFetch(name, "mismatch", data, found, f"content hashes to {found}")
        return BlobFetch(name, "ok", data, found)


class _Unreachable(Exception):
    pass


class _Altered(Exception):
    pass


def open_blob_source(location: str | Path) -> BlobSource:
    """A BlobSource for a folder path or an http(s) base URL."""
    return BlobSource(location)
