"""Model bytes: canonical safetensors encoding, flat coordinate order and the FedAvg update rule.

Only numpy and safetensors are needed here (no torch), so verifiers can import it cheaply.

Coordinate order: a model's flat vector is the concatenation of its tensors, each
flattened in C order, taken in lexicographically sorted tensor-name order (Python
``sorted`` on the names, i.e. Unicode code-point order, which equals UTF-8 byte
order). Update vectors, masked inputs and aggregates all use this order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
from safetensors.numpy import load as _st_load
from safetensors.numpy import save as _st_save

from fedledger.errors import FedledgerError

__all__ = [
    "DecodedAggregate",
    "ModelFormatError",
    "apply_aggregate",
    "flatten_model",
    "flatten_state",
    "model_from_bytes",
    "model_size",
    "model_to_bytes",
    "unflatten_like",
]


class ModelFormatError(FedledgerError):
    """Model bytes or tensors are not a canonical float32 safetensors model."""


@runtime_checkable
class DecodedAggregate(Protocol):
    """What `apply_aggregate` needs from a decoded secure aggregate (see secagg.quantize)."""

    @property
    def total_weight(self) -> int:
        """Sum of the survivors' FedAvg weights (example counts)."""
        ...

    @property
    def weighted_sum(self) -> np.ndarray:
        """float64 estimate of sum_u w_u * delta_u, in flat coordinate order."""
        ...


def _check_state(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate names and dtypes; return a name-sorted dict of C-contiguous float32 arrays."""
    if not isinstance(state, Mapping):
        raise ModelFormatError(f"model state: expected a mapping, got {type(state).__name__}")
    out: dict[str, np.ndarray] = {}
    for name in sorted(state):
        if not isinstance(name, str) or not name:
            raise ModelFormatError(f"model state: tensor name {name!r} is not a non-empty string")
        if name == "__metadata__":
            raise ModelFormatError("model state: tensor name '__metadata__' is reserved")
        arr = state[name]
        if not isinstance(arr, np.ndarray):
            raise ModelFormatError(
                f"model state: tensor {name!r} is {type(arr).__name__}, expected numpy.ndarray"
            )
        if arr.dtype != np.float32:
            raise ModelFormatError(
                f"model state: tensor {name!r} has dtype {arr.dtype}, need float32"
            )
        # Not np.ascontiguousarray: it turns 0-d tensors into shape (1,).
        out[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
    return out


def model_to_bytes(state: Mapping[str, np.ndarray]) -> bytes:
    """Canonical safetensors bytes of a float32 state: names sorted, no metadata.

    The same tensors always give identical bytes, whatever the mapping's insertion order.
    """
    return bytes(_st_save(_check_state(state), metadata=None))


def model_from_bytes(data: bytes, *, canonical: bool = True) -> dict[str, np.ndarray]:
    """Parse model bytes into a name-sorted dict of float32 arrays.

    With ``canonical`` (the default), also insist that the bytes are exactly what
    `model_to_bytes` produces for these tensors (no metadata, no odd padding), so a
    model's hash is a function of its tensors only.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ModelFormatError(f"model bytes: expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    if len(raw) < 8:
        raise ModelFormatError(f"model bytes: {len(raw)} bytes is too short for a safetensors file")
    try:
        loaded = _st_load(raw)
    except Exception as exc:  # safetensors raises its own Rust-side error types
        raise ModelFormatError(f"model bytes: not a valid safetensors file ({exc})") from None
    state = {name: loaded[name] for name in sorted(loaded)}
    for name, arr in state.items():
        if arr.dtype != np.float32:
            raise ModelFormatError(
                f"model bytes: tensor {name!r} has dtype {arr.dtype}, need float32"
            )
    if canonical and model_to_bytes(state) != raw:
        raise ModelFormatError(
            "model bytes: valid safetensors but not canonical (metadata, header order or padding "
            "differ from fedledger's encoding)"
        )
    return state


def flatten_state(state: Mapping[str, np.ndarray]) -> np.ndarray:
    """Flat float32 vector of a state: tensors in sorted name order, each in C order."""
    checked = _check_state(state)
    if not checked:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([arr.reshape(-1) for arr in checked.values()]).astype(
        np.float32, copy=False
    )


def flatten_model(data: bytes) -> np.ndarray:
    """Flat float32 vector of model bytes (the coordinate order of update vectors)."""
    return flatten_state(model_from_bytes(data))


def model_size(data: bytes) -> int:
    """Number of float coordinates in a model (length of its flat vector)."""
    return sum(int(arr.size) for arr in model_from_bytes(data).values())


def unflatten_like(vec: np.ndarray, template_bytes: bytes) -> bytes:
    """Model bytes with the tensor names and shapes of `template_bytes` and values from `vec`."""
    template = model_from_bytes(template_bytes)
    flat = np.asarray(vec)
    if flat.ndim != 1:
        raise ModelFormatError(f"unflatten: vector must be 1-D, got shape {flat.shape}")
    if flat.dtype != np.float32:
        raise ModelFormatError(f"unflatten: vector dtype is {flat.dtype}, need float32")
    expected = sum(int(arr.size) for arr in template.values())
    if flat.size != expected:
        raise ModelFormatError(f"unflatten: vector has {flat.size} values, model has {expected}")
    out: dict[str, np.ndarray] = {}
    offset = 0
    for name, arr in template.items():
        out[name] = flat[offset : offset + arr.size].reshape(arr.shape).copy()
        offset += arr.size
    return model_to_bytes(out)


def apply_aggregate(old_model: bytes, decoded: DecodedAggregate) -> bytes:
    """New model bytes: ``float32(float64(old_flat) + weighted_sum / total_weight)``.

    This is the normative FedAvg update (docs/formats.md); every step is IEEE-754
    float64 elementwise arithmetic followed by one round-to-nearest cast, so anyone
    recomputes the same bytes.
    """
    try:
        total = decoded.total_weight
        wsum = decoded.weighted_sum
    except AttributeError as exc:
        raise ModelFormatError(f"apply_aggregate: decoded aggregate lacks {exc.name!r}") from None
    if isinstance(total, bool) or not isinstance(total, int | np.integer):
        raise ModelFormatError(
            f"apply_aggregate: total_weight must be an integer, got {type(total).__name__}"
        )
    if int(total) <= 0:
        raise ModelFormatError(f"apply_aggregate: total_weight must be positive, got {int(total)}")
    wsum = np.asarray(wsum)
    if wsum.ndim != 1:
        raise ModelFormatError(f"apply_aggregate: weighted_sum must be 1-D, got shape {wsum.shape}")
    if wsum.dtype != np.float64:
        raise ModelFormatError(f"apply_aggregate: weighted_sum dtype is {wsum.dtype}, need float64")
    old_flat = flatten_model(old_model)
    if wsum.size != old_flat.size:
        raise ModelFormatError(
            f"apply_aggregate: weighted_sum has {wsum.size} values, model has {old_flat.size}"
        )
    # float64(int) is exact for any realistic example count (< 2**53).
    new64 = old_flat.astype(np.float64) + wsum / np.float64(int(total))
    if not np.all(np.isfinite(new64)):
        raise ModelFormatError("apply_aggregate: the updated model has non-finite values")
    return unflatten_like(new64.astype(np.float32), old_model)
