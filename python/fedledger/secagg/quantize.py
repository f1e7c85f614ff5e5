"""Exact, reproducible quantization: a FedAvg weight element first, then clipped coordinates."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from fedledger.errors import ProtocolError
from fedledger.secagg.constants import MASKED_INPUT
from fedledger.secagg.params import SecAggParams

__all__ = ["DecodedSum", "decode_sum", "local_rng", "quantization_error_bound", "quantize"]


@dataclass(frozen=True)
class DecodedSum:
    """The decoded aggregate: W = sum of weights (exact) and an estimate of sum_u w_u * delta_u."""

    total_weight: int
    weighted_sum: np.ndarray  # float64, one entry per model parameter


def local_rng() -> np.random.Generator:
    """A private generator for stochastic rounding, seeded from os.urandom (not a mask RNG)."""
    return np.random.Generator(np.random.PCG64(int.from_bytes(os.urandom(32), "big")))


def quantize(
    delta: np.ndarray,
    examples: int,
    params: SecAggParams,
    *,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """x = [w, q_1..q_d] as uint32 with w = min(examples, M) and
    q_i = floor((clip(w/M * delta_i, -c, c) + c) * (2^b-1)/(2c) + U_i), U_i ~ U[0, 1).
    """
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 0:
        raise ProtocolError(MASKED_INPUT, "examples", f"must be an integer >= 0, got {examples!r}")
    flat = np.asarray(delta, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(flat)):
        raise ProtocolError(MASKED_INPUT, "delta", "contains NaN or infinity")
    rng = rng if rng is not None else local_rng()
    weight = min(examples, params.max_weight)
    c = params.clip_range
    levels = params.levels
    scaled = np.clip(flat * (weight / params.max_weight), -c, c)
    scaled += c
    scaled *= levels / (2.0 * c)
    scaled += rng.random(flat.size)
    np.floor(scaled, out=scaled)
    np.clip(scaled, 0, levels, out=scaled)  # U can push exactly-levels inputs one step over
    out = np.empty(flat.size + 1, dtype=np.uint32)
    out[0] = weight
    out[1:] = scaled
    return out


def decode_sum(aggregate: np.ndarray, n: int, params: SecAggParams) -> DecodedSum:
    """Decode the sum of `n` quantized inputs: W = agg[0]; S = M * (agg[1:] * 2c/(2^b-1) - n*c).

    The float64 operations are done in exactly this order so any implementation
    following docs/protocol.md reproduces S bit for bit.
    """
    if aggregate.dtype != np.uint32 or aggregate.ndim != 1 or aggregate.size < 1:
        raise ValueError("aggregate must be a non-empty 1-D uint32 vector")
    if n < 1:
        raise ValueError(f"number of summands must be >= 1, got {n}")
    scale = (2.0 * params.clip_range) / float(params.levels)
    offset = float(n) * params.clip_range
    weighted = aggregate[1:].astype(np.float64)
    weighted *= scale
    weighted -= offset
    weighted *= float(params.max_weight)
    return DecodedSum(total_weight=int(aggregate[0]), weighted_sum=weighted)


def quantization_error_bound(n: int, params: SecAggParams) -> float:
    """Largest |S_i - sum_u w_u delta_u,i| from rounding alone (inputs inside the clip range)."""
    return n * params.max_weight * 2.0 * params.clip_range / params.levels
