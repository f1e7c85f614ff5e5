"""The chain's cohort sample: which candidates a round with a cohort size rosters (protocol 2.3)."""

from __future__ import annotations

from collections.abc import Iterable

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

__all__ = ["cohort_sample", "sample_score", "sample_seed"]


def _b32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{what}: expected 32 bytes, got {len(value)}")
    return bytes(value)


def sample_seed(seed: bytes, candidates_hash: bytes, anchor_block_hash: bytes) -> bytes:
    """keccak256(abi.encode(seed, candidatesHash, blockhash(candidatesBlock))), as postRoster."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32"],
            [
                _b32(seed, "seed"),
                _b32(candidates_hash, "candidates_hash"),
                _b32(anchor_block_hash, "anchor_block_hash"),
            ],
        )
    )


def sample_score(seed: bytes, address: str) -> int:
    """keccak256(sampleSeed || addr(address)) as a big-endian integer: the lower, the earlier."""
    raw = bytes.fromhex(to_checksum_address(address)[2:])
    return int.from_bytes(keccak(_b32(seed, "sample_seed") + raw), "big")


def cohort_sample(candidates: Iterable[str], seed: bytes, cohort_size: int) -> list[str]:
    """The members the rule takes, in roster (ascending address) order.

    cohort_size 0, or no more candidates than it: every candidate. Else the cohort_size
    candidates with the smallest `sample_score` (distinct addresses cannot tie).
    """
    unique = {to_checksum_address(a) for a in candidates}
    if cohort_size < 0:
        raise ValueError(f"cohort_size must be >= 0, got {cohort_size}")
    if cohort_size == 0 or len(unique) <= cohort_size:
        chosen = unique
    else:
        chosen = set(sorted(unique, key=lambda a: sample_score(seed, a))[:cohort_size])
    return sorted(chosen, key=lambda a: bytes.fromhex(a[2:]))
