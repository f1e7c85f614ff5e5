"""Typed client of RoundLog: rounds, commitments, finalize/fail, rewards."""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import RoundConfig, RoundInfo, Stage, TxResult

__all__ = ["RoundLogClient", "commitment_slot"]

ROSTERED = (1).to_bytes(32, "big")  # commitmentOf value: in roster, not committed yet


def _b32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{what}: expected 32 bytes, got {len(value)}")
    return bytes(value)


def commitment_slot(masked_update_hash: bytes, seed_commitment: bytes) -> bytes:
    """What RoundLog stores per commit: keccak256(abi.encode(maskedUpdateHash, seedCommitment))."""
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
        sender: LocalAccount,
    ) -> TxResult:
        """commit from the participant's own account."""
        return self.transact(
            "commit",
            round_id,
            _b32(masked_update_hash, "masked_update_hash"),
            _b32(seed_commitment, "seed_commitment"),
            sender=sender,
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
        """The stored slot: 0 = not in roster, 1 = rostered, else commitment_slot(...)."""
        return bytes(self.view("commitmentOf", round_id, to_checksum_address(account)))

    def current_round(self) -> int:
        """Id of the latest round opened (0 before the first)."""
        return int(self.view("currentRound"))

    def latest_model_hash(self) -> bytes:
        """Model hash of the latest finalized round (zero before the first)."""
        return bytes(self.view("latestModelHash"))

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
