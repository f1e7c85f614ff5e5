"""Mask arithmetic shared by clients, the aggregator and the verifier (all mod 2^32)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import numpy as np

from fedledger.secagg.crypto.kdf import (
    CHANNEL_INFO,
    PAIRWISE_INFO,
    PRG_PAIRWISE_INFO,
    PRG_SELF_INFO,
    hkdf_sha256,
    pair_info,
)
from fedledger.secagg.crypto.keys import x25519, x25519_many
from fedledger.secagg.crypto.prg import fold_streams
from fedledger.secagg.engine import Engine
from fedledger.secagg.params import RoundContext
from fedledger.secagg.regen import DEFAULT_CHUNK_STREAMS, mask_chunks, pair_sign, remove_masks

__all__ = [
    "apply_masks",
    "channel_key",
    "pair_keys",
    "pair_sign",
    "pairwise_seed",
    "recompute_aggregate",
]


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


def pair_keys(
    ctx: RoundContext,
    *,
    channel_private: bytes,
    mask_private: bytes,
    me: str,
    peers: Sequence[tuple[str, bytes, bytes]],
) -> list[tuple[bytes, bytes]]:
    """(channel_key, pairwise_seed) with each (peer, channel public, mask public), in order.

    The same values as `channel_key` and `pairwise_seed` one peer at a time, with each
    private key loaded once for all k peers (loading costs as much as an exchange).
    ValueError (InvalidPublicKey) for a low-order or non-canonical peer key.
    """
    fields = ctx.fields()
    channel = x25519_many(channel_private, [c for _, c, _ in peers])
    mask = x25519_many(mask_private, [m for _, _, m in peers])
    return [
        (
            hkdf_sha256(c, pair_info(CHANNEL_INFO, a=me, b=peer, **fields)),
            hkdf_sha256(m, pair_info(PAIRWISE_INFO, a=me, b=peer, **fields)),
        )
        for (peer, _, _), c, m in zip(peers, channel, mask, strict=True)
    ]


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


def recompute_aggregate(
    ctx: RoundContext,
    *,
    addresses: list[str],
    mask_keys_public: Mapping[str, bytes],
    neighbours: Mapping[str, Sequence[str]],
    survivors: Iterable[str],
    self_mask_seeds: Mapping[str, bytes],
    mask_keys: Mapping[str, bytes],
    length: int,
    vectors: Mapping[str, np.ndarray] | None = None,
    masked_sum: np.ndarray | None = None,
    unmasked: Mapping[str, Collection[str]] | None = None,
    engine: Engine | None = None,
    chunk_streams: int = DEFAULT_CHUNK_STREAMS,
) -> np.ndarray:
    """The unmasked sum from public material: survivors' vectors and seeds, dropped s^SK.

    The survivors' masked vectors come either summed already (`masked_sum`, the running sum
    kept as they arrived) or one by one (`vectors`). For every dropped v with a revealed
    s_v^SK and every surviving neighbour u, the mask u added, sign(u,v) * PRG(s_uv), is
    regenerated from X25519(s_v^SK, s_u^PK) and removed; `unmasked[u]` lists the neighbours
    u did not mask with (it held no valid share of theirs), whose pair is skipped. Mask
    regeneration runs in chunks on `engine` (default: inline); the result does not depend
    on the engine or the chunk size.
    """
    wanted = set(survivors)
    surv = [a for a in addresses if a in wanted]
    if masked_sum is not None:
        acc = np.array(masked_sum, dtype=np.uint32, copy=True)
    else:
        if vectors is None:
            raise ValueError("recompute_aggregate needs vectors or masked_sum")
        acc = np.zeros(length, dtype=np.uint32)
        for u in surv:
            np.add(acc, vectors[u], out=acc)
    chunks = mask_chunks(
        ctx,
        addresses=addresses,
        mask_keys_public=mask_keys_public,
        neighbours=neighbours,
        survivors=surv,
        self_mask_seeds=self_mask_seeds,
        mask_keys=mask_keys,
        length=length,
        unmasked=unmasked,
        chunk_streams=chunk_streams,
    )
    return remove_masks(acc, chunks, engine)
