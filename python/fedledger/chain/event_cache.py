"""Decoded events of one contract, fetched once and extended block by block (many readers share it).

Every participant of a round reads the round's UpdateCommitted events; a thousand
participants each fetching and decoding all of them is quadratic. An EventCache fetches
only the blocks past what it already holds. Before extending it checks that the last block
it holds still has the same hash: a reorg or a test chain's snapshot revert empties it.

The head block is never taken as final: a node may report a new block number before that
block's logs are readable (go-ethereum #26098), so the block that was the head at the last
read is read again on the next call, and only blocks below the head at read time are kept
as read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from eth_utils import to_checksum_address

from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DecodedEvent
from fedledger.chain.events import fetch_events

__all__ = ["EventCache"]


class EventCache:
    """Events of `address` from `start` on, in chain order, kept up to the latest block read."""

    def __init__(self, backend: ChainBackend, address: str) -> None:
        self.backend = backend
        self.address = to_checksum_address(address)
        self._lock = threading.Lock()
        self._events: list[DecodedEvent] = []
        self._start: int | None = None
        self._upto = -1
        """The head at the last read: read again next time; the blocks below it are final."""
        self._upto_hash: bytes | None = None
        self.fetches = 0
        """eth_getLogs ranges fetched (tests and benchmarks count them)."""
        self.version = 0
        """Changes whenever the events held change (new blocks, or emptied after a reorg):
        a reader may keep what it derived from them while the version stays the same."""

    def _block_hash(self, number: int) -> bytes | None:
        return self.backend.block_hash(number)  # None: the block is gone (a revert)

    def _reset(self, start: int) -> None:
        # Nothing read yet: `start` plays the head (no hash, so no reorg check), none final.
        self._events, self._start, self._upto, self._upto_hash = [], start, start, None
        self.version += 1

    def events(
        self, *, from_block: int = 0, names: Iterable[str] | None = None
    ) -> list[DecodedEvent]:
        """Events in [from_block, latest], like fetch_events, fetching only new blocks."""
        return self.versioned_events(from_block=from_block, names=names)[1]

    def versioned_events(
        self, *, from_block: int = 0, names: Iterable[str] | None = None
    ) -> tuple[int, list[DecodedEvent]]:
        """(version, events) read together: `events`, with the version they belong to."""
        wanted = set(names) if names is not None else None
        with self._lock:
            if self._start is None or from_block < self._start:
                self._reset(from_block)
            elif self._upto_hash is not None and self._block_hash(self._upto) != self._upto_hash:
                self._reset(self._start)  # the chain under us changed
            latest = self.backend.block_number
            if latest >= self._upto:
                assert self._start is not None
                kept = [e for e in self._events if e.block_number < self._upto]
                fresh = fetch_events(
                    self.backend, self.address, from_block=self._upto, to_block=latest
                )
                self.fetches += 1
                if fresh != self._events[len(kept) :]:  # the head's re-read alone changes nothing
                    self._events = kept + fresh
                    self.version += 1
                self._upto, self._upto_hash = latest, self._block_hash(latest)
            return self.version, [
                e
                for e in self._events
                if e.block_number >= from_block and (wanted is None or e.name in wanted)
            ]
