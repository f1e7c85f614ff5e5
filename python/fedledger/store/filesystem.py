"""A BlobStore in a local folder: fan-out directories and atomic, idempotent writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fedledger.errors import StoreError
from fedledger.fsutil import atomic_write_bytes
from fedledger.store.base import (
    BlobIntegrityError,
    BlobNotFoundError,
    blob_name,
    validate_name,
    verify_blob,
)
from fedledger.store.cache import VerifiedBlobCache

__all__ = ["FilesystemBlobStore"]


class FilesystemBlobStore:
    """Blobs at ``root/ab/cd/<name>`` where ``ab``, ``cd`` are the name's first two byte pairs.

    Writes go to a temporary file in the target directory, are fsynced, then renamed
    into place, so a crash never leaves a partial blob under a real name.

    With `cache_bytes` > 0, blobs of at most `cache_bytes // 16` bytes are also kept in
    memory (least recently used first out, `cache_bytes` in all) once they have been
    checked against their name, and `get` serves them from there: a simulation's
    participants read each other's masked vectors k times each. A name's content is fixed
    by its hash, so the bytes served are the blob's whatever happens to the file later.
    """

    def __init__(self, root: str | Path, *, fsync: bool = True, cache_bytes: int = 0) -> None:
        self.root = Path(root)
        self._fsync = fsync
        self._cache = VerifiedBlobCache(cache_bytes) if cache_bytes > 0 else None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"blob store root {self.root}: cannot create ({exc})") from None
        if not self.root.is_dir():
            raise StoreError(f"blob store root {self.root}: not a directory")

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    def path_for(self, name: str) -> Path:
        """Where blob `name` lives (whether or not it exists)."""
        validate_name(name)
        return self.root / name[:2] / name[2:4] / name

    def put(self, data: bytes) -> str:
        """Store `data` and return its name; storing the same bytes again is a no-op."""
        data = bytes(data)
        name = blob_name(data)
        self._write(name, data)
        if self._cache is not None:
            self._cache.hold(name, data)
        return name

    def put_expected(self, name: str, data: bytes) -> None:
        """Store `data` under `name` after checking that it hashes to `name`."""
        validate_name(name)
        data = bytes(data)
        verify_blob(name, data, where="refused on write")
        self._write(name, data)
        if self._cache is not None:
            self._cache.hold(name, data)

    def get(self, name: str) -> bytes:
        """Read and verify a blob; BlobIntegrityError (naming it) if its file was altered."""
        path = self.path_for(name)
        if self._cache is not None:
            cached = self._cache.get(name)
            if cached is not None:
                return cached
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob {name}: not found in {self.root}") from None
        except OSError as exc:
            raise StoreError(f"blob {name}: cannot read {path} ({exc})") from None
        verify_blob(name, data, where=f"file {path}")
        if self._cache is not None:
            self._cache.hold(name, data)
        return data

    def has(self, name: str) -> bool:
        """Whether a file exists under that name (content is verified on `get`)."""
        return self.path_for(name).is_file()

    def size(self, name: str) -> int:
        """Size in bytes of a stored blob."""
        try:
            return self.path_for(name).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob {name}: not found in {self.root}") from None

    @property
    def incoming_dir(self) -> Path:
        """Where uploads are spooled before `put_file` moves them in (same filesystem)."""
        return self.root / ".incoming"

    def put_file(self, name: str, path: Path) -> None:
        """Move the file at `path` in as blob `name` after checking, chunk by chunk, that it
        hashes to `name` (BlobIntegrityError otherwise; the file is left to the caller)."""
        validate_name(name)
        try:
            found = _file_sha256(path)
        except OSError as exc:
            raise StoreError(f"blob {name}: cannot read upload {path} ({exc})") from None
        if found != name:
            raise BlobIntegrityError(f"blob {name}: upload hashes to {found}")
        target = self.path_for(name)
        if target.is_file() and self._intact(target, name):
            path.unlink(missing_ok=True)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if self._fsync:
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
            os.replace(path, target)
        except OSError as exc:
            raise StoreError(f"blob {name}: cannot move it into {target.parent} ({exc})") from None

    def _write(self, name: str, data: bytes) -> None:
        path = self.path_for(name)
        if path.is_file() and self._intact(path, name):
            return
        try:
            atomic_write_bytes(path, data, fsync=self._fsync)
        except OSError as exc:
            raise StoreError(f"blob {name}: cannot write to {path.parent} ({exc})") from None

    @staticmethod
    def _intact(path: Path, name: str) -> bool:
        """True if the existing file hashes to its name (a corrupt copy gets rewritten)."""
        try:
            return _file_sha256(path) == name
        except OSError:
            return False


def _file_sha256(path: Path) -> str:
    """Hex sha256 of a file read in 1 MiB chunks (a round's reveal can be hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
