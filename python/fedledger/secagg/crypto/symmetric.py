"""AES-256-GCM encryption of share pairs, bound to chain, round, sender and recipient."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fedledger.secagg.crypto.kdf import SHARE_AAD_PREFIX, address_bytes, uint256_be

__all__ = ["NONCE_BYTES", "DecryptionError", "decrypt", "encrypt", "share_aad"]

NONCE_BYTES = 12


class DecryptionError(ValueError):
    """The ciphertext is malformed or does not authenticate under this key and AAD."""


def share_aad(*, chain_id: int, contract: str, round_id: int, sender: str, recipient: str) -> bytes:
    """prefix || uint256(chainId) || contract(20) || uint256(round) || sender || recipient."""
    return (
        SHARE_AAD_PREFIX
        + uint256_be(chain_id)
        + address_bytes(contract)
        + uint256_be(round_id)
        + address_bytes(sender)
        + address_bytes(recipient)
    )


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce(12, random) || AES-256-GCM ciphertext || tag(16)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Inverse of `encrypt`; raises DecryptionError when anything does not authenticate."""
    if len(blob) < NONCE_BYTES + 16:
        raise DecryptionError(f"ciphertext too short ({len(blob)} bytes)")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            "authentication failed (wrong key, round, sender or recipient)"
        ) from None
