"""Typed client of RoundParams (the governed round configuration)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import RoundConfig, TxResult

__all__ = ["RoundParamsClient"]


class RoundParamsClient(ContractClient):
    """RoundParams: owned by the timelock, so `set_config` succeeds only through governance."""

    CONTRACT = "RoundParams"

    def config(self) -> RoundConfig:
        """The configuration new rounds snapshot."""
        return RoundConfig.from_abi(self.view("config"))

    def owner(self) -> str:
        """The only account allowed to change the configuration."""
        return str(self.view("owner"))

    def set_config(self, config: RoundConfig, *, sender: LocalAccount) -> TxResult:
        """Replace the configuration (sender must be the owner)."""
        return self.transact("setConfig", config.as_tuple(), sender=sender)

    def set_config_calldata(self, config: RoundConfig) -> bytes:
        """Calldata of setConfig(config), for a governance proposal."""
        return self.encode("setConfig", config.as_tuple())

    def slash_recipient(self) -> str:
        """Where slashed stake goes (the zero address: burned)."""
        return to_checksum_address(self.view("slashRecipient"))

    def set_slash_recipient(self, recipient: str, *, sender: LocalAccount) -> TxResult:
        """Change the slash recipient (sender must be the owner)."""
        return self.transact("setSlashRecipient", to_checksum_address(recipient), sender=sender)

    def set_slash_recipient_calldata(self, recipient: str) -> bytes:
        """Calldata of setSlashRecipient(recipient), for a governance proposal."""
        return self.encode("setSlashRecipient", to_checksum_address(recipient))
