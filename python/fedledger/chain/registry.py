"""Typed client of ParticipantRegistry: the allowlist and RewardToken stakes."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import TxResult

__all__ = ["RegistryClient"]


class RegistryClient(ContractClient):
    """ParticipantRegistry: the allowlist, stakes (RewardToken), weight caps, the slashing hook."""

    CONTRACT = "ParticipantRegistry"

    def register(self, account: str, *, sender: LocalAccount) -> TxResult:
        """Add `account` (sender needs REGISTRAR_ROLE)."""
        return self.transact("register", to_checksum_address(account), sender=sender)

    def deregister(self, account: str, *, sender: LocalAccount) -> TxResult:
        """Remove `account` (sender needs REGISTRAR_ROLE)."""
        return self.transact("deregister", to_checksum_address(account), sender=sender)

    def is_registered(self, account: str) -> bool:
        """Whether `account` may be rostered now (allowlisted, stake >= minStake, not unstaking)."""
        return bool(self.view("isRegistered", to_checksum_address(account)))

    def is_approved(self, account: str) -> bool:
        """Whether `account` is on the allowlist, whatever its stake."""
        return bool(self.view("isApproved", to_checksum_address(account)))

    def stake(self, amount: int, *, sender: LocalAccount) -> TxResult:
        """Stake `amount` RewardToken units (the sender must have approved the registry)."""
        return self.transact("stake", amount, sender=sender)

    def request_unstake(self, *, sender: LocalAccount) -> TxResult:
        """Start unlocking the sender's whole stake (withdrawable after unstakeDelay)."""
        return self.transact("requestUnstake", sender=sender)

    def withdraw_stake(self, *, sender: LocalAccount) -> TxResult:
        """Return what is left of the sender's unlocked stake."""
        return self.transact("withdrawStake", sender=sender)

    def stake_of(self, account: str) -> tuple[int, int]:
        """(stake in token units, unlockAt; 0 while the stake is active)."""
        amount, unlock_at = self.view("stakeOf", to_checksum_address(account))
        return int(amount), int(unlock_at)

    def registered_at(self, account: str) -> int:
        """Block timestamp of the registration (0 when not registered)."""
        return int(self.view("registeredAt", to_checksum_address(account)))

    def set_weight_cap(self, account: str, cap: int, *, sender: LocalAccount) -> TxResult:
        """setWeightCap (governance): largest weight `account` may commit (0: none of its own)."""
        return self.transact("setWeightCap", to_checksum_address(account), cap, sender=sender)

    def weight_cap_of(self, account: str) -> int:
        """The weight cap governance set for `account` (0: none)."""
        return int(self.view("weightCapOf", to_checksum_address(account)))

    def stake_at_risk(self, account: str, rostered_at: int) -> int:
        """The part of `account`'s stake a round rostered at `rostered_at` may slash."""
        return int(self.view("stakeAtRisk", to_checksum_address(account), rostered_at))

    def slasher(self) -> str:
        """The only account that may slash (RoundLog), fixed at deployment."""
        return to_checksum_address(self.view("slasher"))

    def participant_count(self) -> int:
        """Number of accounts registered now."""
        return int(self.view("participantCount"))
