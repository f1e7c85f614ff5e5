"""RoundDriver: ticks the state machine and opens the planned rounds one after the other."""

from __future__ import annotations

from fedledger.coordinator.memory import release_free_heap
from fedledger.coordinator.round import RoundCoordinator

__all__ = ["RoundDriver"]


class RoundDriver:
    """Ticks the state machine and opens up to `rounds` rounds, one after the other."""

    def __init__(self, coordinator: RoundCoordinator, *, rounds: int) -> None:
        self.coordinator = coordinator
        self.rounds = rounds
        self.last_error = ""
        self.heap_releases = 0  # rounds after which freed heap was handed back to the OS
        self._released_round = 0

    @property
    def finished(self) -> bool:
        """All planned rounds are over (always False when rounds == 0: nothing is planned)."""
        st = self.coordinator.status()
        return self.rounds > 0 and st.round_id >= self.rounds and st.done

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
        if self.rounds and st.done and st.round_id < self.rounds:
            report_out = st.round_id == 0 or self.coordinator.report(st.round_id) is not None
            if report_out:  # the last round is fully published before the next opens
                self.coordinator.open_round()
