"""Exact discrete Gaussian sampling (Canonne, Kamath, Steinke 2020) on a ChaCha20 keystream.

Every accept/reject decision is a comparison of integers: Bernoulli(n/d) is "a uniform draw
below d is below n", Bernoulli(exp(-n/d)) is CKS Algorithm 1 built from those, the discrete
Laplace is their Algorithm 2 and the discrete Gaussian their Algorithm 3, with sigma^2 a
rational number. No float ever decides a sample, so the output distribution is exactly
N_Z(0, sigma^2) (floating-point samplers leak through their rounding, Mironov 2012).
The randomness is a ChaCha20 keystream keyed from os.urandom, never numpy's or `random`'s.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from fedledger.errors import ConfigError

__all__ = [
    "SIGMA2_DENOMINATOR",
    "KeyStream",
    "bernoulli_exp",
    "discrete_gaussian",
    "discrete_laplace",
    "sigma_squared",
]

# sigma^2 = p / 2^16 with p rounded up: never less noise than asked, small exact integers.
SIGMA2_DENOMINATOR = 1 << 16
_REFILL = 1 << 16  # keystream bytes produced per cipher call
_POOL_BITS = 512


class KeyStream:
    """Uniform integers from a ChaCha20 keystream (key from os.urandom unless given, for tests)."""

    def __init__(self, key: bytes | None = None) -> None:
        key = os.urandom(32) if key is None else key
        if len(key) != 32:
            raise ConfigError(f"keystream: ChaCha20 needs a 32-byte key, got {len(key)}")
        self._cipher = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
        self._buf = b""
        self._pos = 0
        self._pool = 0
        self._bits = 0

    def read(self, n: int) -> bytes:
        """The next `n` keystream bytes."""
        if self._pos + n > len(self._buf):
            rest = self._buf[self._pos :]
            self._buf = rest + self._cipher.update(bytes(max(_REFILL, n)))
            self._pos = 0
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def bits(self, k: int) -> int:
        """A uniform integer in [0, 2^k)."""
        if self._bits < k:  # refill by 512 bits: few calls, small integers to shift
            more = -(-(k - self._bits) // _POOL_BITS) * _POOL_BITS
            self._pool |= int.from_bytes(self.read(more // 8), "little") << self._bits
            self._bits += more
        out = self._pool & ((1 << k) - 1)
        self._pool >>= k
        self._bits -= k
        return out

    def below(self, m: int) -> int:
        """A uniform integer in [0, m) by rejection (no modulo bias)."""
        if m < 1:
            raise ConfigError(f"keystream: cannot draw below {m}")
        k = (m - 1).bit_length()
        r = self.bits(k)
        while r >= m:
            r = self.bits(k)
        return r

    def unit_floats(self, size: int) -> np.ndarray:
        """`size` floats uniform on [0, 1) with 53 random bits each (for rounding, not noise)."""
        words = np.frombuffer(self.read(8 * size), dtype="<u8")
        return (words >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _bernoulli_exp_at_most_one(stream: KeyStream, num: int, den: int) -> bool:
    """Bernoulli(exp(-num/den)) for 0 <= num <= den (CKS Algorithm 1, first case)."""
    k = 1
    while stream.below(den * k) < num:  # Bernoulli(gamma / k)
        k += 1
    return k % 2 == 1


def bernoulli_exp(stream: KeyStream, num: int, den: int) -> bool:
    """Bernoulli(exp(-num/den)) for integers num >= 0, den >= 1 (CKS Algorithm 1)."""
    while num > den:  # exp(-gamma) = exp(-1)^floor(gamma) * exp(-(gamma - floor(gamma)))
        if not _bernoulli_exp_at_most_one(stream, 1, 1):
            return False
        num -= den
    return _bernoulli_exp_at_most_one(stream, num, den)


def discrete_laplace(stream: KeyStream, t: int) -> int:
    """A sample of P(y) proportional to exp(-|y|/t), integer t >= 1 (CKS Algorithm 2)."""
    while True:
        u = stream.below(t)
        if not bernoulli_exp(stream, u, t):
            continue
        v = 0
        while bernoulli_exp(stream, 1, 1):
            v += 1
        x = u + t * v
        negative = stream.bits(1)
        if negative and x == 0:
            continue
        return -x if negative else x


def _one_gaussian(stream: KeyStream, p: int, q: int, t: int) -> int:
    """CKS Algorithm 3 for sigma^2 = p/q: accept a Laplace(t) proposal y with probability
    exp(-(|y| - sigma^2/t)^2 / (2 sigma^2)) = exp(-(|y| q t - p)^2 / (2 p q t^2))."""
    while True:
        y = discrete_laplace(stream, t)
        gap = abs(y) * q * t - p
        if bernoulli_exp(stream, gap * gap, 2 * p * q * t * t):
            return y


def sigma_squared(sigma: float) -> Fraction:
    """sigma^2 as p / 2^16, rounded up (the only float step: setting the parameter)."""
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        raise ConfigError(f"discrete gaussian: sigma must be a finite number > 0, got {sigma!r}")
    return Fraction(math.ceil(sigma * sigma * SIGMA2_DENOMINATOR), SIGMA2_DENOMINATOR)


def _ratio(sigma2: Fraction) -> tuple[int, int]:
    """sigma^2 as (p, q); a float is refused: its value is not what the caller meant exactly."""
    if isinstance(sigma2, bool) or not isinstance(sigma2, Fraction | int) or sigma2 <= 0:
        raise ConfigError(f"discrete gaussian: sigma^2 must be a positive Fraction, got {sigma2!r}")
    exact = Fraction(sigma2)
    return exact.numerator, exact.denominator


def discrete_gaussian(sigma2: Fraction, size: int, stream: KeyStream) -> np.ndarray:
    """`size` independent samples of N_Z(0, sigma2), sigma2 an exact positive rational."""
    p, q = _ratio(sigma2)
    t = math.isqrt(p * q) // q + 1  # floor(sigma) + 1, exactly
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        out[i] = _one_gaussian(stream, p, q, t)
    return out
