"""The mask PRG: AES-256-CTR keystream read as little-endian uint32, never numpy's RNG."""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fedledger.secagg.crypto.kdf import hkdf_sha256

__all__ = ["MaskExpander", "prg_key", "prg_uint32"]

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


class MaskExpander:
    """Expands seeds into mask streams and adds them in place, reusing one scratch buffer.

    Each stream is generated exactly once into the scratch buffer and folded into the
    accumulator with numpy's wrap-around uint32 arithmetic (mod 2^32), so masking costs
    one keystream plus one vector add per seed.
    """

    def __init__(self, length: int) -> None:
        if length <= 0:
            raise ValueError(f"vector length must be positive, got {length}")
        self.length = length
        nbytes = 4 * length
        self._zeros = memoryview(bytes(nbytes))
        # update_into needs len(data) + block_size - 1 bytes of room.
        self._raw = bytearray(nbytes + _BLOCK)
        self._scratch = np.frombuffer(self._raw, dtype="<u4", count=length)

    def _stream(self, seed: bytes, info: bytes) -> np.ndarray:
        key = prg_key(seed, info)
        encryptor = Cipher(algorithms.AES(key), modes.CTR(_ZERO_IV)).encryptor()
        encryptor.update_into(self._zeros, self._raw)
        return self._scratch

    def fill(self, out: np.ndarray, seed: bytes, info: bytes) -> None:
        """Write the stream of (seed, info) into `out` (uint32, this expander's length)."""
        np.copyto(out, self._stream(seed, info))

    def add(self, acc: np.ndarray, seed: bytes, info: bytes) -> None:
        """acc += PRG(seed, info) mod 2^32, in place."""
        np.add(acc, self._stream(seed, info), out=acc)

    def subtract(self, acc: np.ndarray, seed: bytes, info: bytes) -> None:
        """acc -= PRG(seed, info) mod 2^32, in place."""
        np.subtract(acc, self._stream(seed, info), out=acc)
