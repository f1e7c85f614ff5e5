"""A round's input encoding by DP mode: quantize (modes 0, 1) or distributed DP (mode 2).

Both put the FedAvg weight w = min(examples, M) in element 0 and never read it back: W is the
survivors' weights committed on chain. Mode 2 encodes (w/M) * clip_c(delta) with secagg/ddp.py,
so one participant moves the sum by at most c in L2 whatever its weight.
"""

from __future__ import annotations

import numpy as np

from fedledger.errors import ConfigError, ProtocolError
from fedledger.secagg.constants import MASKED_INPUT
from fedledger.secagg.ddp import ddp_decode, ddp_encode, rotation_seed, round_ddp_params
from fedledger.secagg.dgauss import KeyStream
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.quantize import DecodedSum, decode_sum, quantize

__all__ = ["decode_aggregate", "encode_input"]


def encode_input(
    delta: np.ndarray,
    examples: int,
    params: SecAggParams,
    *,
    ctx: RoundContext,
    participants: int,
    stream: KeyStream | None = None,
) -> np.ndarray:
    """x = [w, encoding of delta] as uint32; `participants` is the roster size (sets gamma)."""
    if params.ddp is None:
        return quantize(delta, examples, params)
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 0:
        raise ProtocolError(MASKED_INPUT, "examples", f"must be an integer >= 0, got {examples!r}")
    flat = np.asarray(delta, dtype=np.float64).reshape(-1)
    if not np.isfinite(flat).all():
        raise ProtocolError(MASKED_INPUT, "delta", "contains NaN or infinity")
    weight = min(examples, params.max_weight)
    ddp = round_ddp_params(params.ddp, flat.size, participants)
    norm = float(np.linalg.norm(flat))
    clipped = flat * (ddp.clip_norm / norm) if norm > ddp.clip_norm else flat
    try:
        enc = ddp_encode(
            clipped * (weight / params.max_weight),
            ddp,
            rotation_seed=rotation_seed(ctx),
            stream=stream,
        )
    except ConfigError as exc:
        raise ProtocolError(MASKED_INPUT, "delta", str(exc)) from None
    out = np.empty(flat.size + 1, dtype=np.uint32)
    out[0] = weight
    out[1:] = enc
    return out


def decode_aggregate(
    aggregate: np.ndarray,
    n: int,
    params: SecAggParams,
    *,
    total_weight: int,
    ctx: RoundContext,
    participants: int,
) -> DecodedSum:
    """The decoded sum of `n` survivors' inputs (protocol 4.7 for quantized, 3.4 for mode 2).

    Mode 2: S = M * unrotate(gamma * centred(A[1:])), in that order (docs/protocol.md 3.4).
    """
    if params.ddp is None:
        return decode_sum(aggregate, n, params, total_weight=total_weight)
    if aggregate.dtype != np.uint32 or aggregate.ndim != 1 or aggregate.size < 2:
        raise ValueError("aggregate must be a 1-D uint32 vector with at least one coordinate")
    if isinstance(total_weight, bool) or not isinstance(total_weight, int) or total_weight < 0:
        raise ValueError(f"total_weight must be an integer >= 0, got {total_weight!r}")
    ddp = round_ddp_params(params.ddp, aggregate.size - 1, participants)
    total = ddp_decode(aggregate[1:], ddp, rotation_seed=rotation_seed(ctx))
    total *= float(params.max_weight)
    return DecodedSum(total_weight=total_weight, weighted_sum=total)
