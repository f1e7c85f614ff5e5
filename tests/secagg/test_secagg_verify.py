"""verify_round: honest transcripts pass; any single tampered item fails the right named check."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedledger.encoding import canonical_json, from_canonical_json, sha256
from fedledger.secagg import PublicTranscript, SecAggParams, simulate_round, verify_round
from fedledger.secagg.checks import check_names
from fedledger.secagg.vectors import decode_vector, encode_vector
from fedledger.secagg.verify import CHECKS


@pytest.fixture(scope="module")
def honest(account_pool):
    params = SecAggParams(neighbours=6, threshold=2, clip_range=1.0, quant_bits=16, max_weight=100)
    rng = np.random.default_rng(11)
    updates = [(rng.uniform(-1, 1, 8), int(rng.integers(1, 200))) for _ in range(12)]
    sim = simulate_round(
        updates,
        params=params,
        accounts=account_pool[:12],
        dropout={"share_keys": {0}, "masked_input": {1, 2}},
        min_participants=5,
    )
    assert sim.result.reveal.mask_keys, (
        "fixture must have a dropped participant with a revealed key"
    )
    return sim.transcript


def _edit_json_blob(blob: bytes, edit) -> bytes:
    obj = from_canonical_json(blob)
    edit(obj)
    return canonical_json(obj)


def _flip_hex(text: str, pos: int) -> str:
    body = bytearray(bytes.fromhex(text[2:]))
    body[pos % len(body)] ^= 1
    return "0x" + body.hex()


def tamper(t: PublicTranscript, kind: str, pick: int) -> PublicTranscript:
    """Change exactly one item as a cheating aggregator (or a broken store) would."""
    t = copy.deepcopy(t)
    survivors = sorted(t.survivors)
    u = survivors[pick % len(survivors)]
    if kind == "masked_vector":
        name = t.commitments[u].masked_hash.hex()
        blob = bytearray(t.masked_vectors[name])
        blob[-1 - (pick % 4)] ^= 1
        t.masked_vectors[name] = bytes(blob)
    elif kind == "revealed_seed":
        t.reveal = _edit_json_blob(
            t.reveal,
            lambda o: o["selfMaskSeeds"].__setitem__(u, _flip_hex(o["selfMaskSeeds"][u], pick)),
        )
        t.reveal_hash = sha256(t.reveal)  # consistent on chain: the aggregator posted it
    elif kind == "dropped_key":

        def edit(o):
            v = sorted(o["maskKeys"])[pick % len(o["maskKeys"])]
            o["maskKeys"][v] = _flip_hex(o["maskKeys"][v], pick)

        t.reveal = _edit_json_blob(t.reveal, edit)
        t.reveal_hash = sha256(t.reveal)
    elif kind == "signature":

        def edit(o):
            b = o["bundles"][pick % len(o["bundles"])]
            b["signature"] = _flip_hex(b["signature"], 3 + pick % 60)

        t.roster = _edit_json_blob(t.roster, edit)
        t.roster_hash = sha256(t.roster)
    elif kind == "survivor_set":
        t.survivors = [a for a in t.survivors if a != u]
    elif kind == "aggregate_coordinate":
        agg = decode_vector(t.aggregate).copy()
        agg[pick % agg.size] += np.uint32(1)
        t.aggregate = encode_vector(agg)
        t.aggregate_hash = sha256(t.aggregate)
    elif kind == "new_model":
        from fedledger.fl.serialization import flatten_model, unflatten_like

        flat = flatten_model(t.new_model).copy()
        flat[pick % flat.size] += np.float32(1e-3)
        t.new_model = unflatten_like(flat, t.new_model)
        t.new_model_hash = sha256(t.new_model)
    else:  # pragma: no cover
        raise AssertionError(kind)
    return t


EXPECTED = {
    "masked_vector": "survivor_commitments",
    "revealed_seed": "self_mask_seeds",
    "dropped_key": "dropped_mask_keys",
    "signature": "roster_signatures",
    "survivor_set": "survivors_dropped_partition",
    "aggregate_coordinate": "aggregate_recomputed",
    "new_model": "model_update",
}


def test_an_honest_transcript_passes_every_check(honest):
    report = verify_round(honest)
    assert report.ok, report.failed
    assert [c.name for c in report.checks] == check_names(CHECKS)
    json.dumps(report.to_json())  # serialisable


def test_transcript_json_round_trips(honest):
    again = PublicTranscript.from_bytes(honest.to_bytes())
    assert again.to_bytes() == honest.to_bytes()
    assert verify_round(again).ok


@settings(
    max_examples=28, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(sorted(EXPECTED)), pick=st.integers(0, 1000))
def test_any_single_tampered_item_fails_the_right_check(honest, kind, pick):
    report = verify_round(tamper(honest, kind, pick))
    assert not report.ok
    assert EXPECTED[kind] in report.failed, (kind, report.failed)
    failed = report.check(EXPECTED[kind])
    assert failed.detail


def test_a_changed_roster_blob_fails_the_roster_hash(honest):
    t = copy.deepcopy(honest)
    t.roster_hash = sha256(b"something else")
    assert "roster_hash" in verify_round(t).failed


def test_too_few_survivors_for_the_round_minimum_fail_participation(honest):
    t = copy.deepcopy(honest)
    t.min_participants = len(t.survivors) + 1
    assert verify_round(t).failed == ["participation"]


def test_a_missing_masked_blob_fails_commitments_and_recompute(honest):
    t = copy.deepcopy(honest)
    t.masked_vectors.pop(next(iter(t.masked_vectors)))
    failed = verify_round(t).failed
    assert "survivor_commitments" in failed and "aggregate_recomputed" in failed


def test_a_reveal_with_both_secrets_for_one_participant_fails_the_partition(honest):
    t = copy.deepcopy(honest)

    def edit(o):
        v = sorted(o["maskKeys"])[0]
        o["selfMaskSeeds"][v] = o["maskKeys"][v]

    t.reveal = _edit_json_blob(t.reveal, edit)
    t.reveal_hash = sha256(t.reveal)
    assert "survivors_dropped_partition" in verify_round(t).failed


def test_a_garbage_reveal_blob_is_reported_not_raised(honest):
    t = copy.deepcopy(honest)
    t.reveal = b"\xff not json"
    report = verify_round(t)
    assert "reveal_hash" in report.failed and "aggregate_recomputed" in report.failed


def test_a_roster_of_threshold_members_fails_participation_like_roster_log_post_roster(
    account_pool,
):
    # RoundLog.postRoster needs max(minParticipants, threshold + 1) members; a roster of exactly
    # `threshold` members that all survive met the old max(2, minParticipants) rule.
    params = SecAggParams(neighbours=2, threshold=2, clip_range=1.0, quant_bits=16, max_weight=100)
    rng = np.random.default_rng(5)
    updates = [(rng.uniform(-1, 1, 4), 10) for _ in range(3)]
    sim = simulate_round(updates, params=params, accounts=account_pool[:3], min_participants=2)
    t = copy.deepcopy(sim.transcript)
    assert verify_round(t).ok
    t.params = SecAggParams(
        neighbours=3, threshold=3, clip_range=1.0, quant_bits=16, max_weight=100
    )
    assert len(t.survivors) == 3
    report = verify_round(t)
    assert "participation" in report.failed
    assert report.check("participation").expected["roster_at_least"] == 4
