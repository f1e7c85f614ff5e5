"""Typed client of RoundLog: rounds, commitments, finalize/fail, rewards, slashes."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import RoundConfig, RoundInfo, Stage, TxResult
from fedledger.chain.pipeline import PendingTx, TxPipeline

__all__ = [
    "RoundLogClient",
    "SlashReason",
    "commitment_slot",
    "is_roster_marker",
    "roster_cap",
    "roster_marker",
    "slot_weight",
]

MARKER_LIMIT = 1 << 64  # commitmentOf values below this (and above 0) are roster markers
WEIGHT_MASK = 0xFFFFFFFF  # the low 32 bits of a commitment slot hold the committed weight


def roster_marker(cap: int) -> bytes:
    """What postRoster writes for a member: `(cap << 32) | 1`, cap = min(maxWeight, own cap)."""
    return ((int(cap) << 32) | 1).to_bytes(32, "big")


def roster_cap(slot: bytes) -> int:
    """The weight cap a roster marker carries (0 when `slot` is not a roster marker)."""
    return int.from_bytes(slot, "big") >> 32 if is_roster_marker(slot) else 0


def is_roster_marker(slot: bytes) -> bool:
    """Whether a commitmentOf value means "in roster, not committed yet"."""
    return 0 < int.from_bytes(slot, "big") < MARKER_LIMIT


class SlashReason(IntEnum):
    """RoundLog's `SlashReason` enum (`reason` of `slash` and `ParticipantSlashed`); 0 is None."""

    NO_UNMASK_RESPONSE = 1  # committed, survived, but sent no unmask response when needed
    BAD_SHARE = 2  # an unmask share it sent did not reconstruct to the owner's commitment


def _b32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{what}: expected 32 bytes, got {len(value)}")
    return bytes(value)


def _check_weight(weight: int) -> int:
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 < weight <= WEIGHT_MASK:
        raise ValueError(f"weight: expected an integer in 1..2^32-1, got {weight!r}")
    return weight


def commitment_slot(masked_update_hash: bytes, seed_commitment: bytes, *, weight: int) -> bytes:
    """What RoundLog stores per commit.

    keccak256(abi.encode(maskedUpdateHash, seedCommitment)) with its low 32 bits replaced by
    `weight` (big-endian, so the last 4 bytes of the slot are the weight).
    """
    from eth_utils import keccak

    digest = keccak(
        _b32(masked_update_hash, "masked_update_hash") + _b32(seed_commitment, "seed_commitment")
    )
    return digest[:28] + _check_weight(weight).to_bytes(4, "big")


def slot_weight(slot: bytes) -> int:
    """The committed weight stored in a commitment slot (meaningless for 0 and roster markers)."""
    return int.from_bytes(_b32(slot, "slot")[28:], "big")


class RoundLogClient(ContractClient):
    """RoundLog: one round at a time; the audit log auditors read."""

    CONTRACT = "RoundLog"

    def open_round(self, model_hash: bytes, *, sender: LocalAccount) -> TxResult:
        """openRound (aggregator); the new id is in the RoundOpened event."""
        return self.transact("openRound", _b32(model_hash, "model_hash"), sender=sender)

    def post_roster(
        self, round_id: int, roster_hash: bytes, members: Sequence[str], *, sender: LocalAccount
    ) -> TxResult:
        """postRoster (aggregator); `members` are sorted ascending here, as the contract needs."""
        ordered = sorted((to_checksum_address(m) for m in members), key=lambda a: int(a, 16))
        return self.transact(
            "postRoster", round_id, _b32(roster_hash, "roster_hash"), ordered, sender=sender
        )

    def commit(
        self,
        round_id: int,
        masked_update_hash: bytes,
        seed_commitment: bytes,
        *,
        weight: int,
        sender: LocalAccount,
    ) -> TxResult:
        """commit from the participant's own account; `weight` = min(examples, maxWeight)."""
        return self.transact(
            "commit",
            round_id,
            _b32(masked_update_hash, "masked_update_hash"),
            _b32(seed_commitment, "seed_commitment"),
            _check_weight(weight),
            sender=sender,
        )

    def submit_commit(
        self,
        pipeline: TxPipeline,
        round_id: int,
        masked_update_hash: bytes,
        seed_commitment: bytes,
        *,
        weight: int,
        sender: LocalAccount,
        gas: int | None = None,
    ) -> PendingTx:
        """`commit` sent through `pipeline`: returns before the receipt (see chain.pipeline)."""
        return self.send_pipelined(
            pipeline,
            "commit",
            round_id,
            _b32(masked_update_hash, "masked_update_hash"),
            _b32(seed_commitment, "seed_commitment"),
            _check_weight(weight),
            sender=sender,
            gas=gas,
        )

    def finalize(
        self,
        round_id: int,
        *,
        aggregate_hash: bytes,
        reveal_hash: bytes,
        new_model_hash: bytes,
        survivors: Sequence[str],
        sender: LocalAccount,
    ) -> TxResult:
        """finalize (aggregator); `survivors` are sorted ascending here."""
        ordered = sorted((to_checksum_address(s) for s in survivors), key=lambda a: int(a, 16))
        return self.transact(
            "finalize",
            round_id,
            _b32(aggregate_hash, "aggregate_hash"),
            _b32(reveal_hash, "reveal_hash"),
            _b32(new_model_hash, "new_model_hash"),
            ordered,
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
        reason: SlashReason,
        evidence_hash: bytes,
        sender: LocalAccount,
    ) -> TxResult:
        """slash (aggregator): a finalized round, a committed account; evidence = the revealHash."""
        return self.transact(
            "slash",
            round_id,
            to_checksum_address(account),
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

    def claim_rewards(self, *, sender: LocalAccount) -> TxResult:
        """claimRewards: mint the sender's accrued rewards to it."""
        return self.transact("claimRewards", sender=sender)

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
        )

    def commitment_of(self, round_id: int, account: str) -> bytes:
        """The stored slot: 0 = not in roster, a roster marker (< 2^64), else commitment_slot."""
        return bytes(self.view("commitmentOf", round_id, to_checksum_address(account)))

    def weight_of(self, round_id: int, account: str) -> int:
        """The weight `account` committed in `round_id` (0 when it did not commit)."""
        slot = self.commitment_of(round_id, account)
        if int.from_bytes(slot, "big") < MARKER_LIMIT:
            return 0
        return slot_weight(slot)

    def current_round(self) -> int:
        """Id of the latest round opened (0 before the first)."""
        return int(self.view("currentRound"))

    def latest_model_hash(self) -> bytes:
        """Model hash of the latest finalized round (zero before the first)."""
        return bytes(self.view("latestModelHash"))

    def epsilon_spent_micros(self) -> int:
        """Epsilon (millionths) charged by every round opened so far."""
        return int(self.view("epsilonSpent"))

    def accrued_rewards(self, account: str) -> int:
        """Rewards credited to `account`, not yet claimed."""
        return int(self.view("accruedRewards", to_checksum_address(account)))

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
]
