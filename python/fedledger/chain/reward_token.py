"""Typed client of RewardToken (ERC20 + ERC20Votes)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.contract import ContractClient
from fedledger.chain.datatypes import TxResult

__all__ = ["RewardTokenClient"]


class RewardTokenClient(ContractClient):
    """RewardToken: contributor rewards and voting power (block-number clock)."""

    CONTRACT = "RewardToken"

    def balance_of(self, account: str) -> int:
        """Token units held by `account`."""
        return int(self.view("balanceOf", to_checksum_address(account)))

    def total_supply(self) -> int:
        """Token units in existence."""
        return int(self.view("totalSupply"))

    def get_votes(self, account: str) -> int:
        """Current voting power of `account` (needs delegation)."""
        return int(self.view("getVotes", to_checksum_address(account)))

    def delegate(self, delegatee: str, *, sender: LocalAccount) -> TxResult:
        """Delegate the sender's voting power to `delegatee` (itself to vote directly)."""
        return self.transact("delegate", to_checksum_address(delegatee), sender=sender)

    def transfer(self, to: str, amount: int, *, sender: LocalAccount) -> TxResult:
        """ERC20 transfer."""
        return self.transact("transfer", to_checksum_address(to), amount, sender=sender)

    def approve(self, spender: str, amount: int, *, sender: LocalAccount) -> TxResult:
        """ERC20 approve (e.g. the registry, before staking)."""
        return self.transact("approve", to_checksum_address(spender), amount, sender=sender)

    def allowance(self, owner: str, spender: str) -> int:
        """ERC20 allowance."""
        return int(self.view("allowance", to_checksum_address(owner), to_checksum_address(spender)))

    def mint(self, to: str, amount: int, *, sender: LocalAccount) -> TxResult:
        """Mint (only the minter fixed at deployment, RoundLog, may)."""
        return self.transact("mint", to_checksum_address(to), amount, sender=sender)

    def minter(self) -> str:
        """The only account that may mint (RoundLog)."""
        return to_checksum_address(self.view("minter"))

    def delegates(self, account: str) -> str:
        """Whom `account` delegated its votes to (zero address: nobody, so they do not count)."""
        return to_checksum_address(self.view("delegates", to_checksum_address(account)))

    def ensure_self_delegated(self, *, sender: LocalAccount) -> TxResult | None:
        """Delegate the sender's votes to itself unless it already delegated (the default)."""
        if int(self.delegates(sender.address), 16) != 0:
            return None
        return self.delegate(sender.address, sender=sender)
