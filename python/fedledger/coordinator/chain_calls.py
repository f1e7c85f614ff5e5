"""The aggregator's reads and transactions on chain, each timed into the coordinator's timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from eth_account.signers.local import LocalAccount

from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DecodedEvent, RoundInfo, TxResult
from fedledger.chain.deploy import Contracts
from fedledger.chain.event_cache import EventCache
from fedledger.chain.events import fetch_events
from fedledger.coordinator.round_state import add_time

__all__ = ["ChainCalls"]


class ChainCalls:
    """Timed chain access of one coordinator: RoundLog, the registry, events, block time."""

    def __init__(
        self,
        chain: ChainBackend,
        contracts: Contracts,
        aggregator: LocalAccount,
        contract: str,
        timings: dict[str, float],
    ) -> None:
        self.chain = chain
        self.contracts = contracts
        self.round_log = contracts.round_log
        self.aggregator = aggregator
        self.contract = contract
        self.timings = timings
        # Every masked input is checked against its UpdateCommitted event: one cache, extended
        # block by block, instead of one eth_getLogs over the whole round per participant.
        # The tick's sweep reads the chain afresh (`events`): the safety net of that cache.
        self._log_events = EventCache(chain, contract)
        self._commit_index: tuple[
            tuple[int, int] | None, dict[tuple[int, str], tuple[bytes, bytes, int]]
        ] = (None, {})

    def now(self) -> int:
        """Timestamp of the latest block."""
        t0 = time.perf_counter()
        now = self.chain.timestamp()
        add_time(self.timings, "chain", t0)
        return now

    def block_hash(self, number: int) -> bytes:
        """Hash of block `number` (sealed)."""
        t0 = time.perf_counter()
        found = bytes(self.chain.w3.eth.get_block(number)["hash"])
        add_time(self.timings, "chain", t0)
        return found

    def get_round(self, round_id: int) -> RoundInfo:
        """RoundLog.getRound."""
        t0 = time.perf_counter()
        info = self.round_log.get_round(round_id)
        add_time(self.timings, "chain", t0)
        return info

    def current_round(self) -> int:
        """RoundLog.currentRound."""
        t0 = time.perf_counter()
        current = self.round_log.current_round()
        add_time(self.timings, "chain", t0)
        return current

    def is_registered(self, address: str) -> bool:
        """ParticipantRegistry.isRegistered."""
        t0 = time.perf_counter()
        ok = self.contracts.registry.is_registered(address)
        add_time(self.timings, "chain", t0)
        return bool(ok)

    def commitment(
        self, round_id: int, address: str, *, from_block: int
    ) -> tuple[bytes, bytes, int] | None:
        """(maskedUpdateHash, seedCommitment, weight) from `address`'s UpdateCommitted event."""
        t0 = time.perf_counter()
        version, events = self._log_events.versioned_events(
            from_block=from_block, names=["UpdateCommitted"]
        )
        if self._commit_index[0] != (version, from_block):
            # Indexed once per change of the events, not scanned once per participant.
            index: dict[tuple[int, str], tuple[bytes, bytes, int]] = {}
            for ev in events:
                a = ev.args
                index.setdefault(  # the first commit of an account counts, as before
                    (int(a["round"]), str(a["participant"]).lower()),
                    (bytes(a["maskedUpdateHash"]), bytes(a["seedCommitment"]), int(a["weight"])),
                )
            self._commit_index = ((version, from_block), index)
        found = self._commit_index[1].get((round_id, address.lower()))
        add_time(self.timings, "chain", t0)
        return found

    def is_slashed(self, round_id: int, address: str) -> bool:
        """RoundLog.isSlashed."""
        t0 = time.perf_counter()
        already = self.round_log.is_slashed(round_id, address)
        add_time(self.timings, "chain", t0)
        return bool(already)

    def events(self, from_block: int, names: Sequence[str]) -> list[DecodedEvent]:
        """RoundLog's events called `names` from `from_block` on."""
        t0 = time.perf_counter()
        events = fetch_events(self.chain, self.contract, from_block=from_block, names=list(names))
        add_time(self.timings, "chain", t0)
        return events

    def transact(self, fn: Callable[[], TxResult]) -> TxResult:
        """Send one transaction (`fn` makes it) and wait for its receipt."""
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            add_time(self.timings, "chain", t0)
