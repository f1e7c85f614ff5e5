"""Typed client of FedGovernor (OpenZeppelin Governor driving the TimelockController)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import RoundConfig, TxResult
from fedledger.chain.events import fetch_events
from fedledger.errors import ChainError, ConfigError

if TYPE_CHECKING:
    from fedledger.chain.params import RoundParamsClient

__all__ = [
    "GovernorClient",
    "Proposal",
    "ProposalRecord",
    "ProposalState",
    "TimelockClient",
    "VoteType",
]


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


@dataclass(frozen=True)
class Proposal:
    """The actions and description that identify a proposal (its id is their hash)."""

    targets: tuple[str, ...]
    values: tuple[int, ...]
    calldatas: tuple[bytes, ...]
    description: str

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("proposal: at least one action is needed")
        if not len(self.targets) == len(self.values) == len(self.calldatas):
            raise ConfigError("proposal: targets, values and calldatas differ in length")
        object.__setattr__(self, "targets", tuple(to_checksum_address(t) for t in self.targets))

    @property
    def description_hash(self) -> bytes:
        """keccak256 of the UTF-8 description (what queue and execute take)."""
        return keccak(text=self.description)

    def abi_args(self) -> tuple[list[str], list[int], list[bytes]]:
        """(targets, values, calldatas) as lists for the ABI."""
        return list(self.targets), list(self.values), list(self.calldatas)


@dataclass(frozen=True)
class ProposalRecord:
    """A proposal as the chain knows it: its ProposalCreated event plus its state and tally."""

    proposal_id: int
    proposer: str
    proposal: Proposal
    vote_start: int  # block after which voting opens
    vote_end: int  # last block of the vote
    state: ProposalState
    votes_for: int
    votes_against: int
    votes_abstain: int
    eta: int  # timelock timestamp once queued, else 0
    block_number: int

    def to_json(self) -> dict[str, object]:
        """Plain JSON form (CLI, APIs); amounts as integers, calldata as 0x-hex."""
        p = self.proposal
        return {
            "id": str(self.proposal_id),
            "proposer": self.proposer,
            "description": p.description,
            "state": self.state.name.lower(),
            "targets": list(p.targets),
            "values": list(p.values),
            "calldatas": ["0x" + c.hex() for c in p.calldatas],
            "voteStart": self.vote_start,
            "voteEnd": self.vote_end,
            "votes": {
                "for": str(self.votes_for),
                "against": str(self.votes_against),
                "abstain": str(self.votes_abstain),
            },
            "eta": self.eta,
            "block": self.block_number,
        }


def _hashed_call(
    targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes], description: str
) -> tuple[list[str], list[int], list[bytes], bytes]:
    """Arguments of hashProposal/queue/execute: the proposal with its description hashed."""
    return (
        [to_checksum_address(t) for t in targets],
        list(values),
        list(calldatas),
        keccak(text=description),
    )


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
            self.view("hashProposal", *_hashed_call(targets, values, calldatas, description))
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
            "queue", *_hashed_call(targets, values, calldatas, description), sender=sender
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
            "execute", *_hashed_call(targets, values, calldatas, description), sender=sender
        )

    # ---- whole-proposal helpers -----------------------------------------------------------------

    @staticmethod
    def params_proposal(
        params: RoundParamsClient,
        config: RoundConfig,
        description: str,
        *,
        slash_recipient: str | None = None,
    ) -> Proposal:
        """A proposal calling RoundParams.setConfig(config) (and setSlashRecipient if given)."""
        if not description.strip():
            raise ConfigError("description: a proposal needs a non-empty description")
        calls = [params.set_config_calldata(config)]
        if slash_recipient is not None:
            calls.append(params.set_slash_recipient_calldata(slash_recipient))
        return Proposal(
            (params.address,) * len(calls), (0,) * len(calls), tuple(calls), description
        )

    def submit(self, proposal: Proposal, *, sender: LocalAccount) -> tuple[int, TxResult]:
        """propose(...) for a Proposal; returns (proposal id, tx)."""
        result = self.propose(*proposal.abi_args(), proposal.description, sender=sender)
        created = result.named("ProposalCreated")
        if not created:
            raise ChainError("propose succeeded but emitted no ProposalCreated event")
        return int(created[0].args["proposalId"]), result

    def propose_params(
        self,
        params: RoundParamsClient,
        config: RoundConfig,
        description: str,
        *,
        slash_recipient: str | None = None,
        sender: LocalAccount,
    ) -> tuple[int, TxResult]:
        """Propose a RoundParams change; returns (proposal id, tx)."""
        proposal = self.params_proposal(
            params, config, description, slash_recipient=slash_recipient
        )
        return self.submit(proposal, sender=sender)

    def vote(
        self, proposal_id: int, support: VoteType, *, reason: str = "", sender: LocalAccount
    ) -> TxResult:
        """castVote, or castVoteWithReason when `reason` is given."""
        if reason:
            return self.transact(
                "castVoteWithReason", proposal_id, int(support), reason, sender=sender
            )
        return self.cast_vote(proposal_id, support, sender=sender)

    def queue_proposal(self, proposal: Proposal, *, sender: LocalAccount) -> TxResult:
        """queue(...) for a Proposal (state must be Succeeded)."""
        return self.queue(*proposal.abi_args(), proposal.description, sender=sender)

    def execute_proposal(self, proposal: Proposal, *, sender: LocalAccount) -> TxResult:
        """execute(...) for a Proposal (queued, timelock delay passed)."""
        return self.execute(*proposal.abi_args(), proposal.description, sender=sender)

    def proposal_id_of(self, proposal: Proposal) -> int:
        """hashProposal of a Proposal."""
        return self.proposal_id(*proposal.abi_args(), proposal.description)

    def proposal_votes(self, proposal_id: int) -> tuple[int, int, int]:
        """(against, for, abstain) vote weights."""
        against, for_, abstain = self.view("proposalVotes", proposal_id)
        return int(against), int(for_), int(abstain)

    def has_voted(self, proposal_id: int, account: str) -> bool:
        """Whether `account` voted on the proposal."""
        return bool(self.view("hasVoted", proposal_id, to_checksum_address(account)))

    def proposal_snapshot(self, proposal_id: int) -> int:
        """Block whose voting power counts; voting opens after it."""
        return int(self.view("proposalSnapshot", proposal_id))

    def proposal_deadline(self, proposal_id: int) -> int:
        """Last block of the vote."""
        return int(self.view("proposalDeadline", proposal_id))

    def proposal_eta(self, proposal_id: int) -> int:
        """Timestamp from which a queued proposal can execute (0 when not queued)."""
        return int(self.view("proposalEta", proposal_id))

    def quorum(self, block_number: int) -> int:
        """Votes needed (for + abstain) at `block_number` (a past block)."""
        return int(self.view("quorum", block_number))

    def proposals(self, *, from_block: int = 0) -> list[ProposalRecord]:
        """Every proposal created since `from_block`, with its current state and tally."""
        out: list[ProposalRecord] = []
        events = fetch_events(
            self.backend, self.address, from_block=from_block, names=["ProposalCreated"]
        )
        for e in events:
            a = e.args
            pid = int(a["proposalId"])
            proposal = Proposal(
                tuple(a["targets"]),
                tuple(int(v) for v in a["values"]),
                tuple(bytes(c) for c in a["calldatas"]),
                str(a["description"]),
            )
            against, for_, abstain = self.proposal_votes(pid)
            out.append(
                ProposalRecord(
                    proposal_id=pid,
                    proposer=str(a["proposer"]),
                    proposal=proposal,
                    vote_start=int(a["voteStart"]),
                    vote_end=int(a["voteEnd"]),
                    state=self.state(pid),
                    votes_for=for_,
                    votes_against=against,
                    votes_abstain=abstain,
                    eta=self.proposal_eta(pid),
                    block_number=e.block_number,
                )
            )
        return out

    def find_proposal(self, proposal_id: int, *, from_block: int = 0) -> ProposalRecord:
        """The proposal with this id (from its ProposalCreated event)."""
        for record in self.proposals(from_block=from_block):
            if record.proposal_id == proposal_id:
                return record
        raise ConfigError(f"proposal: no proposal {proposal_id} on {self.address}")

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

    def operation_id(self, proposal: Proposal, *, governor: str) -> bytes:
        """hashOperationBatch of a proposal queued by `governor` (the timelock's operation id)."""
        targets, values, calldatas, description_hash = _hashed_call(
            proposal.targets, proposal.values, proposal.calldatas, proposal.description
        )
        # GovernorTimelockControl's salt: bytes20(governor) ^ descriptionHash.
        salt = bytes.fromhex(to_checksum_address(governor)[2:]) + bytes(12)
        salt = bytes(a ^ b for a, b in zip(salt, description_hash, strict=True))
        return bytes(self.view("hashOperationBatch", targets, values, calldatas, bytes(32), salt))

    def is_operation_pending(self, operation_id: bytes) -> bool:
        """Whether the operation is queued and neither executed nor cancelled."""
        return bool(self.view("isOperationPending", operation_id))

    def cancel(self, operation_id: bytes, *, sender: LocalAccount) -> TxResult:
        """cancel (CANCELLER_ROLE: the governor and the guardian): drop a queued operation."""
        return self.transact("cancel", operation_id, sender=sender)
