"""Property tests: exact unmasked sums under any dropout pattern, honest rounds verify."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fedledger.secagg import (
    RoundAborted,
    SecAggParams,
    build_graph,
    messages,
    simulate_round,
    verify_round,
)
from fedledger.secagg.graph import effective_degree
from fedledger.secagg.messages import sort_addresses
from fedledger.secagg.quantize import quantization_error_bound

STAGES = ("advertise_keys", "share_keys", "masked_input", "unmask")


@st.composite
def rounds(draw, max_n=60, max_k=16):
    n = draw(st.integers(2, max_n))
    k = draw(st.integers(1, max_k))
    degree = effective_degree(n, k)
    t = draw(st.integers(1, min(k, degree)))
    bits = draw(st.integers(2, 24))
    params = SecAggParams(
        neighbours=k,
        threshold=t,
        clip_range=draw(st.sampled_from([0.01, 0.5, 1.0, 3.0])),
        quant_bits=bits,
        max_weight=draw(st.integers(1, 10**6)),
    )
    d = draw(st.integers(1, 12))
    cap = max(1, n // 4)
    dropout = {s: draw(st.sets(st.integers(0, n - 1), max_size=cap)) for s in STAGES}
    seed = draw(st.binary(min_size=32, max_size=32))
    data_seed = draw(st.integers(0, 2**32 - 1))
    return n, params, d, dropout, seed, data_seed


@pytest.fixture(scope="module")
def recover_each_bundle_once() -> Iterator[None]:
    """Recover each key-bundle signature once, however often used.

    In a simulated round every client checks its neighbours' bundles, the server and the
    verifier check all of them: up to k + 2 recoveries of the same (signature, fields). It is
    a pure function of its input, so its answer is remembered; every check still runs and
    compares what it returns. (Address checksums are cached by the library itself.)
    """
    recover_bundle = messages.recover_bundle_signer

    @lru_cache(maxsize=4096)
    def recover(signature: bytes, fields: tuple[tuple[str, Any], ...]) -> str:
        return str(recover_bundle(signature, **dict(fields)))

    def recover_cached(signature: bytes, **fields: Any) -> str:
        return recover(signature, tuple(sorted(fields.items())))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(messages, "recover_bundle_signer", recover_cached)
        yield


def _expected_abort(addresses, params, dropout, seed):
    """An independent prediction of whether (and why) the round must abort."""
    idx = {a: i for i, a in enumerate(addresses)}
    u1 = [a for a in addresses if idx[a] not in dropout["advertise_keys"]]
    if len(u1) < 2:
        return "too_few_participants", None
    roster = sort_addresses(u1)
    graph = build_graph(len(roster), params.neighbours, seed)
    if graph.degree < params.threshold:
        return "threshold_above_degree", None
    neigh = {a: {roster[j] for j in graph.neighbours(i)} for i, a in enumerate(roster)}
    u2 = {a for a in roster if idx[a] not in dropout["share_keys"]}
    if not u2:
        return "too_few_participants", None
    # A sharer holding shares from fewer than t neighbours refuses to mask (TooFewSharers).
    u3 = {
        a
        for a in u2
        if idx[a] not in dropout["masked_input"] and len(neigh[a] & u2) >= params.threshold
    }
    if len(u3) < params.threshold:
        return "too_few_survivors", None
    u4 = {a for a in u3 if idx[a] not in dropout["unmask"]}
    needed = set(u3) | {v for v in u2 - u3 if neigh[v] & u3}
    for owner in needed:
        if len(neigh[owner] & u4) < params.threshold:
            return "too_few_shares", None
    return None, (u3, u2 - u3)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=rounds())
def test_unmasked_sum_is_exact_and_verifies_under_any_dropout(
    case, account_pool, recover_each_bundle_once
):
    n, params, d, dropout, seed, data_seed = case
    rng = np.random.default_rng(data_seed)
    c = params.clip_range
    updates = [
        (rng.uniform(-c, c, d), int(rng.integers(0, 2 * params.max_weight))) for _ in range(n)
    ]
    updates[0] = (updates[0][0], max(1, updates[0][1]))  # keep W > 0 when 0 survives alone
    accounts = account_pool[:n]
    addresses = [a.address for a in accounts]
    reason, sets = _expected_abort(addresses, params, dropout, seed)
    event(f"outcome: {reason or 'completed'}")
    if reason is not None:
        with pytest.raises(RoundAborted) as info:
            simulate_round(updates, params=params, dropout=dropout, seed=seed, accounts=accounts)
        assert info.value.reason == reason
        return
    assert sets is not None
    survivors, dropped = sets
    weights = {a: min(w, params.max_weight) for a, (_, w) in zip(addresses, updates, strict=True)}
    if sum(weights[a] for a in survivors) == 0:
        return  # nothing to average: apply_aggregate refuses W = 0 by design
    sim = simulate_round(updates, params=params, dropout=dropout, seed=seed, accounts=accounts)
    r = sim.result

    assert set(r.survivors) == survivors and set(r.dropped) == dropped
    exact = np.zeros(d + 1, dtype=np.uint64)
    for u in survivors:
        exact += sim.quantized[u]
    assert np.array_equal(r.aggregate, (exact % 2**32).astype(np.uint32))

    by_addr = dict(zip(addresses, updates, strict=True))
    true_sum = sum(weights[u] * by_addr[u][0] for u in survivors)
    assert r.decoded.total_weight == sum(weights[u] for u in survivors)
    bound = quantization_error_bound(len(survivors), params) * (1 + 1e-9) + 1e-6
    assert np.max(np.abs(r.decoded.weighted_sum - true_sum)) <= bound

    report = verify_round(sim.transcript)
    assert report.ok, report.failed


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=rounds(max_n=30, max_k=64))
def test_complete_graph_rounds_are_exact_too(case, account_pool):
    n, params, d, dropout, seed, data_seed = case
    rng = np.random.default_rng(data_seed)
    updates = [(rng.uniform(-1, 1, d), 1 + int(rng.integers(0, 100))) for _ in range(n)]
    accounts = account_pool[:n]
    reason, _ = _expected_abort([a.address for a in accounts], params, dropout, seed)
    if reason is not None:
        with pytest.raises(RoundAborted) as info:
            simulate_round(updates, params=params, dropout=dropout, seed=seed, accounts=accounts)
        assert info.value.reason == reason
        return
    sim = simulate_round(updates, params=params, dropout=dropout, seed=seed, accounts=accounts)
    exact = sum(sim.quantized[u].astype(np.uint64) for u in sim.result.survivors) % 2**32
    assert np.array_equal(sim.result.aggregate, exact.astype(np.uint32))
    assert verify_round(sim.transcript).ok
