"""X25519 key pairs and EIP-712 signed key bundles (the participant's Ethereum key signs)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import is_address, keccak, to_checksum_address

from fedledger.errors import FedledgerError

__all__ = [
    "EIP712_DOMAIN_NAME",
    "EIP712_DOMAIN_VERSION",
    "KEY_BUNDLE_TYPE",
    "LOW_ORDER_POINTS",
    "InvalidPublicKey",
    "KeyPair",
    "bundle_typed_data",
    "check_public_key",
    "checksum_address",
    "clamp",
    "eip712_message",
    "is_clamped",
    "public_from_private",
    "recover_bundle_signer",
    "recover_typed_signer",
    "sign_bundle",
    "sign_typed",
    "typed_signable",
    "x25519",
    "x25519_many",
]

EIP712_DOMAIN_NAME = "fedledger"
EIP712_DOMAIN_VERSION = "1"
KEY_BUNDLE_TYPE = "KeyBundle(uint256 round,address participant,bytes32 channelKey,bytes32 maskKey)"

_P = 2**255 - 19
LOW_ORDER_POINTS = frozenset(
    {
        0,  # the point at infinity's u-coordinate (order 1 / 4 in the Montgomery model)
        1,  # order 4
        _P - 1,  # order 2
        # the two points of order 8 (RFC 7748 section 7 / libsodium's blocklist)
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
    }
)
"""Canonical u-coordinates of the small-subgroup points of Curve25519 (order 1, 2, 4, 8)."""


class InvalidPublicKey(FedledgerError, ValueError):
    """An X25519 public key is not 32 bytes, not canonical, or a low-order point.

    Also a ValueError, which is what callers of `x25519` caught before this check existed.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, repr=False)
class KeyPair:
    """An X25519 key pair as raw bytes (32-byte private scalar, 32-byte public u-coordinate)."""

    private: bytes
    public: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh key pair from the OS randomness; the private key is stored clamped."""
        private = clamp(os.urandom(32))
        return cls(private=private, public=public_from_private(private))

    def __repr__(self) -> str:  # never print a private key
        return f"KeyPair(public=0x{self.public.hex()})"


def clamp(scalar: bytes) -> bytes:
    """RFC 7748 clamping; X25519 ignores the clamped bits, so revealed keys must be clamped
    (canonical) or a tampered reveal could differ from the real key yet act the same."""
    raw = bytearray(scalar)
    raw[0] &= 248
    raw[31] &= 127
    raw[31] |= 64
    return bytes(raw)


def is_clamped(scalar: bytes) -> bool:
    """Whether a 32-byte private key is in canonical (clamped) form."""
    return len(scalar) == 32 and clamp(scalar) == scalar


def public_from_private(private: bytes) -> bytes:
    """The X25519 public key of a raw 32-byte private key."""
    return _raw_public(X25519PrivateKey.from_private_bytes(private).public_key())


def check_public_key(public: bytes) -> None:
    """Refuse anything but a canonical X25519 public key outside the small subgroup.

    Canonical means 32 bytes, little-endian u < p and the top bit clear (RFC 7748 masks
    that bit, so u and u + 2^255 would act alike: two encodings of one key). A low-order
    point makes every shared secret one of at most 8 values known to everyone, so it is
    refused before any Diffie-Hellman, under any encoding.
    """
    if not isinstance(public, bytes | bytearray) or len(public) != 32:
        raise InvalidPublicKey(f"X25519 public key must be 32 bytes, got {len(public)}")
    if public[31] & 0x80:
        raise InvalidPublicKey("non-canonical X25519 public key (top bit set)")
    u = int.from_bytes(public, "little")
    if u >= _P:
        raise InvalidPublicKey("non-canonical X25519 public key (u >= 2^255 - 19)")
    if u in LOW_ORDER_POINTS:
        raise InvalidPublicKey(f"low-order X25519 public key (u = {u})")


def x25519(private: bytes, peer_public: bytes) -> bytes:
    """The raw X25519 shared secret; InvalidPublicKey (checked first) for a bad peer key."""
    check_public_key(peer_public)
    sk = X25519PrivateKey.from_private_bytes(private)
    return sk.exchange(X25519PublicKey.from_public_bytes(peer_public))


def x25519_many(private: bytes, peer_publics: Sequence[bytes]) -> list[bytes]:
    """x25519(private, peer) for every peer, loading the private key once; every peer key
    is checked first (InvalidPublicKey), as in `x25519`."""
    for pk in peer_publics:
        check_public_key(pk)
    sk = X25519PrivateKey.from_private_bytes(private)
    return [sk.exchange(X25519PublicKey.from_public_bytes(pk)) for pk in peer_publics]


def eip712_message(
    primary_type: str,
    fields: list[tuple[str, str]],
    message: dict[str, Any],
    *,
    chain_id: int,
    contract: str,
) -> dict[str, Any]:
    """A full EIP-712 message in the fedledger v1 domain (chain id + RoundLog address).

    `fields` lists the primary struct's (name, solidity type) pairs in order. Every signed
    fedledger object (key bundles here, the coordinator's request envelopes) goes through this.
    """
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary_type: [{"name": n, "type": t} for n, t in fields],
        },
        "primaryType": primary_type,
        "domain": {
            "name": EIP712_DOMAIN_NAME,
            "version": EIP712_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": _eip55(contract),
        },
        "message": message,
    }


def bundle_typed_data(
    *,
    chain_id: int,
    contract: str,
    round_id: int,
    participant: str,
    channel_key: bytes,
    mask_key: bytes,
) -> dict[str, Any]:
    """The full EIP-712 message of a key bundle (domain + KeyBundle struct)."""
    return eip712_message(
        "KeyBundle",
        [
            ("round", "uint256"),
            ("participant", "address"),
            ("channelKey", "bytes32"),
            ("maskKey", "bytes32"),
        ],
        {
            "round": round_id,
            "participant": _eip55(participant),
            "channelKey": channel_key,
            "maskKey": mask_key,
        },
        chain_id=chain_id,
        contract=contract,
    )


@lru_cache(maxsize=1 << 16)
def checksum_address(value: str) -> str | None:
    """`value` in EIP-55 form, None if it is not an address; each string is hashed once."""
    return str(to_checksum_address(value)) if is_address(value) else None


def _eip55(value: Any) -> str:
    """to_checksum_address, cached for strings (ValueError for a non-address, as before)."""
    checked = checksum_address(value) if isinstance(value, str) else None
    return checked if checked is not None else str(to_checksum_address(value))


def typed_signable(message: dict[str, Any]) -> SignableMessage:
    """What EIP-712 signs: version 0x01, the domain separator and the struct hash.

    Flat structs of uint256, address and bytes32 fields (every fedledger message) are
    hashed here with cached type hashes and domain separators: eth-account's generic
    encoder re-derives both and checksums every address on each call, which made
    signature checks the verifier's largest cost. Anything else goes to eth-account.
    """
    try:
        domain_fields = message["types"]["EIP712Domain"]
        if set(message["domain"]) != {f["name"] for f in domain_fields}:
            raise _NotFlat
        domain = _domain_separator(
            tuple(
                (f["name"], f["type"], _hashable(message["domain"][f["name"]]))
                for f in domain_fields
            )
        )
        primary = message["primaryType"]
        fields = tuple((f["name"], f["type"]) for f in message["types"][primary])
        if set(message["types"]) != {"EIP712Domain", primary}:
            raise _NotFlat
        body = _struct_hash(primary, fields, message["message"])
    except (_NotFlat, KeyError, TypeError):
        return encode_typed_data(full_message=message)
    return SignableMessage(b"\x01", domain, body)


class _NotFlat(Exception):
    """The message needs eth-account's general encoder."""


def _hashable(value: Any) -> Any:
    if isinstance(value, str | int | bytes):
        return value
    raise _NotFlat


def _encode_field(kind: str, value: Any) -> bytes:
    if kind == "uint256" and isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < 1 << 256:
            return value.to_bytes(32, "big")
    elif kind == "address" and isinstance(value, str) and checksum_address(value) == value:
        return bytes(12) + bytes.fromhex(value[2:])
    elif kind == "bytes32" and isinstance(value, bytes) and len(value) == 32:
        return value
    elif kind == "string" and isinstance(value, str):
        return keccak(text=value)
    raise _NotFlat


@lru_cache(maxsize=64)
def _type_hash(primary: str, fields: tuple[tuple[str, str], ...]) -> bytes:
    return keccak(text=f"{primary}({','.join(f'{t} {n}' for n, t in fields)})")


def _struct_hash(primary: str, fields: tuple[tuple[str, str], ...], data: dict[str, Any]) -> bytes:
    if set(data) != {name for name, _ in fields}:
        raise _NotFlat
    encoded = b"".join(_encode_field(kind, data[name]) for name, kind in fields)
    return keccak(_type_hash(primary, fields) + encoded)


@lru_cache(maxsize=256)
def _domain_separator(domain: tuple[tuple[str, str, Any], ...]) -> bytes:
    fields = tuple((name, kind) for name, kind, _ in domain)
    return _struct_hash("EIP712Domain", fields, {name: value for name, _, value in domain})


def sign_typed(private_key: Any, message: dict[str, Any]) -> bytes:
    """The 65-byte (r || s || v) EIP-712 signature of a full typed-data message."""
    return bytes(Account.sign_message(typed_signable(message), private_key).signature)


@lru_cache(maxsize=1 << 16)
def _recover(signable: Any, signature: bytes) -> str:
    # One process often checks the same signature many times (a simulation's participants
    # each check every dropout report; the coordinator and the verifier check them again).
    return str(Account.recover_message(signable, signature=signature))


def recover_typed_signer(signature: bytes, message: dict[str, Any]) -> str:
    """The checksummed address that signed a full typed-data message; ValueError if invalid."""
    try:
        # out-of-range fields (a round >= 2^256) fail in eth_abi's encoder, not as ValueError
        signable = typed_signable(message)
        return _recover(signable, bytes(signature))
    except Exception as exc:  # eth-keys raises several types for malformed signatures
        raise ValueError(f"signature does not recover: {exc}") from None


def sign_bundle(private_key: Any, **fields: Any) -> bytes:
    """The 65-byte (r || s || v) EIP-712 signature of a key bundle; fields as bundle_typed_data."""
    return sign_typed(private_key, bundle_typed_data(**fields))


def recover_bundle_signer(signature: bytes, **fields: Any) -> str:
    """The checksummed address that produced `signature` over the bundle; ValueError if invalid."""
    return recover_typed_signer(signature, bundle_typed_data(**fields))


def _raw_public(pk: X25519PublicKey) -> bytes:
    return pk.public_bytes(Encoding.Raw, PublicFormat.Raw)
