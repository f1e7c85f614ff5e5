"""The two on-chain commitments of a participant: masked-update hash and seed commitment."""

from __future__ import annotations

from dataclasses import dataclass

from fedledger.encoding import sha256
from fedledger.secagg.crypto.kdf import address_bytes, uint256_be

__all__ = ["Commitment", "seed_commitment"]


def seed_commitment(
    self_mask_seed: bytes, round_id: int, participant: str, dropouts_hash: bytes | None = None
) -> bytes:
    """sha256(b_u (32 bytes) || uint256_be(round) || participant (20 raw bytes)), followed
    inside the hash by `dropouts_hash` (32 bytes) when the participant has local dropouts:
    its on-chain commitment then pins its report, so nobody can hide or swap it."""
    if len(self_mask_seed) != 32:
        raise ValueError(f"self-mask seed must be 32 bytes, got {len(self_mask_seed)}")
    tail = b"" if dropouts_hash is None else dropouts_hash
    if len(tail) not in (0, 32):
        raise ValueError(f"dropouts hash must be 32 bytes, got {len(tail)}")
    return sha256(self_mask_seed + uint256_be(round_id) + address_bytes(participant) + tail)


@dataclass(frozen=True)
class Commitment:
    """What `commit(round, maskedHash, seedCommitment, weight)` put on chain for one participant."""

    masked_hash: bytes
    """sha256 of the masked vector's .npy blob."""
    seed_commitment: bytes
    """seed_commitment(b_u, round, participant[, dropoutsHash])."""
    weight: int
    """The FedAvg weight committed in plaintext (1..maxWeight): decoding takes W from these."""
