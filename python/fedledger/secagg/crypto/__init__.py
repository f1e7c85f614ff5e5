"""Cryptographic building blocks of secagg: keys, KDF, PRG, Shamir, AES-GCM."""

from fedledger.secagg.crypto.keys import (
    InvalidPublicKey,
    KeyPair,
    check_public_key,
    recover_bundle_signer,
    sign_bundle,
    x25519,
)
from fedledger.secagg.crypto.prg import MaskExpander, prg_uint32
from fedledger.secagg.crypto.shamir import PRIME, combine, share
from fedledger.secagg.crypto.symmetric import DecryptionError, decrypt, encrypt

__all__ = [
    "PRIME",
    "DecryptionError",
    "InvalidPublicKey",
    "KeyPair",
    "MaskExpander",
    "check_public_key",
    "combine",
    "decrypt",
    "encrypt",
    "prg_uint32",
    "recover_bundle_signer",
    "share",
    "sign_bundle",
    "x25519",
]
