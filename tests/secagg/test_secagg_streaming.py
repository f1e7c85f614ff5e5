"""Streaming and parallel unmasking: a running sum instead of n vectors, mask regeneration in
chunks on an engine, bit-identical to the sequential fold."""

from __future__ import annotations

import numpy as np
import pytest

from fedledger.secagg import SecAggParams, simulate_round, verify_round
from fedledger.secagg.engine import InlineEngine, ProcessEngine
from fedledger.secagg.graph import build_graph
from fedledger.secagg.masking import recompute_aggregate
from fedledger.secagg.messages import Roster
from fedledger.secagg.regen import mask_chunks
from fedledger.secagg.vectors import decode_vector

SEED = b"\x07" * 32


def _round(account_pool, **kwargs):
    """12 members, k = 6: one never shares, two drop after sharing (their keys are revealed)."""
    params = SecAggParams(neighbours=6, threshold=3, clip_range=1.0, quant_bits=16, max_weight=100)
    rng = np.random.default_rng(3)
    updates = [(rng.uniform(-1, 1, 40), int(rng.integers(1, 100))) for _ in range(12)]
    return simulate_round(
        updates,
        params=params,
        accounts=account_pool[:12],
        seed=SEED,
        dropout={"share_keys": {0}, "masked_input": {1, 2}},
        min_participants=5,
        rng=np.random.default_rng(4),  # the same stochastic rounding in every run
        **kwargs,
    )


def _plain_sum(sim) -> np.ndarray:
    """sum of the survivors' quantized inputs mod 2^32: what unmasking must give exactly."""
    return np.sum([sim.quantized[u] for u in sim.result.survivors], axis=0, dtype=np.uint32)


def _neighbours(roster: Roster) -> dict[str, list[str]]:
    graph = build_graph(len(roster), 6, SEED)
    a = roster.addresses
    return {a[i]: [a[j] for j in graph.neighbours(i)] for i in range(len(a))}


@pytest.fixture(scope="module")
def process_engine():
    engine = ProcessEngine(2)
    yield engine
    engine.close()


def _recompute(sim, engine, chunk_streams: int) -> np.ndarray:
    t, reveal = sim.transcript, sim.result.reveal
    roster = Roster.from_bytes(t.roster)
    surv = [a for a in roster.addresses if a in set(reveal.survivors)]
    vectors = {u: decode_vector(t.masked_vectors[t.commitments[u].masked_hash.hex()]) for u in surv}
    neighbours = _neighbours(roster)
    return recompute_aggregate(
        sim.clients[surv[0]].ctx,
        addresses=roster.addresses,
        mask_keys_public={b.participant: b.mask_key for b in roster.bundles},
        neighbours=neighbours,
        survivors=surv,
        vectors=vectors,
        self_mask_seeds=reveal.self_mask_seeds,
        mask_keys=reveal.mask_keys,
        length=next(iter(vectors.values())).size,
        engine=engine,
        chunk_streams=chunk_streams,
    )


def test_server_aggregate_is_the_exact_sum_of_survivor_inputs(account_pool):
    sim = _round(account_pool)

    assert sim.result.reveal.mask_keys, "the round must remove dropped members' masks"
    np.testing.assert_array_equal(sim.result.aggregate, _plain_sum(sim))


def test_process_pool_unmask_is_bit_identical_to_inline(account_pool, process_engine):
    inline = _round(account_pool)

    pooled = _round(account_pool, engine=process_engine)

    assert pooled.result.aggregate_blob != b""
    np.testing.assert_array_equal(pooled.result.aggregate, inline.result.aggregate)
    np.testing.assert_array_equal(pooled.result.aggregate, _plain_sum(pooled))


@pytest.mark.parametrize("chunk_streams", [1, 2, 5, 1000])
def test_chunk_size_does_not_change_the_aggregate(account_pool, process_engine, chunk_streams):
    sim = _round(account_pool)

    inline = _recompute(sim, InlineEngine(), chunk_streams)
    pooled = _recompute(sim, process_engine, chunk_streams)

    np.testing.assert_array_equal(inline, sim.result.aggregate)
    np.testing.assert_array_equal(pooled, sim.result.aggregate)


def test_chunks_hold_at_most_chunk_streams_and_cover_every_stream(account_pool):
    sim = _round(account_pool)
    t, reveal = sim.transcript, sim.result.reveal
    roster = Roster.from_bytes(t.roster)
    neighbours = _neighbours(roster)
    surv = set(reveal.survivors)
    expected_pairs = sum(len([u for u in neighbours[v] if u in surv]) for v in reveal.mask_keys)

    chunks = list(
        mask_chunks(
            sim.clients[sim.addresses[0]].ctx,
            addresses=roster.addresses,
            mask_keys_public={b.participant: b.mask_key for b in roster.bundles},
            neighbours=neighbours,
            survivors=surv,
            self_mask_seeds=reveal.self_mask_seeds,
            mask_keys=reveal.mask_keys,
            length=41,
            chunk_streams=3,
        )
    )

    sizes = [len(c.self_seeds) + sum(len(peers) for _, _, peers in c.pairs) for c in chunks]
    assert max(sizes) <= 3
    assert sum(len(c.self_seeds) for c in chunks) == len(surv)
    assert sum(len(peers) for c in chunks for _, _, peers in c.pairs) == expected_pairs


def test_server_reads_back_only_the_vector_it_must_take_out(
    account_pool, make_updates, params, monkeypatch
):
    # A garbage-share sender commits, then its victim's report excludes it: its vector was
    # already in the running sum and is read back from the store once to be subtracted.
    from fedledger.secagg.server import SecAggServer

    stored: dict[bytes, bytes] = {}
    reads: list[bytes] = []
    accept = SecAggServer.add_masked_input

    def upload_then_accept(self, sender, blob, commitment, **kwargs):
        stored[commitment.masked_hash] = blob  # the participant's upload to the blob store
        return accept(self, sender, blob, commitment, **kwargs)

    def store_reader(digest: bytes) -> bytes:
        reads.append(digest)
        return stored[digest]

    monkeypatch.setattr(SecAggServer, "add_masked_input", upload_then_accept)

    sim = simulate_round(
        make_updates(np.random.default_rng(5), 7, 4),
        params=params,
        accounts=account_pool[:7],
        garbage_shares=[(1, 3)],
        blobs=store_reader,
    )

    cheat = sim.addresses[1]
    assert cheat not in sim.result.survivors
    assert reads == [sim.transcript.commitments[cheat].masked_hash]
    np.testing.assert_array_equal(sim.result.aggregate, _plain_sum(sim))
    assert verify_round(sim.transcript).ok


def test_verifier_on_a_process_pool_passes_an_honest_round(account_pool, process_engine):
    sim = _round(account_pool)

    report = verify_round(sim.transcript, engine=process_engine)

    assert report.ok, report.failed


def test_verifier_on_a_process_pool_catches_a_wrong_aggregate(account_pool, process_engine):
    from dataclasses import replace

    from fedledger.encoding import sha256
    from fedledger.secagg.vectors import encode_vector

    sim = _round(account_pool)
    wrong = sim.result.aggregate.copy()
    wrong[3] += np.uint32(1)
    blob = encode_vector(wrong)
    forged = replace(sim.transcript, aggregate=blob, aggregate_hash=sha256(blob))

    report = verify_round(forged, engine=process_engine)

    assert "aggregate_recomputed" in report.failed
