"""Exact, reproducible quantization: a FedAvg weight element first, then clipped coordinates.

Decoding never reads the weight element: W is the survivors' weights committed on chain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from fedledger.errors import ProtocolError
from fedledger.secagg.constants import MASKED_INPUT
from fedledger.secagg.params import SecAggParams

__all__ = [
    "CHUNK",
    "DecodedSum",
    "coordinate_bound",
    "decode_sum",
    "local_rng",
    "out_of_range",
    "quantization_error_bound",
    "quantize",
]


@dataclass(frozen=True)
class DecodedSum:
    """The decoded aggregate: W = sum of weights (exact) and an estimate of sum_u w_u * delta_u."""

    total_weight: int
    weighted_sum: np.ndarray  # float64, one entry per model parameter


def local_rng() -> np.random.Generator:
    """A private generator for stochastic rounding, seeded from os.urandom (not a mask RNG)."""
    return np.random.Generator(np.random.SFC64(int.from_bytes(os.urandom(32), "big")))


# Coordinates per chunk: the float64 scratch (value and noise) stays in L2.
CHUNK = 16384


def quantize(
    delta: np.ndarray,
    examples: int,
    params: SecAggParams,
    *,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """x = [w, q_1..q_d] as uint32 with w = min(examples, M) and
    q_i = floor((clip(w/M * delta_i, -c, c) + c) * (2^b-1)/(2c) + U_i), U_i ~ U[0, 1).

    Computed in float64 in exactly the order of docs/protocol.md section 4.7, chunk by chunk
    in place (no float64 copy of the whole vector; float32 is not exact enough here, since
    w/M * delta_i would round differently), drawing U in the same order as one big draw.
    """
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 0:
        raise ProtocolError(MASKED_INPUT, "examples", f"must be an integer >= 0, got {examples!r}")
    flat = np.asarray(delta).reshape(-1)
    if flat.dtype.kind != "f":
        flat = flat.astype(np.float64)
    rng = rng if rng is not None else local_rng()
    weight = min(examples, params.max_weight)
    c = params.clip_range
    levels = params.levels
    factor = np.float64(weight / params.max_weight)
    step = levels / (2.0 * c)
    top = np.float64(levels)
    out = np.empty(flat.size + 1, dtype=np.uint32)
    out[0] = weight
    chunk = max(1, min(CHUNK, flat.size))
    scaled_buf = np.empty(chunk, dtype=np.float64)
    noise_buf = np.empty(chunk, dtype=np.float64)
    for start in range(0, flat.size, chunk):
        stop = min(start + chunk, flat.size)
        scaled, noise = scaled_buf[: stop - start], noise_buf[: stop - start]
        np.multiply(flat[start:stop], factor, out=scaled, dtype=np.float64)
        if not np.isfinite(scaled).all():  # w/M <= 1: only NaN or infinite deltas get here
            raise ProtocolError(MASKED_INPUT, "delta", "contains NaN or infinity")
        np.clip(scaled, -c, c, out=scaled)
        scaled += c
        scaled *= step
        rng.random(out=noise)
        scaled += noise
        # scaled >= 0 here, so clip(floor(v), 0, L) = trunc(min(v, L)), and the cast to
        # uint32 truncates: one pass instead of three. (U can push v past L.)
        np.minimum(scaled, top, out=scaled)
        out[1 + start : 1 + stop] = scaled
    return out


def decode_sum(
    aggregate: np.ndarray, n: int, params: SecAggParams, *, total_weight: int
) -> DecodedSum:
    """Decode the sum of `n` quantized inputs: S = M * (agg[1:] * 2c/(2^b-1) - n*c).

    W is `total_weight`, the survivors' weights committed in plaintext on chain (each in
    1..maxWeight, so W >= n >= 1); agg[0] (the sum of the participants' own weight elements)
    is never read, so no participant-controlled element can make W zero or wrap it.
    The float64 operations are done in exactly this order so any implementation
    following docs/protocol.md reproduces S bit for bit.
    """
    if aggregate.dtype != np.uint32 or aggregate.ndim != 1 or aggregate.size < 1:
        raise ValueError("aggregate must be a non-empty 1-D uint32 vector")
    if n < 1:
        raise ValueError(f"number of summands must be >= 1, got {n}")
    if isinstance(total_weight, bool) or not isinstance(total_weight, int) or total_weight < 0:
        raise ValueError(f"total_weight must be an integer >= 0, got {total_weight!r}")
    scale = (2.0 * params.clip_range) / float(params.levels)
    offset = float(n) * params.clip_range
    weighted = aggregate[1:].astype(np.float64)
    weighted *= scale
    weighted -= offset
    weighted *= float(params.max_weight)
    return DecodedSum(total_weight=total_weight, weighted_sum=weighted)


def coordinate_bound(n: int, params: SecAggParams) -> int:
    """Largest coordinate (index >= 1) a sum of `n` clipped, quantized inputs can hold: n*(2^b-1).

    The capacity rule (n * max(2^b-1, M) < 2^32) means no honest sum wraps, so any larger
    value proves some survivor sent a coordinate outside [0, 2^b-1].
    """
    return n * params.levels


def out_of_range(aggregate: np.ndarray, n: int, params: SecAggParams) -> np.ndarray:
    """Indices (>= 1) of the aggregate's coordinates no `n` clipped, quantized inputs can sum to.

    Element 0 (the weight elements) is not a coordinate: decoding never reads it.
    """
    return np.flatnonzero(aggregate[1:] > coordinate_bound(n, params)) + 1


def quantization_error_bound(n: int, params: SecAggParams) -> float:
    """Largest |S_i - sum_u w_u delta_u,i| from rounding alone (inputs inside the clip range)."""
    return n * params.max_weight * 2.0 * params.clip_range / params.levels
