"""View-call results of the chain's head block, shared by every reader on one backend.

A simulation's n participants each read the same facts (getRound, ...) while the chain sits
on one block: n identical eth_calls, each a full EVM run on eth-tester. A ViewCache holds
the results of calls made *at* the head block, keyed by that block's number and hash; the
moment the head changes (a new block, a reorg, a test chain's snapshot revert) every entry
is dropped, so a value read at an older block is never returned. Calls are pinned to the
head block they are cached under, so the value is exactly that block's.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Hashable
from typing import Any

__all__ = ["ViewCache"]

_MISS = object()


class ViewCache:
    """Results of view calls at one head block (number, hash); emptied when the head moves."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._head: tuple[int, bytes] | None = None
        self._values: dict[Hashable, Any] = {}
        self.hits = 0
        self.misses = 0
        """Counts for tests and benchmarks."""

    def get(self, head: tuple[int, bytes], key: Hashable) -> Any:
        """The value cached for `key` at `head` (a deep copy), or `ViewCache.MISS`."""
        with self._lock:
            if head != self._head:
                self._head, self._values = head, {}
            value = self._values.get(key, _MISS)
            if value is _MISS:
                self.misses += 1
                return _MISS
            self.hits += 1
        return copy.deepcopy(value)  # a caller mutating its result cannot change another's

    def put(self, head: tuple[int, bytes], key: Hashable, value: Any) -> None:
        """Remember `value` of `key` read at `head` (ignored if the head has moved since)."""
        with self._lock:
            if head != self._head:
                return
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = copy.deepcopy(value)

    MISS = _MISS
