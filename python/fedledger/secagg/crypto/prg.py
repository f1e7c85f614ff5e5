"""The mask PRG: AES-256-CTR keystream read as little-endian uint32, never numpy's RNG."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fedledger.secagg.crypto.kdf import hkdf_sha256

__all__ = ["CHUNK_WORDS", "MaskExpander", "fold_streams", "prg_key", "prg_uint32"]

_ZERO_IV = bytes(16)
_BLOCK = 16


def prg_key(seed: bytes, info: bytes) -> bytes:
    """The AES-256 key of a mask stream: HKDF-SHA256(seed, info) (domain separation)."""
    if len(seed) != 32:
        raise ValueError(f"PRG seed must be 32 bytes, got {len(seed)}")
    return hkdf_sha256(seed, info)


def prg_uint32(seed: bytes, info: bytes, length: int) -> np.ndarray:
    """`length` little-endian uint32 words of AES-256-CTR(prg_key(seed, info), IV=0) keystream."""
    out = np.empty(length, dtype=np.uint32)
    MaskExpander(length).fill(out, seed, info)
    return out


# Words per chunk: keystream scratch and accumulator slice stay in L2 across all streams.
CHUNK_WORDS = 32768


def fold_streams(
    acc: np.ndarray,
    terms: Sequence[tuple[bytes, bytes, int]],
    *,
    vectors: Iterable[np.ndarray] = (),
    initial: np.ndarray | None = None,
    on_chunk: Callable[[np.ndarray], object] | None = None,
) -> None:
    """acc += sum(vectors) + sum(sign * PRG(seed, info)) mod 2^32, in place.

    With `initial`, acc's old contents are ignored and `initial` is copied in first
    (chunk by chunk, so a masked copy of a vector costs no extra pass over memory).
    `on_chunk` sees each finished chunk of acc in order, while it is still in cache.
    Works chunk by chunk with every stream's AES-CTR state kept open, so each chunk of
    the accumulator is loaded once and all keystreams are added while it is in cache;
    each stream is still generated exactly once (the counter carries across chunks).
    """
    length = acc.size
    vectors = list(vectors)
    encryptors = [
        (Cipher(algorithms.AES(prg_key(seed, info)), modes.CTR(_ZERO_IV)).encryptor(), sign)
        for seed, info, sign in terms
    ]
    # Equal chunks near CHUNK_WORDS: a small ragged last chunk would cost a call per stream.
    chunk = -(-length // max(1, round(length / CHUNK_WORDS)))
    zeros = memoryview(bytes(4 * chunk))
    raw = bytearray(4 * chunk + _BLOCK)  # update_into needs block_size - 1 spare bytes
    scratch = np.frombuffer(raw, dtype="<u4", count=chunk)
    for start in range(0, length, chunk):
        m = min(chunk, length - start)
        part = acc[start : start + m]
        if initial is not None:
            np.copyto(part, initial[start : start + m])
        for v in vectors:
            np.add(part, v[start : start + m], out=part)
        ks, plain = scratch[:m], zeros[: 4 * m]
        for encryptor, sign in encryptors:
            encryptor.update_into(plain, raw)
            (np.add if sign > 0 else np.subtract)(part, ks, out=part)
        if on_chunk is not None:
            on_chunk(part)


class MaskExpander:
    """Adds or subtracts single mask streams of a fixed length in place (see fold_streams)."""

    def __init__(self, length: int) -> None:
        if length <= 0:
            raise ValueError(f"vector length must be positive, got {length}")
        self.length = length

    def fill(self, out: np.ndarray, seed: bytes, info: bytes) -> None:
        """Write the stream of (seed, info) into `out` (uint32, this expander's length)."""
        out[:] = 0
        fold_streams(out, [(seed, info, 1)])

    def add(self, acc: np.ndarray, seed: bytes, info: bytes) -> None:
        """acc += PRG(seed, info) mod 2^32, in place."""
        fold_streams(acc, [(seed, info, 1)])

    def subtract(self, acc: np.ndarray, seed: bytes, info: bytes) -> None:
        """acc -= PRG(seed, info) mod 2^32, in place."""
        fold_streams(acc, [(seed, info, -1)])
