"""Slashing after a finalized round: who the round calls for, and one on-chain slash at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address

from fedledger.chain.round_log import SlashReason
from fedledger.coordinator.book import RoundBook
from fedledger.coordinator.chain_calls import ChainCalls
from fedledger.coordinator.round_state import RoundState, slash_plan
from fedledger.errors import ContractRevert

__all__ = ["Slasher"]


class Slasher:
    """Settles each slash a finalized round calls for; every outcome is journaled exactly once."""

    def __init__(self, book: RoundBook, calls: ChainCalls, *, clock: Callable[[], float]) -> None:
        self.book = book
        self.calls = calls
        self.clock = clock

    def pending(self, r: RoundState) -> list[tuple[str, SlashReason]]:
        """Slashes the round calls for and the journal has not settled (none when slashBps = 0)."""
        if r.result is None or r.config.slash_bps == 0:
            return []
        return [(a, why) for a, why in slash_plan(r.result) if a not in r.slashes]

    def slash(self, r: RoundState, account: str, reason: SlashReason) -> bool:
        """Slash one account (evidence = the reveal hash); journal the outcome either way."""
        assert r.result is not None
        entry: dict[str, Any] = {
            "t": "slash",
            "account": account,
            "reason": int(reason),
            "status": "slashed",
            "amount": None,
            "gas": None,
            "hash": None,
            "block": None,
            "error": "",
        }
        already = self.calls.is_slashed(r.round_id, account)
        # The contract accepts slashes until unmaskDeadline + unmaskWindow (inclusive).
        deadline = r.unmask_deadline + r.config.unmask_window
        if already:  # mined before a crash cut the journal entry: never send it twice
            entry["amount"] = self._slashed_amount(r, account)
        elif self.calls.now() + 1 > deadline:
            entry.update(status="closed", error=f"slash deadline {deadline} passed")
        else:
            entry.update(self._send(r, account, reason))
        entry["at"] = self.clock()
        self.book.commit(entry)
        return True

    def _send(self, r: RoundState, account: str, reason: SlashReason) -> dict[str, Any]:
        assert r.result is not None
        log, agg = self.calls.round_log, self.calls.aggregator
        evidence = r.result.reveal_hash
        assert r.roster is not None
        member = r.roster.tree().member(r.round_id, account)
        try:
            tx = self.calls.transact(
                lambda: log.slash(
                    r.round_id,
                    account,
                    member=member,
                    reason=reason,
                    evidence_hash=evidence,
                    sender=agg,
                )
            )
        except ContractRevert as exc:
            return {"status": "reverted", "error": str(exc)}
        ev = tx.named("ParticipantSlashed")
        return {
            "amount": int(ev[0].args["amount"]) if ev else None,
            "gas": tx.gas_used,
            "hash": tx.tx_hash,
            "block": tx.block_number,
        }

    def _slashed_amount(self, r: RoundState, account: str) -> int | None:
        events = self.calls.events(int(r.info["openedBlock"]), ["ParticipantSlashed"])
        for ev in events:
            who = to_checksum_address(ev.args["account"])
            if int(ev.args["round"]) == r.round_id and who == account:
                return int(ev.args["amount"])
        return None
