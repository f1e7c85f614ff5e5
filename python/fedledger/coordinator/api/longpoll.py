"""Long-poll of the round status: hold a GET until the status' change key moves, or a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool

from fedledger.protocol.status import RoundStatus

__all__ = ["MAX_WAIT", "StatusChanges"]

MAX_WAIT = 30.0
"""Longest hold of one long-poll (seconds); clients ask for less than their HTTP timeout."""

# A waiter re-reads the status this often even without a notification (a route or a test
# may move the round without going through the ticker).
_RECHECK = 1.0


class StatusChanges:
    """Wakes long-polls when the ticker sees the status' change key move."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._key = ""
        self.served = 0  # status answers given (for the requests-per-round counter)
        self.waiting = 0  # long-polls held right now (participants waiting for a round)

    def observe(self, status: RoundStatus) -> None:
        """Called by the ticker after each tick: wake every waiter when the key moved."""
        if status.change_key != self._key:
            self._key = status.change_key
            self._event.set()
            self._event = asyncio.Event()

    async def wait(
        self, read: Callable[[], RoundStatus], *, since: str, timeout: float
    ) -> RoundStatus:
        """The status once its change key differs from `since` or `timeout` seconds passed."""
        end = time.monotonic() + max(0.0, min(timeout, MAX_WAIT))
        self.waiting += 1
        try:
            while True:
                status = await run_in_threadpool(read)
                left = end - time.monotonic()
                if status.change_key != since or left <= 0:
                    self.served += 1
                    return status
                event = self._event
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(left, _RECHECK))
        finally:
            self.waiting -= 1
