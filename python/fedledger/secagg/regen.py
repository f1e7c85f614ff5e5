"""Regenerate the masks the unmask step removes, in bounded chunks run on an Engine.

The unmask step removes PRG(b_u) for every survivor u and sign(u,v) * PRG(s_uv) for every
dropped v with a revealed s_v^SK and every surviving neighbour u that masked with v. Those
streams are split into chunks of at most `chunk_streams`; each chunk is folded into one
partial vector by a worker (which also derives its pairwise seeds), and the partials are
added into the running sum as they arrive. Addition mod 2^32 is associative and
commutative, so the result is bit-identical to the sequential fold whatever the order;
memory stays at one vector per chunk in flight.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fedledger.secagg.crypto.kdf import (
    PAIRWISE_INFO,
    PRG_PAIRWISE_INFO,
    PRG_SELF_INFO,
    address_bytes,
    hkdf_sha256,
    pair_info,
)
from fedledger.secagg.crypto.keys import x25519_many
from fedledger.secagg.crypto.prg import fold_streams
from fedledger.secagg.engine import Engine, InlineEngine
from fedledger.secagg.params import RoundContext

__all__ = [
    "DEFAULT_CHUNK_STREAMS",
    "MaskChunk",
    "mask_chunks",
    "pair_sign",
    "regenerate_chunk",
    "remove_masks",
]

DEFAULT_CHUNK_STREAMS = 64
"""Streams per chunk: enough AES work per task to dwarf the cost of shipping a vector back."""


@dataclass(frozen=True)
class MaskChunk:
    """One unit of work: self-mask seeds, and dropped members' keys with the peers to pair."""

    ctx: RoundContext
    length: int
    self_seeds: tuple[bytes, ...]
    pairs: tuple[tuple[str, bytes, tuple[tuple[str, bytes], ...]], ...]
    """(dropped v, s_v^SK, ((surviving neighbour u, s_u^PK), ...)) ."""


def pair_sign(me: str, peer: str) -> int:
    """+1 if me's address (20 raw bytes) sorts below peer's, else -1."""
    return 1 if address_bytes(me) < address_bytes(peer) else -1


def regenerate_chunk(chunk: MaskChunk) -> np.ndarray:
    """-(sum PRG(b_u) + sum sign(u,v) * PRG(s_uv)) mod 2^32 over this chunk's streams."""
    terms = [(seed, PRG_SELF_INFO, -1) for seed in chunk.self_seeds]
    fields = chunk.ctx.fields()
    for v, sk, peers in chunk.pairs:
        shared = x25519_many(sk, [pk for _, pk in peers])  # sk loaded once
        for (u, _), secret in zip(peers, shared, strict=True):
            seed = hkdf_sha256(secret, pair_info(PAIRWISE_INFO, a=v, b=u, **fields))
            # u added pair_sign(u, v) * PRG(s_uv): remove it.
            terms.append((seed, PRG_PAIRWISE_INFO, -pair_sign(u, v)))
    acc = np.zeros(chunk.length, dtype=np.uint32)
    fold_streams(acc, terms)
    return acc


def mask_chunks(
    ctx: RoundContext,
    *,
    addresses: Sequence[str],
    mask_keys_public: Mapping[str, bytes],
    neighbours: Mapping[str, Sequence[str]],
    survivors: Collection[str],
    self_mask_seeds: Mapping[str, bytes],
    mask_keys: Mapping[str, bytes],
    length: int,
    unmasked: Mapping[str, Collection[str]] | None = None,
    chunk_streams: int = DEFAULT_CHUNK_STREAMS,
) -> Iterator[MaskChunk]:
    """The streams to remove, cut into chunks of at most `chunk_streams` (roster order)."""
    unmasked = unmasked or {}
    surv_set = set(survivors)
    surv = [a for a in addresses if a in surv_set]
    size = max(1, chunk_streams)
    seeds = [self_mask_seeds[u] for u in surv]
    for i in range(0, len(seeds), size):
        yield MaskChunk(ctx, length, tuple(seeds[i : i + size]), ())
    batch: list[tuple[str, bytes, tuple[tuple[str, bytes], ...]]] = []
    count = 0
    for v, sk in mask_keys.items():
        peers = [
            (u, mask_keys_public[u])
            for u in neighbours[v]
            if u in surv_set and v not in unmasked.get(u, ())
        ]
        for i in range(0, len(peers), size):
            part = tuple(peers[i : i + size])
            if count + len(part) > size and batch:
                yield MaskChunk(ctx, length, (), tuple(batch))
                batch, count = [], 0
            batch.append((v, sk, part))
            count += len(part)
    if batch:
        yield MaskChunk(ctx, length, (), tuple(batch))


def remove_masks(
    acc: np.ndarray, chunks: Iterator[MaskChunk], engine: Engine | None = None
) -> np.ndarray:
    """acc + every chunk's regenerate_chunk, in place (partials added as they arrive)."""
    engine = engine or InlineEngine()
    for partial in engine.map_unordered(regenerate_chunk, chunks):
        np.add(acc, partial, out=acc)
    return acc
