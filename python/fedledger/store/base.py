"""The BlobStore interface: blobs named by the lowercase hex SHA-256 of their exact bytes."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from fedledger.encoding import sha256_hex
from fedledger.errors import StoreError

__all__ = [
    "BlobIntegrityError",
    "BlobNameError",
    "BlobNotFoundError",
    "BlobStore",
    "BlobTooLargeError",
    "blob_name",
    "put_file_copy",
    "validate_name",
    "verify_blob",
]

_NAME_RE = re.compile(r"[0-9a-f]{64}")


class BlobNameError(StoreError):
    """A blob name is not 64 lowercase hex digits."""


class BlobNotFoundError(StoreError):
    """The store has no blob of that name."""


class BlobIntegrityError(StoreError):
    """A blob's bytes do not hash to its name (tampering, corruption or a wrong upload)."""


class BlobTooLargeError(StoreError):
    """A blob is larger than the store accepts."""


def validate_name(name: object) -> str:
    """Return `name` if it is 64 lowercase hex digits, else raise BlobNameError."""
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise BlobNameError(f"blob name {shown}: must be 64 lowercase hex digits (a SHA-256)")
    return name


def blob_name(data: bytes) -> str:
    """The name of a blob: lowercase hex SHA-256 of its exact bytes."""
    return sha256_hex(data)


def verify_blob(name: str, data: bytes, *, where: str = "") -> None:
    """Raise BlobIntegrityError naming the blob when `data` does not hash to `name`."""
    actual = sha256_hex(data)
    if actual != name:
        at = f" ({where})" if where else ""
        raise BlobIntegrityError(
            f"blob {name}{at}: content ({len(data)} bytes) hashes to {actual}, not to its name"
        )


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage. Implementations verify hashes on every read and write."""

    def put(self, data: bytes) -> str:
        """Store `data` (idempotent) and return its 64-hex name."""
        ...

    def put_expected(self, name: str, data: bytes) -> None:
        """Store `data` under `name`, refusing (BlobIntegrityError) if it does not hash to it."""
        ...

    def get(self, name: str) -> bytes:
        """The blob's bytes, verified against `name`; BlobNotFoundError if absent."""
        ...

    def has(self, name: str) -> bool:
        """Whether a blob of that name is stored."""
        ...


def put_file_copy(store: BlobStore, name: str, path: Path) -> None:
    """Store a copy of the file at `path` as blob `name`, leaving `path` in place.

    A store that takes files (`put_file` and `incoming_dir`, as FileSystemBlobStore) gets a
    copy streamed into its incoming dir and checked chunk by chunk, so a blob of hundreds of
    MB (a large round's reveal) is never in memory; any other store gets the bytes read
    whole (`put_expected`).
    """
    put_file = getattr(store, "put_file", None)
    incoming = getattr(store, "incoming_dir", None)
    if not callable(put_file) or not isinstance(incoming, Path):
        store.put_expected(name, path.read_bytes())
        return
    try:
        incoming.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=incoming, prefix="copy-")
        os.close(fd)
    except OSError as exc:
        raise StoreError(f"blob {name}: cannot stage a copy in {incoming} ({exc})") from None
    try:
        shutil.copyfile(path, tmp)
        put_file(name, Path(tmp))
    except OSError as exc:
        raise StoreError(f"blob {name}: cannot copy {path} into the store ({exc})") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
