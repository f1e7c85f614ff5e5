"""HKDF-SHA256 key derivation and every domain-separation string secagg uses, in one place."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "CHANNEL_INFO",
    "DLEQ_INFO",
    "GRAPH_INFO",
    "PAIRWISE_INFO",
    "PRG_PAIRWISE_INFO",
    "PRG_SELF_INFO",
    "SHARE_AAD_PREFIX",
    "address_bytes",
    "hkdf_sha256",
    "pair_info",
    "uint256_be",
]

# Every string below is part of the protocol (docs/protocol.md section 4.3); changing one
# changes every mask, so a new value needs a new version tag.
PAIRWISE_INFO = b"fedledger/secagg/v1/pairwise"
CHANNEL_INFO = b"fedledger/secagg/v1/channel"
PRG_SELF_INFO = b"fedledger/secagg/v1/prg/self"
PRG_PAIRWISE_INFO = b"fedledger/secagg/v1/prg/pairwise"
GRAPH_INFO = b"fedledger/secagg/v1/graph"
DLEQ_INFO = b"fedledger/secagg/v1/accusation"
SHARE_AAD_PREFIX = b"fedledger/secagg/v1/share"


def uint256_be(value: int) -> bytes:
    """An unsigned integer as 32 big-endian bytes (the hash-input form of integers)."""
    if value < 0 or value >= 1 << 256:
        raise ValueError(f"integer {value} does not fit in uint256")
    return value.to_bytes(32, "big")


def address_bytes(address: str) -> bytes:
    """The 20 raw bytes of a 0x-hex Ethereum address (checksum not checked here)."""
    body = address[2:] if address[:2] in ("0x", "0X") else address
    raw = bytes.fromhex(body)
    if len(raw) != 20:
        raise ValueError(f"address {address!r} is not 20 bytes")
    return raw


def hkdf_sha256(ikm: bytes, info: bytes, *, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) with no salt (i.e. 32 zero bytes) and the given info."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(ikm)


def pair_info(
    label: bytes, *, chain_id: int, contract: str, round_id: int, a: str, b: str
) -> bytes:
    """label || chainId || contract || round || lower address || higher address (raw bytes)."""
    first, second = sorted((address_bytes(a), address_bytes(b)))
    return (
        label
        + uint256_be(chain_id)
        + address_bytes(contract)
        + uint256_be(round_id)
        + first
        + second
    )
