"""Shamir t-of-k secret sharing of 32-byte secrets over GF(p), p = 2^256 + 297."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from math import prod

__all__ = [
    "PRIME",
    "SHARE_BYTES",
    "Interpolant",
    "clear_weights",
    "combine",
    "evaluate",
    "interpolate_at",
    "lagrange_weights",
    "off_polynomial",
    "precompute_weights",
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
    """f(x) mod p by Horner's rule; coeffs[0] is the constant term.

    x coordinates are small (1 + roster index), so the exact integer Horner sum grows by a
    few bits per step and is reduced once, instead of once per coefficient.
    """
    x %= PRIME
    acc = 0
    for c in reversed(coeffs):
        acc = acc * x + c
    return acc % PRIME


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
    return Interpolant(points)(x)


# Barycentric weights by node tuple: a verifier checks many points against the same t
# shares, and the aggregator computes all of a round's bases with one inversion.
_WEIGHTS: dict[tuple[int, ...], tuple[int, ...]] = {}
_WEIGHTS_MAX = 4096


def lagrange_weights(xs: tuple[int, ...]) -> tuple[int, ...]:
    """w_i = 1 / prod_{j != i} (x_i - x_j) mod p, the barycentric weights of the nodes `xs`.

    The products are exact integers (small for small x) and inverted with one modular
    inversion (Montgomery's trick). Cached by `xs`; see `precompute_weights`.
    """
    cached = _WEIGHTS.get(xs)
    if cached is None:
        (cached,) = _compute_weights([xs])
        _store({xs: cached})
    return cached


def precompute_weights(bases: Sequence[tuple[int, ...]]) -> None:
    """Compute and cache the weights of many bases with a single modular inversion.

    An inversion mod p costs as much as ~30 multiplications (about half of a 9-of-16
    reconstruction with verification), so the aggregator warms all of a round's bases at once.
    """
    todo = list(dict.fromkeys(xs for xs in bases if xs not in _WEIGHTS))
    if todo:
        _store(dict(zip(todo, _compute_weights(todo), strict=True)))


def _compute_weights(bases: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    dens: list[int] = []
    for xs in bases:
        if not xs:
            raise ValueError("no shares to combine")
        _check_xs(xs)
        dens += [prod([xi - xj for xj in xs if xj != xi]) % PRIME for xi in xs]
    prefix = [1]
    for d in dens:
        prefix.append(prefix[-1] * d % PRIME)
    inv = pow(prefix[-1], -1, PRIME)
    out = [0] * len(dens)
    for i in range(len(dens) - 1, -1, -1):
        out[i] = inv * prefix[i] % PRIME
        inv = inv * dens[i] % PRIME
    weights, at = [], 0
    for xs in bases:
        weights.append(tuple(out[at : at + len(xs)]))
        at += len(xs)
    return weights


def _store(weights: dict[tuple[int, ...], tuple[int, ...]]) -> None:
    if len(_WEIGHTS) + len(weights) > _WEIGHTS_MAX:
        _WEIGHTS.clear()
    _WEIGHTS.update(weights)


def clear_weights() -> None:
    """Forget every cached basis (benchmarks time reconstruction from a cold cache)."""
    _WEIGHTS.clear()


class Interpolant:
    """The polynomial of degree < t through t points, evaluated in O(t) per point.

    f(x) = sum_i y_i w_i prod_{j != i} (x - x_j) mod p (Lagrange form with the weights
    of `lagrange_weights`). With small x coordinates every product is an exact small
    integer, so an evaluation is t big-by-small multiplications and one reduction:
    checking the other k - t shares of a secret costs O(k t), not O(k t^2).
    """

    def __init__(self, points: Sequence[tuple[int, int]]) -> None:
        xs = tuple(p[0] for p in points)
        weights = lagrange_weights(xs)
        self._xs = xs
        self._nodes = {x: y % PRIME for x, y in points}
        self._scaled = [y * w % PRIME for (_, y), w in zip(points, weights, strict=True)]

    def __call__(self, x: int) -> int:
        """f(x) mod p."""
        at_node = self._nodes.get(x)
        if at_node is not None:
            return at_node
        diffs = [x - xj for xj in self._xs]
        full = prod(diffs)  # no diff is 0, so full // d is the product of the others
        return sum(c * (full // d) for c, d in zip(self._scaled, diffs, strict=True)) % PRIME


def off_polynomial(points: Sequence[tuple[int, int]], threshold: int) -> tuple[int, list[int]]:
    """(f(0), x of every point off f) for f through the `threshold` points of lowest x.

    The aggregator's and the verifier's shared check of a secret's shares: one interpolant
    (weights cached by x set, see `precompute_weights`), every other point evaluated on it
    in O(t), so all k shares cost O(k t).
    """
    ordered = sorted(points)
    poly = Interpolant(ordered[:threshold])
    return poly(0), [x for x, y in ordered[threshold:] if poly(x) != y % PRIME]


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
