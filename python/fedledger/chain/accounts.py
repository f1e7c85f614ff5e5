"""Accounts: the backends' funded test keys and deterministic participant keys."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

__all__ = ["TEST_MNEMONIC", "derive_accounts", "mnemonic_accounts"]

# The well-known development mnemonic anvil and hardhat fund by default. Never use it for value.
TEST_MNEMONIC = "test test test test test test test test test test test junk"

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def mnemonic_accounts(mnemonic: str = TEST_MNEMONIC, n: int = 10) -> list[LocalAccount]:
    """The first `n` accounts of `mnemonic` on the path m/44'/60'/0'/0/i."""
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(n)]


def derive_accounts(seed: bytes, n: int, *, label: str = "participant") -> list[LocalAccount]:
    """`n` deterministic accounts from `seed`: key_i = keccak256(label | seed | i | counter)."""
    accounts: list[LocalAccount] = []
    for i in range(n):
        counter = 0
        while True:
            material = (
                label.encode() + b"\x00" + seed + i.to_bytes(4, "big") + counter.to_bytes(4, "big")
            )
            k = int.from_bytes(keccak(material), "big")
            if 0 < k < _SECP256K1_N:
                break
            counter += 1  # probability ~2^-128; keeps the derivation total
        accounts.append(Account.from_key(k.to_bytes(32, "big")))
    return accounts
