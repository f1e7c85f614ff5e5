"""Vector blobs, quantization/decoding and the neighbour graph."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedledger.errors import ConfigError, ProtocolError
from fedledger.secagg import SecAggParams, decode_sum, decode_vector, encode_vector, quantize
from fedledger.secagg.graph import build_graph, effective_degree, seeded_permutation
from fedledger.secagg.quantize import quantization_error_bound
from fedledger.secagg.vectors import VectorFormatError

# -- vectors -----------------------------------------------------------------------------------


def test_vector_blob_is_numpy_save_and_round_trips():
    v = np.array([0, 1, 2**32 - 1], dtype=np.uint32)
    buf = io.BytesIO()
    np.save(buf, v, allow_pickle=False)
    assert encode_vector(v) == buf.getvalue()
    assert np.array_equal(decode_vector(encode_vector(v), length=3), v)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(3, dtype=np.int32), "<i4"),
        (np.zeros(3, dtype=">u4"), ">u4"),
        (np.zeros((2, 2), dtype=np.uint32), "1-D"),
        (np.zeros(3, dtype=np.float32), "<f4"),
    ],
)
def test_vector_blobs_of_the_wrong_dtype_or_shape_are_refused(array, message):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    with pytest.raises(VectorFormatError, match=message):
        decode_vector(buf.getvalue())


def test_vector_blob_of_the_wrong_length_is_refused():
    with pytest.raises(VectorFormatError, match="expected 4 elements, got 3"):
        decode_vector(encode_vector(np.zeros(3, dtype=np.uint32)), length=4)


def test_truncated_or_extended_vector_blobs_are_refused():
    blob = encode_vector(np.zeros(3, dtype=np.uint32))
    with pytest.raises(VectorFormatError, match="header says 3"):
        decode_vector(blob[:-2])
    with pytest.raises(VectorFormatError, match="header says 3"):
        decode_vector(blob + b"\x00\x00\x00\x00")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_vector_decoder(blob):
    try:
        v = decode_vector(blob)
    except VectorFormatError:
        return
    assert v.dtype == np.uint32  # pragma: no cover - random bytes are never a valid blob


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutated_vector_blobs_are_refused_or_decode_to_a_valid_vector(data):
    blob = bytearray(encode_vector(np.arange(5, dtype=np.uint32)))
    pos = data.draw(st.integers(0, 127))  # mutate the header
    blob[pos] = data.draw(st.integers(0, 255))
    try:
        v = decode_vector(bytes(blob))
    except VectorFormatError:
        return
    assert v.dtype == np.uint32 and v.ndim == 1


# -- quantization ----------------------------------------------------------------------------


def test_params_validation_names_the_field():
    with pytest.raises(ConfigError, match="threshold"):
        SecAggParams(neighbours=4, threshold=5, clip_range=1.0, quant_bits=8, max_weight=10)
    with pytest.raises(ConfigError, match="clip_range"):
        SecAggParams(
            neighbours=4, threshold=2, clip_range=float("nan"), quant_bits=8, max_weight=10
        )
    with pytest.raises(ConfigError, match="modulus_bits"):
        SecAggParams(4, 2, 1.0, 8, 10, modulus_bits=64)


def test_capacity_guard_refuses_a_sum_that_could_overflow():
    p = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=20, max_weight=100)
    p.check_capacity(4096)  # 4096 * (2^20 - 1) < 2^32
    with pytest.raises(ConfigError, match=f"4097 inputs .* = {4097 * (2**20 - 1)} >= {2**32}"):
        p.check_capacity(4097)
    heavy = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=8, max_weight=2**31)
    with pytest.raises(ConfigError, match="max_weight=2147483648"):
        heavy.check_capacity(2)


def test_weight_element_is_exact_and_capped(params):
    x = quantize(np.zeros(4), 12345, params)
    assert x[0] == params.max_weight
    assert quantize(np.zeros(4), 7, params)[0] == 7


def test_quantized_values_stay_in_range_even_when_clipped(params):
    x = quantize(np.array([-1e9, 1e9, 0.0, params.clip_range]), params.max_weight, params)
    assert x[1] == 0 and x[2] == params.levels and x[4] == params.levels


def test_bad_updates_are_refused(params):
    with pytest.raises(ProtocolError, match="delta"):
        quantize(np.array([np.nan]), 3, params)
    with pytest.raises(ProtocolError, match="examples"):
        quantize(np.zeros(2), -1, params)


def _quantize_whole_vector(delta, examples, params, rng):
    """The textbook whole-vector float64 form of docs/protocol.md 4.7 (the reference)."""
    weight = min(examples, params.max_weight)
    c, levels = params.clip_range, params.levels
    scaled = np.clip(np.asarray(delta, dtype=np.float64) * (weight / params.max_weight), -c, c)
    scaled = (scaled + c) * (levels / (2.0 * c)) + rng.random(scaled.size)
    q = np.clip(np.floor(scaled), 0, levels)
    return np.concatenate([[weight], q]).astype(np.uint32)


@settings(max_examples=25, deadline=None)
@given(
    chunks=st.floats(0.001, 3.5),
    examples=st.integers(0, 3000),
    bits=st.integers(1, 24),
    clip=st.floats(0.001, 50.0),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_chunked_quantization_is_bit_identical_to_the_whole_vector_formula(
    chunks, examples, bits, clip, dtype, seed
):
    from fedledger.secagg.quantize import CHUNK

    params = SecAggParams(
        neighbours=4, threshold=2, clip_range=clip, quant_bits=bits, max_weight=1000
    )
    size = max(1, int(chunks * CHUNK))  # one partial chunk up to several, with a ragged tail
    data = np.random.default_rng(seed)
    delta = data.normal(0.0, clip, size).astype(dtype)
    delta[:: max(1, size // 7)] = dtype(clip)  # values exactly on the clip edge
    got = quantize(delta, examples, params, rng=np.random.default_rng(seed + 1))
    want = _quantize_whole_vector(delta, examples, params, np.random.default_rng(seed + 1))
    assert got.dtype == np.uint32
    assert np.array_equal(got, want)


def test_chunked_quantization_leaves_the_decoded_aggregate_unchanged(params):
    rng = np.random.default_rng(7)
    deltas = [rng.uniform(-0.6, 0.6, 3 * 16384 + 11).astype(np.float32) for _ in range(5)]
    total = np.zeros(deltas[0].size + 1, dtype=np.uint32)
    reference = np.zeros_like(total)
    for i, delta in enumerate(deltas):
        total += quantize(delta, 100 + i, params, rng=np.random.default_rng(i))
        reference += _quantize_whole_vector(delta, 100 + i, params, np.random.default_rng(i))
    got, want = (
        decode_sum(total, 5, params, total_weight=int(total[0])),
        decode_sum(reference, 5, params, total_weight=int(reference[0])),
    )
    assert got.total_weight == want.total_weight
    assert got.weighted_sum.tobytes() == want.weighted_sum.tobytes()


def test_a_nan_in_a_later_chunk_is_refused(params):
    from fedledger.secagg.quantize import CHUNK

    delta = np.zeros(2 * CHUNK + 5)
    delta[-1] = np.inf
    with pytest.raises(ProtocolError, match="delta"):
        quantize(delta, 3, params)


def test_stochastic_rounding_is_unbiased(params):
    coarse = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=2, max_weight=1)
    delta = np.full(200_000, 0.1)  # sits between two of the 4 levels
    decoded = decode_sum(quantize(delta, 1, coarse), 1, coarse, total_weight=1)
    assert abs(decoded.weighted_sum.mean() - 0.1) < 0.01


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 20),
    bits=st.integers(2, 24),
    clip=st.floats(0.01, 100.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_decoded_sum_is_within_the_quantization_bound(n, bits, clip, seed):
    params = SecAggParams(
        neighbours=4, threshold=2, clip_range=clip, quant_bits=bits, max_weight=64
    )
    rng = np.random.default_rng(seed)
    deltas = rng.uniform(-clip, clip, (n, 50))
    weights = rng.integers(0, 100, n)
    total = np.zeros(51, dtype=np.uint32)
    for delta, w in zip(deltas, weights, strict=True):
        total += quantize(delta, int(w), params)
    decoded = decode_sum(total, n, params, total_weight=int(total[0]))
    capped = np.minimum(weights, params.max_weight)
    exact = (capped[:, None] * deltas).sum(axis=0)
    assert decoded.total_weight == int(capped.sum())
    bound = quantization_error_bound(n, params) * (1 + 1e-9) + 1e-9 * clip * n * 64
    assert np.max(np.abs(decoded.weighted_sum - exact)) <= bound


def test_decoding_follows_the_documented_float64_formula(params):
    agg = np.array([10, 0, 65535, 40000], dtype=np.uint32)
    n = 3
    out = decode_sum(agg, n, params, total_weight=int(agg[0])).weighted_sum
    scale = (2.0 * params.clip_range) / float(params.levels)
    expected = [
        float(params.max_weight) * (float(v) * scale - float(n) * params.clip_range)
        for v in agg[1:]
    ]
    assert out.tolist() == expected


# -- graph ------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(n=st.integers(2, 120), k=st.integers(1, 40), seed=st.binary(min_size=32, max_size=32))
def test_graph_is_symmetric_regular_and_loop_free(n, k, seed):
    g = build_graph(n, k, seed)
    assert g.degree == effective_degree(n, k)
    for i in range(n):
        adj = g.neighbours(i)
        assert len(adj) == g.degree
        assert i not in adj
        assert all(g.are_neighbours(j, i) for j in adj)


def test_graph_is_complete_when_k_reaches_n_minus_1():
    g = build_graph(10, 9, os.urandom(32))
    assert g.degree == 9 and all(len(g.neighbours(i)) == 9 for i in range(10))


def test_odd_n_and_odd_k_round_the_degree_up():
    assert effective_degree(11, 3) == 4
    assert effective_degree(12, 3) == 3
    assert effective_degree(11, 9) == 10


def test_graph_depends_only_on_the_seed():
    seed = os.urandom(32)
    assert build_graph(50, 6, seed) == build_graph(50, 6, seed)
    assert build_graph(50, 6, seed).adjacency != build_graph(50, 6, os.urandom(32)).adjacency


def test_seeded_permutation_is_a_permutation():
    perm = seeded_permutation(100, os.urandom(32))
    assert sorted(perm) == list(range(100))


def test_graph_refuses_a_single_participant():
    with pytest.raises(ConfigError, match="at least 2"):
        build_graph(1, 3, os.urandom(32))


def test_decoding_takes_w_from_the_committed_weights_never_from_element_0(params):
    x = quantize(np.full(4, 0.1), 100, params, rng=np.random.default_rng(0))
    zeroed = x.copy()
    zeroed[0] = 0  # what a participant forging its weight element gets the sum to

    honest = decode_sum(x, 1, params, total_weight=100)
    forged = decode_sum(zeroed, 1, params, total_weight=100)

    assert forged.total_weight == honest.total_weight == 100
    assert forged.weighted_sum.tobytes() == honest.weighted_sum.tobytes()
    with pytest.raises(ValueError, match="total_weight"):
        decode_sum(x, 1, params, total_weight=-1)


def test_out_of_range_names_coordinates_above_n_levels_and_ignores_element_0(params):
    from fedledger.secagg.quantize import coordinate_bound, out_of_range

    agg = np.zeros(5, dtype=np.uint32)
    agg[0] = np.uint32(2**32 - 1)  # weight elements: not a coordinate
    agg[2] = coordinate_bound(3, params)
    assert out_of_range(agg, 3, params).tolist() == []
    agg[3] = coordinate_bound(3, params) + 1
    assert out_of_range(agg, 3, params).tolist() == [3]
