"""Typed client of FedGovernor (OpenZeppelin Governor driving the TimelockController)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import TxResult

__all__ = ["GovernorClient", "ProposalState", "TimelockClient", "VoteType"]


class ProposalState(IntEnum):
    """OpenZeppelin IGovernor.ProposalState."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


class VoteType(IntEnum):
    """GovernorCountingSimple vote types."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2


class GovernorClient(ContractClient):
    """FedGovernor: propose, vote, queue (timelock), execute."""

    CONTRACT = "FedGovernor"

    def propose(
        self,
        targets: Sequence[str],
        values: Sequence[int],
        calldatas: Sequence[bytes],
        description: str,
        *,
        sender: LocalAccount,
    ) -> TxResult:
        """Create a proposal; its id is in the ProposalCreated event (or `proposal_id`)."""
        return self.transact(
            "propose",
            [to_checksum_address(t) for t in targets],
            list(values),
            list(calldatas),
            description,
            sender=sender,
        )

    def proposal_id(
        self,
        targets: Sequence[str],
        values: Sequence[int],
        calldatas: Sequence[bytes],
        description: str,
    ) -> int:
        """The id a proposal gets (hashProposal)."""
        return int(
            self.view(
                "hashProposal",
                [to_checksum_address(t) for t in targets],
                list(values),
                list(calldatas),
                keccak(text=description),
            )
        )

    def cast_vote(self, proposal_id: int, support: VoteType, *, sender: LocalAccount) -> TxResult:
        """Vote on an active proposal."""
        return self.transact("castVote", proposal_id, int(support), sender=sender)

    def queue(
        self,
        targets: Sequence[str],
        values: Sequence[int],
        calldatas: Sequence[bytes],
        description: str,
        *,
        sender: LocalAccount,
    ) -> TxResult:
        """Queue a succeeded proposal in the timelock."""
        return self.transact(
            "queue",
            [to_checksum_address(t) for t in targets],
            list(values),
            list(calldatas),
            keccak(text=description),
            sender=sender,
        )

    def execute(
        self,
        targets: Sequence[str],
        values: Sequence[int],
        calldatas: Sequence[bytes],
        description: str,
        *,
        sender: LocalAccount,
    ) -> TxResult:
        """Execute a queued proposal once the timelock delay has passed."""
        return self.transact(
            "execute",
            [to_checksum_address(t) for t in targets],
            list(values),
            list(calldatas),
            keccak(text=description),
            sender=sender,
        )

    def state(self, proposal_id: int) -> ProposalState:
        """The proposal's state."""
        return ProposalState(int(self.view("state", proposal_id)))

    def timelock(self) -> str:
        """The TimelockController executing proposals."""
        return to_checksum_address(self.view("timelock"))

    def voting_delay(self) -> int:
        """Blocks from proposal to vote start."""
        return int(self.view("votingDelay"))

    def voting_period(self) -> int:
        """Blocks the vote stays open."""
        return int(self.view("votingPeriod"))


class TimelockClient(ContractClient):
    """OpenZeppelin TimelockController (owner of RoundParams)."""

    CONTRACT = "TimelockController"

    def min_delay(self) -> int:
        """Seconds between queue and execute."""
        return int(self.view("getMinDelay"))
