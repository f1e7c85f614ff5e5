"""Typed client of ParticipantRegistry."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import TxResult

__all__ = ["RegistryClient"]


class RegistryClient(ContractClient):
    """ParticipantRegistry: the allowlist of accounts that may take part."""

    CONTRACT = "ParticipantRegistry"

    def register(self, account: str, *, sender: LocalAccount) -> TxResult:
        """Add `account` (sender needs REGISTRAR_ROLE)."""
        return self.transact("register", to_checksum_address(account), sender=sender)

    def deregister(self, account: str, *, sender: LocalAccount) -> TxResult:
        """Remove `account` (sender needs REGISTRAR_ROLE)."""
        return self.transact("deregister", to_checksum_address(account), sender=sender)

    def is_registered(self, account: str) -> bool:
        """Whether `account` may take part now."""
        return bool(self.view("isRegistered", to_checksum_address(account)))

    def registered_at(self, account: str) -> int:
        """Block timestamp of the registration (0 when not registered)."""
        return int(self.view("registeredAt", to_checksum_address(account)))

    def participant_count(self) -> int:
        """Number of accounts registered now."""
        return int(self.view("participantCount"))
