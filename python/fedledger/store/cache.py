"""An in-memory LRU of blobs already checked against their names, bounded in bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict

from fedledger.store.base import verify_blob

__all__ = ["VerifiedBlobCache"]


class VerifiedBlobCache:
    """name -> bytes that hash to name; at most `max_bytes` in all, blobs of at most 1/16 each.

    `put` checks the bytes against the name itself (BlobIntegrityError otherwise), so
    whatever a caller hands in, `get` only ever returns a blob's true content; `hold` is for
    a caller that has just made that same check.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_blob = max_bytes // 16
        self._lock = threading.Lock()
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return len(self._blobs)

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size

    def get(self, name: str) -> bytes | None:
        """The blob's bytes if held (it becomes the most recently used), else None."""
        with self._lock:
            data = self._blobs.get(name)
            if data is not None:
                self._blobs.move_to_end(name)
            return data

    def put(self, name: str, data: bytes) -> None:
        """Hold `data` as blob `name` after checking it hashes to `name`; too large: skipped."""
        if len(data) > self.max_blob:
            return
        data = bytes(data)
        verify_blob(name, data, where="refused by the memory cache")
        self.hold(name, data)

    def hold(self, name: str, data: bytes) -> None:
        """Hold bytes the caller has just checked against `name` (the store, which hashes
        every blob it writes or reads: checking again would hash each blob twice)."""
        if len(data) > self.max_blob:
            return
        with self._lock:
            if name in self._blobs:
                self._blobs.move_to_end(name)
                return
            self._blobs[name] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, old = self._blobs.popitem(last=False)
                self._size -= len(old)
