"""Mask arithmetic shared by clients, the aggregator and the verifier (all mod 2^32)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

import numpy as np

from fedledger.secagg.crypto.kdf import (
    CHANNEL_INFO,
    PAIRWISE_INFO,
    PRG_PAIRWISE_INFO,
    PRG_SELF_INFO,
    address_bytes,
    hkdf_sha256,
    pair_info,
)
from fedledger.secagg.crypto.keys import x25519, x25519_many
from fedledger.secagg.crypto.prg import fold_streams
from fedledger.secagg.params import RoundContext

__all__ = ["apply_masks", "channel_key", "pair_sign", "pairwise_seed", "unmask_sum"]


def pair_sign(me: str, peer: str) -> int:
    """+1 if me's address (20 raw bytes) sorts below peer's, else -1."""
    return 1 if address_bytes(me) < address_bytes(peer) else -1


def pairwise_seed(
    ctx: RoundContext, mask_private: bytes, peer_mask_public: bytes, me: str, peer: str
) -> bytes:
    """s_uv = HKDF-SHA256(X25519(s_u, s_v), PAIRWISE_INFO || ctx || lower addr || higher addr)."""
    shared = x25519(mask_private, peer_mask_public)
    return hkdf_sha256(shared, pair_info(PAIRWISE_INFO, a=me, b=peer, **ctx.fields()))


def channel_key(
    ctx: RoundContext, channel_private: bytes, peer_channel_public: bytes, me: str, peer: str
) -> bytes:
    """AES-256-GCM key = HKDF-SHA256(X25519(c_u, c_v), CHANNEL_INFO || ctx || lower || higher)."""
    shared = x25519(channel_private, peer_channel_public)
    return hkdf_sha256(shared, pair_info(CHANNEL_INFO, a=me, b=peer, **ctx.fields()))


def apply_masks(
    x: np.ndarray,
    self_seed: bytes,
    pairwise: Iterable[tuple[bytes, int]],
    *,
    on_chunk: Callable[[np.ndarray], object] | None = None,
) -> np.ndarray:
    """y = x + PRG(b) + sum(sign * PRG(s_uv)) mod 2^32, as a new uint32 vector.

    `on_chunk` sees y chunk by chunk as it is finished (the client hashes it there).
    """
    x = np.asarray(x, dtype=np.uint32)
    y = np.empty_like(x)
    terms = [(self_seed, PRG_SELF_INFO, 1)]
    terms += [(seed, PRG_PAIRWISE_INFO, sign) for seed, sign in pairwise]
    fold_streams(y, terms, initial=x, on_chunk=on_chunk)
    return y


def unmask_sum(
    vectors: Iterable[np.ndarray],
    self_seeds: Iterable[bytes],
    dangling: Iterable[tuple[bytes, int]],
    length: int,
) -> np.ndarray:
    """sum(y_u) - sum(PRG(b_u)) - sum(sign(u,v) * PRG(s_uv)) over survivor u, dropped v."""
    acc = np.zeros(length, dtype=np.uint32)
    terms = [(seed, PRG_SELF_INFO, -1) for seed in self_seeds]
    terms += [(seed, PRG_PAIRWISE_INFO, -sign) for seed, sign in dangling]
    fold_streams(acc, terms, vectors=vectors)
    return acc


def recompute_aggregate(
    ctx: RoundContext,
    *,
    addresses: list[str],
    mask_keys_public: dict[str, bytes],
    neighbours: dict[str, list[str]],
    survivors: Iterable[str],
    vectors: dict[str, np.ndarray],
    self_mask_seeds: dict[str, bytes],
    mask_keys: dict[str, bytes],
    length: int,
    unmasked: Mapping[str, Collection[str]] | None = None,
) -> np.ndarray:
    """The unmasked sum from public material: survivors' vectors and seeds, dropped s^SK.

    For every dropped v with a revealed s_v^SK and every surviving neighbour u, the
    mask u added, sign(u,v) * PRG(s_uv), is regenerated from X25519(s_v^SK, s_u^PK)
    and removed; `unmasked[u]` lists the neighbours u did not mask with (it held no valid
    share of theirs), whose pair is skipped.
    """
    unmasked = unmasked or {}
    wanted = set(survivors)
    surv = [a for a in addresses if a in wanted]
    surv_set = set(surv)
    dangling: list[tuple[bytes, int]] = []
    for v, sk in mask_keys.items():
        peers = [u for u in neighbours[v] if u in surv_set and v not in unmasked.get(u, ())]
        shared = x25519_many(sk, [mask_keys_public[u] for u in peers])  # sk loaded once
        for u, secret in zip(peers, shared, strict=True):
            seed = hkdf_sha256(secret, pair_info(PAIRWISE_INFO, a=v, b=u, **ctx.fields()))
            dangling.append((seed, pair_sign(u, v)))
    return unmask_sum(
        (vectors[u] for u in surv), (self_mask_seeds[u] for u in surv), dangling, length
    )
