"""Tests for fedledger.fl.serialization: canonical bytes, flat order, the FedAvg rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save as st_save

from fedledger.errors import FedledgerError
from fedledger.fl.serialization import (
    DecodedAggregate,
    ModelFormatError,
    apply_aggregate,
    flatten_model,
    flatten_state,
    model_from_bytes,
    model_size,
    model_to_bytes,
    unflatten_like,
)


@dataclass(frozen=True)
class Decoded:
    total_weight: int
    weighted_sum: np.ndarray


def _state(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "layer2.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "layer1.bias": rng.standard_normal(5).astype(np.float32),
        "layer1.weight": rng.standard_normal((5, 2, 2)).astype(np.float32),
        "Z_scalar": np.array(1.5, dtype=np.float32),
    }


def test_same_tensors_in_any_insertion_order_give_identical_bytes() -> None:
    state = _state()
    reversed_state = dict(reversed(list(state.items())))
    assert list(reversed_state) != list(state)
    assert model_to_bytes(state) == model_to_bytes(reversed_state)


def test_round_trip_preserves_names_shapes_and_values() -> None:
    state = _state(1)
    back = model_from_bytes(model_to_bytes(state))
    assert sorted(back) == sorted(state)
    for name, arr in state.items():
        assert back[name].dtype == np.float32
        assert back[name].shape == arr.shape
        np.testing.assert_array_equal(back[name], arr)


def test_flat_order_is_sorted_names_then_c_order() -> None:
    state = _state(2)
    expected = np.concatenate([state[name].ravel(order="C") for name in sorted(state)])
    flat = flatten_model(model_to_bytes(state))
    assert flat.dtype == np.float32
    np.testing.assert_array_equal(flat, expected)
    assert model_size(model_to_bytes(state)) == expected.size


def test_unflatten_like_inverts_flatten() -> None:
    data = model_to_bytes(_state(3))
    vec = np.arange(model_size(data), dtype=np.float32)
    rebuilt = unflatten_like(vec, data)
    np.testing.assert_array_equal(flatten_model(rebuilt), vec)
    assert {k: v.shape for k, v in model_from_bytes(rebuilt).items()} == {
        k: v.shape for k, v in model_from_bytes(data).items()
    }


@settings(max_examples=30, deadline=None)
@given(
    shapes=st.dictionaries(
        st.text(alphabet="abcXYZ._0123é", min_size=1, max_size=6),
        st.lists(st.integers(0, 4), min_size=0, max_size=3),
        min_size=1,
        max_size=5,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_serialization_round_trips_and_is_deterministic(
    shapes: dict[str, list[int]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    state = {n: rng.standard_normal(tuple(s)).astype(np.float32) for n, s in shapes.items()}
    data = model_to_bytes(state)
    assert model_to_bytes(dict(reversed(list(state.items())))) == data
    np.testing.assert_array_equal(flatten_model(data), flatten_state(state))
    np.testing.assert_array_equal(
        flatten_model(unflatten_like(flatten_model(data), data)), flatten_model(data)
    )


def test_model_from_bytes_rejects_garbage_with_a_clear_error() -> None:
    with pytest.raises(ModelFormatError, match="not a valid safetensors"):
        model_from_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}xxxxxxx")


def test_model_from_bytes_rejects_too_short_input() -> None:
    with pytest.raises(ModelFormatError, match="too short"):
        model_from_bytes(b"abc")


def test_model_from_bytes_rejects_truncated_file() -> None:
    data = model_to_bytes(_state())
    with pytest.raises(ModelFormatError, match="safetensors"):
        model_from_bytes(data[:-4])


def test_model_from_bytes_rejects_metadata_as_non_canonical() -> None:
    data = bytes(st_save(_state(), metadata={"note": "x"}))
    with pytest.raises(ModelFormatError, match="not canonical"):
        model_from_bytes(data)
    assert sorted(model_from_bytes(data, canonical=False)) == sorted(_state())


def test_non_float32_tensors_are_rejected_naming_the_tensor() -> None:
    with pytest.raises(ModelFormatError, match=r"'w'.*float64"):
        model_to_bytes({"w": np.ones(3)})
    with pytest.raises(ModelFormatError, match=r"'w'.*int32"):
        model_from_bytes(bytes(st_save({"w": np.ones(3, dtype=np.int32)})))


def test_model_format_error_is_a_fedledger_error() -> None:
    assert issubclass(ModelFormatError, FedledgerError)


def test_decoded_protocol_accepts_any_object_with_the_two_attributes() -> None:
    assert isinstance(Decoded(1, np.zeros(1)), DecodedAggregate)


def test_apply_aggregate_matches_a_float64_reference_bit_for_bit() -> None:
    state = _state(4)
    old = model_to_bytes(state)
    rng = np.random.default_rng(5)
    n = model_size(old)
    weights = [13, 7, 100]
    deltas = [rng.standard_normal(n) * 0.01 for _ in weights]
    wsum = sum(w * d for w, d in zip(weights, deltas, strict=True))
    new = apply_aggregate(old, Decoded(sum(weights), wsum))

    old_flat = np.concatenate([state[k].ravel() for k in sorted(state)]).astype(np.float64)
    reference = (old_flat + wsum / 120.0).astype(np.float32)
    np.testing.assert_array_equal(flatten_model(new), reference)
    assert flatten_model(new).tobytes() == reference.tobytes()
    # Deterministic: recomputing gives the same bytes.
    assert apply_aggregate(old, Decoded(120, wsum.copy())) == new


def test_apply_aggregate_rejects_non_positive_weight() -> None:
    old = model_to_bytes(_state())
    with pytest.raises(ModelFormatError, match="total_weight must be positive"):
        apply_aggregate(old, Decoded(0, np.zeros(model_size(old))))


def test_apply_aggregate_rejects_length_mismatch() -> None:
    old = model_to_bytes(_state())
    n = model_size(old)
    with pytest.raises(ModelFormatError, match=f"has {n + 1} values, model has {n}"):
        apply_aggregate(old, Decoded(3, np.zeros(n + 1)))


def test_apply_aggregate_rejects_float32_weighted_sum() -> None:
    old = model_to_bytes(_state())
    with pytest.raises(ModelFormatError, match="float64"):
        apply_aggregate(old, Decoded(3, np.zeros(model_size(old), dtype=np.float32)))


def test_apply_aggregate_rejects_non_finite_result() -> None:
    old = model_to_bytes(_state())
    wsum = np.zeros(model_size(old))
    wsum[0] = np.inf
    with pytest.raises(ModelFormatError, match="non-finite"):
        apply_aggregate(old, Decoded(3, wsum))


def test_file_data_section_is_the_flat_vector() -> None:
    # safetensors lays out same-dtype tensors in sorted name order, so the raw data
    # section is exactly the flat vector (a verifier can rely on either).
    state = {
        "é": np.ones(2, np.float32),
        "Z": np.zeros(3, np.float32),
        "a_b": np.full(1, 7.0, np.float32),
    }
    data = model_to_bytes(state)
    header_len = int.from_bytes(data[:8], "little")
    raw = np.frombuffer(data[8 + header_len :], dtype="<f4")
    np.testing.assert_array_equal(raw, flatten_model(data))
    np.testing.assert_array_equal(raw, [0, 0, 0, 7, 1, 1])
