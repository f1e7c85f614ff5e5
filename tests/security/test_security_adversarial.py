"""Attacks by participants, run for real (RoundCoordinator + Participants on eth-tester).

Each test asserts the defense (refusal, named check, round outcome) and that the honest
participants' rounds still finalize and verify: the zero-W vector (attack 2), the framing blob
and the commitment without upload (attack 4), the out-of-range update (attack 5).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fedledger.audit.verify import AuditReport, verify_round_from_chain
from fedledger.chain import Stage, fetch_events
from fedledger.node.participant import Participant
from fedledger.secagg.vectors import decode_vector
from fedledger.sim.simulation import Simulation
from tests.support.bad_participants import (
    CommitWithoutUploadParticipant,
    MalformedBlobParticipant,
    OutOfRangeParticipant,
    ZeroWeightParticipant,
    turn,
)
from tests.support.security import N, small_sim

pytestmark = pytest.mark.adversarial

# Checks whose failure blames the aggregator: a participant's fault must never fail them.
AGGREGATOR_CHECKS = ("blobs_available", "committed_updates_included", "survivors_committed")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    s = small_sim(Path(tmp_path_factory.mktemp("adversarial")) / "sim")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def honest_after(sim: Simulation) -> Iterator[Simulation]:
    """Every participant is an honest one again after the test."""
    try:
        yield sim
    finally:
        for p in sim.participants:
            p.__class__ = Participant
            p.dropout = {}


def _audit(sim: Simulation, round_id: int) -> AuditReport:
    return verify_round_from_chain(
        sim.chain, sim.deployment, str(sim.store.root), round_id, contracts=sim.contracts
    )


def _failure_reason(sim: Simulation, round_id: int) -> str:
    events = fetch_events(sim.chain, sim.contracts.round_log.address, names=["RoundFailed"])
    return {int(e.args["round"]): str(e.args["reason"]) for e in events}[round_id]


def _assert_next_round_finalizes_and_verifies(sim: Simulation) -> None:
    result = sim.run_round()
    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    assert result.survivors == N
    assert _audit(sim, result.round_id).ok


def test_zero_weight_vector_is_decoded_with_the_chain_weights_and_the_round_finalizes(
    honest_after: Simulation,
) -> None:
    sim = honest_after
    attacker = turn(sim.participants[-1], ZeroWeightParticipant)  # steps last: sees every W

    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    assert result.survivors == N
    info = sim.contracts.round_log.get_round(result.round_id)
    aggregate = decode_vector(sim.store.get(info.aggregate_hash.hex()))
    assert int(aggregate[0]) == 0  # the attack landed: the weight elements sum to zero
    report = _audit(sim, result.round_id)
    assert report.ok, report.failed
    weight = report.check("total_weight")
    assert weight.found == {"totalWeight": weight.expected, "aggregate[0]": 0}
    assert weight.expected > 0
    assert isinstance(attacker, ZeroWeightParticipant)
    _assert_next_round_finalizes_and_verifies(sim)


@pytest.mark.parametrize(
    ("error", "reason"),
    [("model", "undecodable_aggregate"), ("bug", "close_failed")],
)
def test_any_failure_while_closing_fails_the_round_on_chain_and_the_next_one_opens(
    honest_after: Simulation, monkeypatch: pytest.MonkeyPatch, error: str, reason: str
) -> None:
    sim = honest_after
    import fedledger.fl.serialization as serialization

    def broken(old_model: bytes, decoded: object) -> bytes:
        if error == "model":
            raise serialization.ModelFormatError("apply_aggregate: the updated model is NaN")
        raise RuntimeError("something nobody expected")

    with monkeypatch.context() as m:
        m.setattr(serialization, "apply_aggregate", broken)
        result = sim.run_round()

    assert result.outcome == "failed"
    assert result.reason == reason
    assert _failure_reason(sim, result.round_id) == reason
    assert sim.contracts.round_log.get_round(result.round_id).stage == Stage.FAILED
    _assert_next_round_finalizes_and_verifies(sim)


def _closed_before_the_commit_deadline(sim: Simulation, round_id: int) -> bool:
    info = sim.contracts.round_log.get_round(round_id)
    return info.stage == Stage.FINALIZED and sim.chain.timestamp() < info.commit_deadline


def test_framing_blob_one_element_too_long_is_a_dropout_at_once_and_blamed_on_its_sender(
    honest_after: Simulation,
) -> None:
    sim = honest_after
    bad = turn(sim.participants[1], MalformedBlobParticipant, kind="one_too_long", refusals=[])

    result = sim.run_round()

    assert isinstance(bad, MalformedBlobParticipant)
    assert len(bad.refusals) == 1 and "elements" in bad.refusals[0]
    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    assert result.survivors == N - 1 and bad.address in result.dropped
    # The commitment is immutable once mined: no waiting for the on-chain commit deadline.
    assert _closed_before_the_commit_deadline(sim, result.round_id)
    report = _audit(sim, result.round_id)
    assert report.failed == ["participant_blobs"]
    faults = report.check("participant_blobs").found
    assert set(faults) == {bad.address}
    assert "malformed" in faults[bad.address] and "elements" in faults[bad.address]
    for name in AGGREGATOR_CHECKS:
        assert report.check(name).passed, name


def test_commitment_without_upload_is_a_dropout_after_the_grace_and_blamed_on_its_sender(
    honest_after: Simulation,
) -> None:
    sim = honest_after
    bad = turn(sim.participants[2], CommitWithoutUploadParticipant, refusals=[])

    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    assert result.survivors == N - 1 and bad.address in result.dropped
    assert _closed_before_the_commit_deadline(sim, result.round_id)
    report = _audit(sim, result.round_id)
    assert report.failed == ["participant_blobs"]
    assert report.check("participant_blobs").found == {bad.address: "committed blob missing"}
    for name in AGGREGATOR_CHECKS:
        assert report.check(name).passed, name


def test_out_of_range_update_fails_the_round_by_name_instead_of_poisoning_the_model(
    honest_after: Simulation,
) -> None:
    sim = honest_after
    before = sim.contracts.round_log.latest_model_hash()
    turn(sim.participants[0], OutOfRangeParticipant)

    result = sim.run_round()

    assert result.outcome == "failed"
    assert result.reason == "aggregate_out_of_range"
    assert _failure_reason(sim, result.round_id) == "aggregate_out_of_range"
    assert sim.contracts.round_log.latest_model_hash() == before  # the model did not move
    for p in sim.participants:
        p.__class__ = Participant
    _assert_next_round_finalizes_and_verifies(sim)


def test_an_aggregator_that_finalizes_an_out_of_range_aggregate_fails_aggregate_in_range(
    honest_after: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = honest_after
    import fedledger.secagg.server as server

    turn(sim.participants[0], OutOfRangeParticipant)
    with monkeypatch.context() as m:  # an aggregator that skips the range check
        m.setattr(server, "out_of_range", lambda agg, n, params: np.array([], dtype=np.int64))
        result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert result.failed_checks == ["aggregate_in_range"]
    report = _audit(sim, result.round_id)
    assert report.failed == ["aggregate_in_range"]
    found = report.check("aggregate_in_range").found
    assert found["outOfRange"] > 0
