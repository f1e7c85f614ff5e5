"""Distributed discrete Gaussian (Kairouz, Liu, Steinke, ICML 2021): client encode, server decode.

Client: clip in L2, rotate (randomized Hadamard on two overlapping power-of-two blocks, public
signs), scale by 1/gamma, round with conditional randomized rounding (retry until the norm bound
holds), add exact discrete Gaussian noise of variance sigma^2 / min_survivors, reduce mod 2^bits;
the result is masked like any input. Server: the unmasked sum mod 2^bits, read centred in
[-2^(bits-1), 2^(bits-1)), times gamma, rotated back. docs/protocol.md 3.4 states the
construction precisely enough to decode bit for bit; the randomness is a ChaCha20 keystream.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from fedledger.errors import ConfigError
from fedledger.secagg.dgauss import KeyStream, discrete_gaussian, sigma_squared
from fedledger.secagg.params import DistributedDp, RoundContext

__all__ = [
    "ROTATION_DOMAIN",
    "DdpParams",
    "choose_gamma",
    "ddp_decode",
    "ddp_encode",
    "rotate",
    "rotation_seed",
    "round_ddp_params",
    "unrotate",
]

ROTATION_DOMAIN = b"fedledger/ddp-rotation/v1"
SLACK_STDS = 4  # k: standard deviations of headroom gamma leaves before the sum wraps


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
        """L2 bound of a rounded, scaled update (KLS21 Theorem for conditional rounding)."""
        c = self.clip_norm / self.gamma
        return min(
            math.sqrt(
                c * c + dim / 4 + math.sqrt(2 * math.log(1 / self.beta)) * (c + math.sqrt(dim) / 2)
            ),
            c + math.sqrt(dim),
        )

    def client_sigma(self, dim: int) -> float:
        """Discrete Gaussian std each client adds: sum over n_min carries z * norm bound."""
        return self.noise_multiplier * self.norm_bound(dim) / math.sqrt(self.min_survivors)


def _block(dim: int) -> int:
    """B: the largest power of two <= dim (two such blocks cover [0, dim))."""
    return 1 << (dim.bit_length() - 1)


def choose_gamma(
    clip_norm: float | Fraction,
    dim: int,
    *,
    participants: int,
    noise_multiplier: float | Fraction,
    bits: int = 32,
    k: int = SLACK_STDS,
) -> float:
    """The finest power-of-two gamma whose sum stays within +-2^(bits-1), k stds of slack.

    After the rotation a clipped update's coordinates are about c / sqrt(B); n aligned ones sum
    to n c / sqrt(B); the noise has std about z (c + gamma sqrt(d)); rounding adds up to n
    steps. gamma is the smallest power of two with
        k (n c / sqrt(B) + z c) + k z gamma sqrt(d) + n gamma <= 2^(bits-1) gamma,
    computed in exact rationals (sqrt(B) rounded down, sqrt(d) up: both only coarsen gamma), so
    every decoder derives the same gamma from the public parameters (protocol 3.4).
    """
    if dim < 1 or participants < 1:
        raise ConfigError(f"ddp: need dim >= 1 and participants >= 1, got {dim}, {participants}")
    c, z = Fraction(clip_norm), Fraction(noise_multiplier)
    if c <= 0 or z <= 0:
        raise ConfigError("ddp: clip norm and noise multiplier must be > 0")
    root_b = math.isqrt(_block(dim))
    root_d = math.isqrt(dim) + 1
    need = k * (participants * c / root_b + z * c)
    room = (1 << (bits - 1)) - k * z * root_d - participants
    if room <= 0:
        raise ConfigError(f"ddp: {bits} bits cannot hold {participants} participants of dim {dim}")
    ratio = need / room
    gamma = Fraction(1)
    while gamma < ratio:
        gamma *= 2
    while gamma / 2 >= ratio:
        gamma /= 2
    return float(gamma)  # a power of two: exact in float64


def round_ddp_params(spec: DistributedDp, dim: int, participants: int) -> DdpParams:
    """The encoding of a dpMode 2 round of `participants` (the roster) and `dim` coordinates."""
    c = Fraction(spec.clip_norm_micros, 1_000_000)
    z = Fraction(spec.noise_multiplier_millis, 1_000)
    gamma = choose_gamma(c, dim, participants=participants, noise_multiplier=z)
    return DdpParams(spec.clip_norm, spec.noise_multiplier, spec.min_survivors, gamma)


def rotation_seed(ctx: RoundContext) -> bytes:
    """Public seed of the rotation signs: SHA-256(domain || chainId || RoundLog || round)."""
    return hashlib.sha256(
        ROTATION_DOMAIN
        + ctx.chain_id.to_bytes(32, "big")
        + bytes.fromhex(ctx.contract[2:])
        + ctx.round_id.to_bytes(32, "big")
    ).digest()


def _signs(block: int, seed: bytes) -> tuple[np.ndarray, np.ndarray]:
    """D1, D2: bits 0..B-1 and B..2B-1 of ChaCha20(seed, nonce 0), LSB first, as 1 - 2 bit."""
    if len(seed) != 32:
        raise ConfigError(f"ddp: rotation seed must be 32 bytes, got {len(seed)}")
    enc = Cipher(algorithms.ChaCha20(seed, bytes(16)), mode=None).encryptor()
    raw = np.frombuffer(enc.update(bytes(-(-2 * block // 8))), dtype=np.uint8)
    bits = np.unpackbits(raw, bitorder="little")[: 2 * block].astype(np.float64)
    signs = 1.0 - 2.0 * bits
    return signs[:block], signs[block:]


def _fwht(x: np.ndarray) -> np.ndarray:
    """H x / sqrt(B) for a power-of-two length B: butterflies h = 1, 2, 4, ..., B/2 of
    (x[i], x[i+h]) -> (x[i] + x[i+h], x[i] - x[i+h]) for every i with bit h clear, then one
    division by the float64 sqrt(B) (correctly rounded in IEEE 754, so reproducible)."""
    y = x.astype(np.float64, copy=True)
    h = 1
    while h < y.size:
        y = y.reshape(-1, 2, h)
        a, b = y[:, 0, :].copy(), y[:, 1, :].copy()
        y[:, 0, :], y[:, 1, :] = a + b, a - b
        y = y.reshape(-1)
        h *= 2
    return y / math.sqrt(y.size)


def rotate(x: np.ndarray, seed: bytes) -> np.ndarray:
    """H D1 on x[0:B], then H D2 on x[d-B:d]: orthogonal, length-preserving, flattening."""
    y = np.asarray(x, dtype=np.float64).copy()
    block = _block(y.size)
    d1, d2 = _signs(block, seed)
    y[:block] = _fwht(d1 * y[:block])
    y[y.size - block :] = _fwht(d2 * y[y.size - block :])
    return y


def unrotate(y: np.ndarray, seed: bytes) -> np.ndarray:
    """Inverse of `rotate`: D2 H / sqrt(B) on the last block, then D1 H / sqrt(B) on the first."""
    x = np.asarray(y, dtype=np.float64).copy()
    block = _block(x.size)
    d1, d2 = _signs(block, seed)
    x[x.size - block :] = d2 * _fwht(x[x.size - block :])
    x[:block] = d1 * _fwht(x[:block])
    return x


def ddp_encode(
    update: np.ndarray,
    params: DdpParams,
    *,
    rotation_seed: bytes,
    stream: KeyStream | None = None,
) -> np.ndarray:
    """A client's noised integer vector mod 2^bits (uint64 holding values below 2^bits).

    `stream` defaults to a ChaCha20 keystream keyed from os.urandom: noise anyone can predict
    is no noise. Rounding and noise both draw from it.
    """
    stream = stream or KeyStream()
    x = np.asarray(update, dtype=np.float64)
    if x.ndim != 1 or x.size < 1 or not np.all(np.isfinite(x)):
        raise ConfigError("ddp: the update must be a finite, non-empty 1-D vector")
    norm = float(np.linalg.norm(x))
    if norm > params.clip_norm:
        x = x * (params.clip_norm / norm)
    scaled = rotate(x, rotation_seed) / params.gamma
    bound = params.norm_bound(x.size)
    floor = np.floor(scaled)
    while True:  # conditional randomized rounding: unbiased, retried until within the bound
        rounded = floor + (stream.unit_floats(scaled.size) < scaled - floor)
        if np.linalg.norm(rounded) <= bound:
            break
    sigma2 = sigma_squared(params.client_sigma(x.size))
    noised = rounded.astype(np.int64) + discrete_gaussian(sigma2, scaled.size, stream)
    return (noised % (1 << params.bits)).astype(np.uint64)


def ddp_decode(total: np.ndarray, params: DdpParams, *, rotation_seed: bytes) -> np.ndarray:
    """The (noised) sum of the clients' clipped updates from their sum mod 2^bits.

    The sum is read centred, in [-2^(bits-1), 2^(bits-1)): a coordinate that wrapped (the k
    standard deviations of choose_gamma exceeded) decodes wrong, which costs accuracy, never
    privacy (decoding is post-processing). Exact up to the rotation's float64 butterflies.
    """
    m = 1 << params.bits
    s = np.asarray(total, dtype=np.uint64).astype(np.int64) % m
    centred = np.where(s >= m // 2, s - m, s).astype(np.float64)
    return unrotate(centred * params.gamma, rotation_seed)
