"""RoundDriver: ticks the state machine and runs the planned rounds one after the other."""

from __future__ import annotations

import time
from collections.abc import Callable

from fedledger.coordinator.memory import release_free_heap
from fedledger.coordinator.round import RoundCoordinator

__all__ = ["RoundDriver"]


class RoundDriver:
    """Ticks the state machine and runs `rounds` more rounds, one after the other.

    The count is relative to what the coordinator's state dir already holds: a round left
    open by an earlier run is resumed and counts as the first of the `rounds`; the others
    are opened once the previous one is over and its report published.
    """

    def __init__(
        self,
        coordinator: RoundCoordinator,
        *,
        rounds: int,
        until_round: int = 0,
        present: Callable[[], bool] | None = None,
        grace: float = 60.0,
    ) -> None:
        """`present()` says whether the participants are there (e.g. enough of them wait for
        a round); the first round of this run opens once it is True or after `grace` s, so
        nodes that are still starting do not miss it. Later rounds open at once.

        `until_round` R > 0 (instead of `rounds`) is absolute: open rounds until round id R;
        a restart with the same R resumes and stops at R, whatever the state dir holds.
        """
        self.coordinator = coordinator
        self.until_round = until_round
        if until_round > 0:
            st0 = coordinator.status()
            rounds = max(0, until_round - st0.round_id + (0 if st0.done else 1))
        self.rounds = rounds
        self.present = present
        self.grace = grace
        self._since = time.monotonic()
        self.last_error = ""
        self.heap_releases = 0  # rounds after which freed heap was handed back to the OS
        self._released_round = 0
        st = coordinator.status()
        resumed = st.round_id > 0 and not st.done
        self.opened = 1 if resumed and rounds > 0 else 0  # rounds of this run opened so far
        self.last_round: int | None = st.round_id if resumed else None

    @property
    def finished(self) -> bool:
        """All planned rounds are over (always False when rounds == 0: nothing is planned)."""
        if self.rounds <= 0 or self.opened < self.rounds or self.last_round is None:
            return False
        st = self.coordinator.status()
        return st.round_id == self.last_round and st.done

    def step(self) -> None:
        """One tick; opens the next planned round when the current one is over."""
        st = self.coordinator.tick()
        over = st.done and st.round_id > self._released_round
        if over and self.coordinator.report(st.round_id) is not None:
            # Once per round, when it is over and published: its buffers are garbage now,
            # and glibc would keep their pages (RSS grew ~280 KiB/round without this).
            self._released_round = st.round_id
            if release_free_heap():
                self.heap_releases += 1
        if self.opened < self.rounds and st.done:
            report_out = st.round_id == 0 or self.coordinator.report(st.round_id) is not None
            first = self.opened == 0 and self.present is not None
            if first and not self._ready():
                return
            if report_out:  # the last round is fully published before the next opens
                self.last_round = self.coordinator.open_round().round_id
                self.opened += 1

    def _ready(self) -> bool:
        assert self.present is not None
        return time.monotonic() - self._since >= self.grace or self.present()
