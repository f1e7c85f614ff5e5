"""Cryptographic building blocks of secagg: keys, KDF, PRG, Shamir, AES-GCM."""

from fedledger.secagg.crypto.keys import KeyPair, recover_bundle_signer, sign_bundle, x25519
from fedledger.secagg.crypto.prg import MaskExpander, prg_uint32
from fedledger.secagg.crypto.shamir import PRIME, combine, share
from fedledger.secagg.crypto.symmetric import DecryptionError, decrypt, encrypt

__all__ = [
    "PRIME",
    "DecryptionError",
    "KeyPair",
    "MaskExpander",
    "combine",
    "decrypt",
    "encrypt",
    "prg_uint32",
    "recover_bundle_signer",
    "share",
    "sign_bundle",
    "x25519",
]
