"""Typed client of RoundParams (the governed round configuration)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

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
