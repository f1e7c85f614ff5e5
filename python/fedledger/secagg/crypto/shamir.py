"""Shamir t-of-k secret sharing of 32-byte secrets over GF(p), p = 2^256 + 297."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

__all__ = [
    "PRIME",
    "SHARE_BYTES",
    "combine",
    "evaluate",
    "interpolate_at",
    "share",
    "share_from_bytes",
    "share_to_bytes",
]

# The smallest prime above 2^256, so every 32-byte secret is a field element.
PRIME = (1 << 256) + 297
SHARE_BYTES = 33  # a field element, big-endian


def share(secret: bytes, xs: Sequence[int], threshold: int) -> list[int]:
    """Shares y_i = f(x_i) of a random degree-(t-1) polynomial with f(0) = secret (big-endian)."""
    if len(secret) != 32:
        raise ValueError(f"secret must be 32 bytes, got {len(secret)}")
    if not 1 <= threshold <= len(xs):
        raise ValueError(f"threshold {threshold} must be in 1..{len(xs)} (number of shares)")
    _check_xs(xs)
    coeffs = [int.from_bytes(secret, "big")]
    coeffs += [secrets.randbelow(PRIME) for _ in range(threshold - 1)]
    return [evaluate(coeffs, x) for x in xs]


def evaluate(coeffs: Sequence[int], x: int) -> int:
    """f(x) mod p by Horner's rule; coeffs[0] is the constant term."""
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % PRIME
    return acc


def combine(points: Sequence[tuple[int, int]]) -> bytes:
    """Lagrange interpolation at 0 of the given (x, y) points, as a 32-byte secret.

    Raises ValueError when the result is not below 2^256 (shares that are wrong or
    from different polynomials land there or on a wrong secret, which the caller
    detects against its commitment).
    """
    secret = interpolate_at(points, 0)
    if secret >= 1 << 256:
        raise ValueError("shares interpolate to a value outside 32 bytes")
    return secret.to_bytes(32, "big")


def interpolate_at(points: Sequence[tuple[int, int]], x: int) -> int:
    """Value at `x` of the unique polynomial of degree < len(points) through `points`."""
    if not points:
        raise ValueError("no shares to combine")
    xs = [p[0] for p in points]
    _check_xs(xs)
    # l_i(x) = prod_{j != i} (x - x_j) / (x_i - x_j); all denominators inverted at once
    # (Montgomery's trick) so a combine costs one modular inversion.
    nums: list[int] = []
    dens: list[int] = []
    for i, xi in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if j != i:
                num = num * (x - xj) % PRIME
                den = den * (xi - xj) % PRIME
        nums.append(num)
        dens.append(den)
    prefix = [1]
    for d in dens:
        prefix.append(prefix[-1] * d % PRIME)
    inv = pow(prefix[-1], -1, PRIME)
    value = 0
    for i in range(len(points) - 1, -1, -1):
        inv_i = inv * prefix[i] % PRIME
        inv = inv * dens[i] % PRIME
        value = (value + points[i][1] * nums[i] % PRIME * inv_i) % PRIME
    return value


def share_to_bytes(y: int) -> bytes:
    """A share value as 33 big-endian bytes."""
    return y.to_bytes(SHARE_BYTES, "big")


def share_from_bytes(raw: bytes) -> int:
    """Parse a 33-byte share value, refusing lengths and values outside the field."""
    if len(raw) != SHARE_BYTES:
        raise ValueError(f"share must be {SHARE_BYTES} bytes, got {len(raw)}")
    y = int.from_bytes(raw, "big")
    if y >= PRIME:
        raise ValueError("share value is not a field element (>= p)")
    return y


def _check_xs(xs: Sequence[int]) -> None:
    if len(set(xs)) != len(xs):
        raise ValueError("share x coordinates must be distinct")
    for x in xs:
        if not 0 < x < PRIME:
            raise ValueError(f"share x coordinate {x} must be in 1..p-1")
