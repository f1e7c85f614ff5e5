"""Distributed discrete Gaussian (Kairouz, Liu, Steinke, ICML 2021): client encode, server decode.

Client: clip in L2, rotate (randomized Hadamard, public seed), scale by 1/gamma, round with
conditional randomized rounding (retry until the norm bound holds), add discrete Gaussian noise
of variance sigma^2 / min_survivors, reduce mod 2^bits; the result is masked like any input.
Server: the unmasked sum mod 2^bits, read centred in [-2^(bits-1), 2^(bits-1)), times gamma,
rotated back. docs/protocol.md 3.4 states the construction.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from fedledger.errors import ConfigError

__all__ = [
    "DdpParams",
    "choose_gamma",
    "ddp_decode",
    "ddp_encode",
    "discrete_gaussian",
    "rotate",
    "unrotate",
]


@dataclass(frozen=True)
class DdpParams:
    """One round's distributed-DP encoding.

    `clip_norm` c (L2), `noise_multiplier` z (noise std on the sum = z * the rounded norm
    bound), `min_survivors` n_min (fewest clients whose noise the sum is guaranteed to carry),
    `gamma` the granularity (one integer step = gamma), `bits` of the modulus, `beta` the
    conditional-rounding slack (the norm bound holds with it; rounding retries until it does).
    """

    clip_norm: float
    noise_multiplier: float
    min_survivors: int
    gamma: float
    bits: int = 32
    beta: float = math.exp(-0.5)

    def __post_init__(self) -> None:
        if not self.clip_norm > 0 or not self.noise_multiplier > 0 or not self.gamma > 0:
            raise ConfigError("ddp: clip norm, noise multiplier and gamma must be > 0")
        if self.min_survivors < 1 or not 2 <= self.bits <= 62:
            raise ConfigError("ddp: need min_survivors >= 1 and 2 <= bits <= 62")
        if not 0 < self.beta < 1:
            raise ConfigError(f"ddp: beta must be in (0, 1), got {self.beta}")

    def norm_bound(self, dim: int) -> float:
        """L2 bound of a rounded, scaled update (KLS21 eq. for conditional rounding)."""
        c = self.clip_norm / self.gamma
        d = _padded(dim)
        return min(
            math.sqrt(
                c * c + d / 4 + math.sqrt(2 * math.log(1 / self.beta)) * (c + math.sqrt(d) / 2)
            ),
            c + math.sqrt(d),
        )

    def client_sigma(self, dim: int) -> float:
        """Discrete Gaussian std each client adds: sum over n_min carries z * norm bound."""
        return self.noise_multiplier * self.norm_bound(dim) / math.sqrt(self.min_survivors)


def choose_gamma(
    clip_norm: float,
    dim: int,
    *,
    participants: int,
    noise_multiplier: float,
    bits: int = 32,
    k: float = 4.0,
) -> float:
    """The finest gamma whose sum stays within +-2^(bits-1) with k standard deviations of slack.

    After the rotation each coordinate of a clipped update is about c / sqrt(d); the sum of n
    of them is at most n c / sqrt(d) (aligned updates), the noise adds std z (c + sqrt(d)) in
    steps. gamma makes k (both) fit in half the modulus, as KLS21 section 4 does.
    """
    d = _padded(dim)
    half = 2.0 ** (bits - 1)
    signal = participants * clip_norm / math.sqrt(d)
    # Noise std in real units: z * (c + gamma sqrt(d)); solve k (signal + z c) + k z gamma sqrt(d)
    # + n gamma (rounding) <= half * gamma for gamma.
    need = k * (signal + noise_multiplier * clip_norm)
    room = half - k * noise_multiplier * math.sqrt(d) - participants
    if room <= 0:
        raise ConfigError(f"ddp: {bits} bits cannot hold {participants} participants of dim {dim}")
    return need / room


def _padded(dim: int) -> int:
    return 1 << max(0, (dim - 1).bit_length())


def _fwht(x: np.ndarray) -> np.ndarray:
    """Orthonormal Walsh-Hadamard transform of a power-of-two-length float64 vector."""
    y = x.astype(np.float64, copy=True)
    h = 1
    while h < y.size:
        y = y.reshape(-1, 2, h)
        a, b = y[:, 0, :].copy(), y[:, 1, :].copy()
        y[:, 0, :], y[:, 1, :] = a + b, a - b
        y = y.reshape(-1)
        h *= 2
    return y / math.sqrt(y.size)


def _signs(d: int, seed: bytes) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed[:16].ljust(16, b"\0"), "big")))
    return rng.integers(0, 2, d) * 2.0 - 1.0


def rotate(x: np.ndarray, seed: bytes) -> np.ndarray:
    """H D x (zero-padded to a power of two): spreads mass evenly, preserves the L2 norm."""
    d = _padded(x.size)
    padded = np.zeros(d)
    padded[: x.size] = x
    return _fwht(_signs(d, seed) * padded)


def unrotate(y: np.ndarray, dim: int, seed: bytes) -> np.ndarray:
    """Inverse of `rotate`: D H y, truncated to `dim`."""
    return (_signs(y.size, seed) * _fwht(y))[:dim]


def discrete_gaussian(sigma: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Samples of N_Z(0, sigma^2) (Canonne, Kamath, Steinke 2020, Alg. 3, vectorised).

    Discrete Laplace proposals of scale t = floor(sigma) + 1, accepted with probability
    exp(-(|y| - sigma^2 / t)^2 / (2 sigma^2)). Floating point, like TensorFlow Federated's.
    """
    if not sigma > 0:
        raise ConfigError(f"ddp: sigma must be > 0, got {sigma}")
    t = math.floor(sigma) + 1
    p = 1 - math.exp(-1 / t)
    out = np.empty(size, dtype=np.int64)
    todo = np.arange(size)
    while todo.size:
        y = rng.geometric(p, todo.size) - rng.geometric(p, todo.size)
        accept = rng.random(todo.size) < np.exp(-((np.abs(y) - sigma**2 / t) ** 2) / (2 * sigma**2))
        out[todo[accept]] = y[accept]
        todo = todo[~accept]
    return out


def ddp_encode(
    update: np.ndarray,
    params: DdpParams,
    *,
    rotation_seed: bytes,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A client's noised integer vector mod 2^bits (uint64 holding values below 2^bits).

    `rng` defaults to one seeded from OS entropy: noise anyone can predict is no noise.
    """
    rng = rng or np.random.Generator(np.random.PCG64(int.from_bytes(os.urandom(16), "big")))
    x = np.asarray(update, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ConfigError("ddp: the update must be a finite 1-D vector")
    norm = float(np.linalg.norm(x))
    if norm > params.clip_norm:
        x = x * (params.clip_norm / norm)
    scaled = rotate(x, rotation_seed) / params.gamma
    bound = params.norm_bound(x.size)
    floor = np.floor(scaled)
    while True:  # conditional randomized rounding: unbiased, retried until within the bound
        rounded = floor + (rng.random(scaled.size) < scaled - floor)
        if np.linalg.norm(rounded) <= bound:
            break
    noised = rounded.astype(np.int64) + discrete_gaussian(
        params.client_sigma(x.size), scaled.size, rng
    )
    return (noised % (1 << params.bits)).astype(np.uint64)


def ddp_decode(
    total: np.ndarray, dim: int, params: DdpParams, *, rotation_seed: bytes
) -> np.ndarray:
    """The (noised) sum of the clients' clipped updates from their sum mod 2^bits.

    The sum is read centred, in [-2^(bits-1), 2^(bits-1)): a coordinate that wrapped (the k
    standard deviations of choose_gamma exceeded) decodes wrong, which costs accuracy, never
    privacy (decoding is post-processing).
    """
    m = 1 << params.bits
    s = np.asarray(total, dtype=np.uint64).astype(np.int64) % m
    centred = np.where(s >= m // 2, s - m, s).astype(np.float64)
    return unrotate(centred * params.gamma, dim, rotation_seed)
