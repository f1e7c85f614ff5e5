"""Typed client of RoundLog: rounds, Merkle-proved commitments, finalize/fail, claims, slashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import RoundConfig, RoundInfo, Stage, TxResult
from fedledger.chain.merkle import MemberProof
from fedledger.chain.pipeline import PendingTx, TxPipeline

__all__ = [
    "LEDGER_WORDS",
    "MAX_EXCLUDED",
    "MAX_LEDGER_WEIGHT",
    "PRIMED_TAG",
    "ExcludedMember",
    "LedgerEntry",
    "MemberProof",
    "RoundLogClient",
    "SlashReason",
    "commitment_digest",
]

WEIGHT_MASK = 0xFFFFFFFF  # commit takes a uint32 weight
MAX_EXCLUDED = 256  # RoundLog.MAX_EXCLUDED: the most committers finalize may exclude
MAX_LEDGER_WEIGHT = 2**31 - 1  # RoundLog.MAX_LEDGER_WEIGHT: the ledger keeps 31-bit weights
LEDGER_WORDS = 8  # RoundLog.LEDGER_WORDS: ring words per account, seven rounds each
ROUNDS_PER_WORD = 7
PRIMED_TAG = 0xFFFFFFFF  # the tag of a primed, never-written ledger word

ExcludedMember = tuple[str, MemberProof]
"""An excluded committer as finalize takes it: (account, its roster entry and proof)."""


@dataclass(frozen=True)
class LedgerEntry:
    """`account`'s ledger entry for one round, decoded from `ledgerWords` (docs/protocol.md 2.3)."""

    weight: int  # 0: not committed, or dropped
    claimed: bool
    archived: bool  # read from the archive (its ring word was reused with a weight unclaimed)
    dropped: bool  # the ring word was reused without archiving: every weight in it was claimed

    @classmethod
    def decode(cls, round_id: int, ring_word: int, archive_word: int) -> LedgerEntry:
        """The entry of `round_id` given its ring word and archived word."""
        tag = round_id // ROUNDS_PER_WORD + 1
        ring_tag = ring_word >> 224
        archived = ring_tag != tag and archive_word != 0
        word = ring_word if ring_tag == tag else archive_word
        entry = (word >> (32 * (round_id % ROUNDS_PER_WORD))) & WEIGHT_MASK  # 32-bit entry
        dropped = tag < ring_tag < PRIMED_TAG and archive_word == 0
        return cls(entry & MAX_LEDGER_WEIGHT, bool(entry >> 31), archived, dropped)


COMMIT_GAS_BOUND = 150_000
"""Gas limit of a pipelined commit before its proof (measured at most ~58k at n = 10,000, ~80k
for a commit that archives a ring word still holding an unclaimed weight)."""
COMMIT_GAS_PER_PROOF_STEP = 3_000


class SlashReason(IntEnum):
    """RoundLog's `SlashReason` enum (`reason` of `slash` and `ParticipantSlashed`); 0 is None."""

    NO_UNMASK_RESPONSE = 1  # committed, survived, but sent no unmask response when needed
    BAD_SHARE = 2  # an unmask share it sent did not reconstruct to the owner's commitment


def _commit_args(
    round_id: int, masked_update_hash: bytes, seed_commitment: bytes, weight: int, m: MemberProof
) -> tuple[Any, ...]:
    """commit's arguments, each checked (the same for a sent and a pipelined commit)."""
    return (
        round_id,
        _b32(masked_update_hash, "masked_update_hash"),
        _b32(seed_commitment, "seed_commitment"),
        _check_weight(weight),
        m.index,
        _b32(m.bundle_hash, "bundle_hash"),
        list(m.proof),
    )


def _b32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{what}: expected 32 bytes, got {len(value)}")
    return bytes(value)


def _check_weight(weight: int) -> int:
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 < weight <= WEIGHT_MASK:
        raise ValueError(f"weight: expected an integer in 1..2^32-1, got {weight!r}")
    return weight


def commitment_digest(masked_update_hash: bytes, seed_commitment: bytes) -> bytes:
    """keccak256(abi.encode(maskedUpdateHash, seedCommitment)): one commitment as one word."""
    from eth_utils import keccak

    return keccak(
        _b32(masked_update_hash, "masked_update_hash") + _b32(seed_commitment, "seed_commitment")
    )


class RoundLogClient(ContractClient):
    """RoundLog: one round at a time; the audit log auditors read."""

    CONTRACT = "RoundLog"

    def open_round(self, model_hash: bytes, *, sender: LocalAccount) -> TxResult:
        """openRound (aggregator); the new id is in the RoundOpened event."""
        return self.transact("openRound", _b32(model_hash, "model_hash"), sender=sender)

    def post_roster(
        self,
        round_id: int,
        roster_hash: bytes,
        roster_root: bytes,
        member_count: int,
        *,
        sender: LocalAccount,
    ) -> TxResult:
        """postRoster (aggregator): the roster blob's hash, its Merkle root and member count.

        Gas is estimated on the pending block: a sampled roster reads the hash of the
        candidates' block, which some nodes (anvil) would otherwise estimate inside that block.
        """
        args = (
            round_id,
            _b32(roster_hash, "roster_hash"),
            _b32(roster_root, "roster_root"),
            int(member_count),
        )
        gas = self.estimate_pending("postRoster", *args, sender=sender.address)
        return self.transact("postRoster", *args, sender=sender, gas=gas)

    def post_candidates(
        self, round_id: int, candidates_hash: bytes, candidate_count: int, *, sender: LocalAccount
    ) -> TxResult:
        """postCandidates (aggregator, rounds with a cohort size): fixes the candidate set."""
        return self.transact(
            "postCandidates",
            round_id,
            _b32(candidates_hash, "candidates_hash"),
            int(candidate_count),
            sender=sender,
        )

    def commit(
        self,
        round_id: int,
        masked_update_hash: bytes,
        seed_commitment: bytes,
        *,
        weight: int,
        member: MemberProof,
        sender: LocalAccount,
    ) -> TxResult:
        """commit from the participant's own account with its roster proof."""
        args = _commit_args(round_id, masked_update_hash, seed_commitment, weight, member)
        return self.transact("commit", *args, sender=sender)

    def submit_commit(
        self,
        pipeline: TxPipeline,
        round_id: int,
        masked_update_hash: bytes,
        seed_commitment: bytes,
        *,
        weight: int,
        member: MemberProof,
        sender: LocalAccount,
        gas: int | None = None,
    ) -> PendingTx:
        """`commit` sent through `pipeline`: returns before the receipt (see chain.pipeline).

        Commits differ in gas (proofs differ in length; a commit that archives a ledger word or
        writes an unprimed one pays a fresh slot), so one estimate cannot stand for all: the
        limit is a bound that covers the dearest (unused gas is not charged)."""
        if gas is None:
            gas = COMMIT_GAS_BOUND + COMMIT_GAS_PER_PROOF_STEP * len(member.proof)
        args = _commit_args(round_id, masked_update_hash, seed_commitment, weight, member)
        return self.send_pipelined(pipeline, "commit", *args, sender=sender, gas=gas)

    def finalize(
        self,
        round_id: int,
        *,
        aggregate_hash: bytes,
        reveal_hash: bytes,
        new_model_hash: bytes,
        excluded: Sequence[ExcludedMember] = (),
        sender: LocalAccount,
    ) -> TxResult:
        """finalize (aggregator); `excluded`: the committers left out, each (account, roster
        entry), sent in ascending index order (the contract proves each and reads its weight)."""
        members = sorted(excluded, key=lambda e: e[1].index)
        return self.transact(
            "finalize",
            round_id,
            _b32(aggregate_hash, "aggregate_hash"),
            _b32(reveal_hash, "reveal_hash"),
            _b32(new_model_hash, "new_model_hash"),
            [(to_checksum_address(a), *m.to_abi()[1:]) for a, m in members],
            sender=sender,
        )

    def fail_round(self, round_id: int, reason: str, *, sender: LocalAccount) -> TxResult:
        """failRound (aggregator)."""
        return self.transact("failRound", round_id, reason, sender=sender)

    def expire_round(self, round_id: int, *, sender: LocalAccount) -> TxResult:
        """expireRound (anyone, after the unmask deadline)."""
        return self.transact("expireRound", round_id, sender=sender)

    def slash(
        self,
        round_id: int,
        account: str,
        *,
        member: MemberProof,
        reason: SlashReason,
        evidence_hash: bytes,
        sender: LocalAccount,
    ) -> TxResult:
        """slash (aggregator): a finalized round, a committed account; evidence = the revealHash."""
        return self.transact(
            "slash",
            round_id,
            to_checksum_address(account),
            member.to_abi(),
            int(reason),
            _b32(evidence_hash, "evidence_hash"),
            sender=sender,
        )

    def change_aggregator(self, next_aggregator: str, *, sender: LocalAccount) -> TxResult:
        """changeAggregator (owner = governance): takes effect after 2 * unstakeDelay."""
        return self.transact(
            "changeAggregator", to_checksum_address(next_aggregator), sender=sender
        )

    def aggregator(self) -> str:
        """The aggregator in force now."""
        return to_checksum_address(self.view("aggregator"))

    def pending_aggregator(self) -> tuple[str, int]:
        """(next aggregator, effectiveAt) of a pending change; (zero address, 0) when none."""
        nxt, at = self.view("pendingAggregator")
        return to_checksum_address(nxt), int(at)

    def owner(self) -> str:
        """Ownable owner (the timelock after deploy_all)."""
        return to_checksum_address(self.view("owner"))

    def is_slashed(self, round_id: int, account: str) -> bool:
        """Whether `account` was slashed for `round_id`."""
        return bool(self.view("isSlashed", round_id, to_checksum_address(account)))

    def prime(self, accounts: Sequence[str], *, sender: LocalAccount) -> TxResult:
        """prime (anyone): make the accounts' still-zero ledger words non-zero (registration
        already does this for each registered account)."""
        return self.transact("prime", [to_checksum_address(a) for a in accounts], sender=sender)

    def claim(self, members: Sequence[MemberProof], *, sender: LocalAccount) -> TxResult:
        """claim: mint the sender's rewards for the rounds of `members` (its entry in each)."""
        return self.transact("claim", [m.to_abi() for m in members], sender=sender)

    def get_round(self, round_id: int) -> RoundInfo:
        """getRound as a typed record (RoundLogUnknownRound for an id never opened)."""
        raw = self.view("getRound", round_id)
        v = [raw[k] for k in _ROUND_FIELDS] if hasattr(raw, "keys") else list(raw)
        return RoundInfo(
            round=round_id,
            stage=Stage(int(v[0])),
            model_hash=bytes(v[1]),
            seed=bytes(v[2]),
            config=RoundConfig.from_abi(v[3]),
            roster_hash=bytes(v[4]),
            member_count=int(v[5]),
            committed_count=int(v[6]),
            commit_deadline=int(v[7]),
            unmask_deadline=int(v[8]),
            aggregate_hash=bytes(v[9]),
            reveal_hash=bytes(v[10]),
            new_model_hash=bytes(v[11]),
            opened_block=int(v[12]),
            roster_root=bytes(v[13]),
            committed_weight=int(v[14]),
            survivor_count=int(v[15]),
            total_weight=int(v[16]),
            candidates_hash=bytes(v[17]),
            candidate_count=int(v[18]),
            candidates_block=int(v[19]),
            sample_seed=bytes(v[20]),
        )

    def commitment(
        self, round_id: int, account: str, *, from_block: int = 0
    ) -> tuple[bytes, bytes, int] | None:
        """(maskedUpdateHash, seedCommitment, weight) `account` committed in `round_id`, read
        from its UpdateCommitted event (None before it committed)."""
        from fedledger.chain.abi import event_topic
        from fedledger.chain.events import fetch_events

        topics = [
            event_topic("UpdateCommitted"),
            int(round_id).to_bytes(32, "big"),
            bytes(12) + bytes.fromhex(to_checksum_address(account)[2:]),
        ]
        events = fetch_events(self.backend, self.address, from_block=from_block, topics=topics)
        for ev in events:
            if ev.name == "UpdateCommitted":
                a = ev.args
                return bytes(a["maskedUpdateHash"]), bytes(a["seedCommitment"]), int(a["weight"])
        return None

    def weight_of(self, round_id: int, account: str) -> int:
        """The weight `account` committed in `round_id` (0: not committed, or dropped once
        claimed, see `ledger_entry`)."""
        return int(self.view("weightOf", round_id, to_checksum_address(account)))

    def is_excluded(self, round_id: int, index: int) -> bool:
        """Whether finalize excluded roster member `index`."""
        return bool(self.view("isExcluded", round_id, int(index)))

    def is_claimed(self, round_id: int, account: str) -> bool:
        """Whether `account` claimed its reward for `round_id`."""
        return bool(self.view("isClaimed", round_id, to_checksum_address(account)))

    def claimable(self, round_id: int, account: str, index: int) -> int:
        """The reward `account`, roster index `index`, may still claim for `round_id` (0: none)."""
        return int(self.view("claimable", round_id, to_checksum_address(account), int(index)))

    def ledger_entry(self, round_id: int, account: str) -> LedgerEntry:
        """`account`'s ledger entry for `round_id`, with where it was found."""
        ring, archive = self.view("ledgerWords", round_id, to_checksum_address(account))
        return LedgerEntry.decode(round_id, int(ring), int(archive))

    def current_round(self) -> int:
        """Id of the latest round opened (0 before the first)."""
        return int(self.view("currentRound"))

    def latest_model_hash(self) -> bytes:
        """Model hash of the latest finalized round (zero before the first)."""
        return bytes(self.view("latestModelHash"))

    def epsilon_spent_micros(self) -> int:
        """Epsilon (millionths) charged by every round opened so far."""
        return int(self.view("epsilonSpent"))

    def wiring(self) -> tuple[str, str, str]:
        """(registry, params, token) addresses this RoundLog uses."""
        r, p, t = self.view("wiring")
        return (to_checksum_address(r), to_checksum_address(p), to_checksum_address(t))


_ROUND_FIELDS = [
    "stage",
    "modelHash",
    "seed",
    "config",
    "rosterHash",
    "memberCount",
    "committedCount",
    "commitDeadline",
    "unmaskDeadline",
    "aggregateHash",
    "revealHash",
    "newModelHash",
    "openedBlock",
    "rosterRoot",
    "committedWeight",
    "survivorCount",
    "totalWeight",
    "candidatesHash",
    "candidateCount",
    "candidatesBlock",
    "sampleSeed",
]
