"""Nodes verify the rounds behind the model they train on (--verify full|own|off), in real
simulated federations: a tampered finalize is refused by name, an honest one verifies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from fedledger.secagg.quantize import decode_sum
from fedledger.secagg.server import AggregationResult, SecAggServer
from fedledger.secagg.vectors import encode_vector
from fedledger.sim.simulation import Simulation
from tests.support.security import CONFIG


def _bump_aggregate(real: Callable[[SecAggServer], AggregationResult]) -> Callable[..., object]:
    """close_unmask of an aggregator that shifts one coordinate of the sum, and publishes a
    self-consistent aggregate and new model: only recomputing the sum catches it."""

    def close_unmask(self: SecAggServer) -> AggregationResult:
        res = real(self)
        agg = res.aggregate.copy()
        agg[1] = agg[1] - np.uint32(1) if agg[1] > 0 else agg[1] + np.uint32(1)
        decoded = decode_sum(
            agg, len(res.survivors), self.params, total_weight=res.decoded.total_weight
        )
        return dataclasses.replace(
            res, aggregate=agg, aggregate_blob=encode_vector(agg), decoded=decoded
        )

    return close_unmask


def _shift_model(real: Callable[[SecAggServer], AggregationResult]) -> Callable[..., object]:
    """close_unmask of an aggregator that adds 0.5 to every decoded coordinate: the new model
    it finalizes is not the old one plus the aggregate it publishes."""

    def close_unmask(self: SecAggServer) -> AggregationResult:
        res = real(self)
        shifted = dataclasses.replace(res.decoded, weighted_sum=res.decoded.weighted_sum + 0.5)
        return dataclasses.replace(res, decoded=shifted)

    return close_unmask


@pytest.fixture
def sim(new_sim: Callable[..., Simulation], tmp_path: Path) -> Iterator[Simulation]:
    """Six participants (k=4, t=3) verifying in full mode."""
    s = new_sim(tmp_path / "sim", participants=6, round_config=CONFIG, node_verify="full")
    try:
        yield s
    finally:
        s.close()


def _checks(sim: Simulation, round_id: int) -> list[str]:
    return [p.rounds[round_id].model_check for p in sim.participants]


def test_an_honest_federation_in_full_mode_verifies_every_round_and_finalizes(
    sim: Simulation,
) -> None:
    results = [sim.run_round() for _ in range(3)]

    assert [r.outcome for r in results] == ["finalized"] * 3
    assert all(r.survivors == 6 for r in results)
    assert all(r.verified for r in results)
    # Round 1 trains the genesis model; rounds 2 and 3 each verify the one round before.
    assert _checks(sim, 1) == ["verified (full): nothing new to check"] * 6
    assert _checks(sim, 2) == ["verified (full): checked round(s) 1"] * 6
    assert _checks(sim, 3) == ["verified (full): checked round(s) 2"] * 6
    for p in sim.participants:
        assert {r: v.ok for r, v in p.verifier.verdicts.items()} == {1: True, 2: True}
        assert p.rounds[3].timings["verify"] > 0


@pytest.mark.adversarial
def test_full_mode_refuses_a_model_whose_aggregate_was_tampered_and_off_mode_trains(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for p in sim.participants[4:]:
        p.verifier.mode = "off"
    with monkeypatch.context() as m:
        m.setattr(SecAggServer, "close_unmask", _bump_aggregate(SecAggServer.close_unmask))
        tampered = sim.run_round()
    # model_update builds on the recomputed aggregate, so it cannot run either.
    assert tampered.outcome == "finalized"
    assert tampered.failed_checks == ["aggregate_recomputed", "model_update"]

    refused = sim.run_round()

    full, off = sim.participants[:4], sim.participants[4:]
    for p in full:
        rec = p.rounds[refused.round_id]
        assert rec.model_check.startswith("refused: ")
        assert f"model of round {refused.round_id}:" in rec.left_out
        assert "round 1 failed verification (aggregate_recomputed, model_update): " in (
            rec.left_out
        )
        assert "recomputed aggregate hash differs from the on-chain" in rec.left_out
        assert rec.train_loss is None and not rec.done  # did not train, sent nothing
    for p in off:
        rec = p.rounds[refused.round_id]
        assert rec.model_check == "off" and rec.train_loss is not None
    # Two off-mode nodes are too few for t=3: the round fails, and nobody crashed.
    assert refused.outcome == "failed"


@pytest.mark.adversarial
def test_a_refused_model_stays_refused_in_later_rounds_built_on_it(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for p in sim.participants[2:]:
        p.verifier.mode = "off"
    with monkeypatch.context() as m:
        m.setattr(SecAggServer, "close_unmask", _shift_model(SecAggServer.close_unmask))
        sim.run_round()

    second = sim.run_round()  # the four off-mode nodes finalize it on the tampered model
    third = sim.run_round()

    assert (second.outcome, third.outcome) == ("finalized", "finalized")
    assert second.survivors == third.survivors == 4
    for p in sim.participants[:2]:
        assert "round 1 failed verification (model_update)" in p.rounds[2].left_out
        # Round 2 itself is a correct round, but its starting model is round 1's refused one.
        third_note = p.rounds[3].left_out
        assert "it comes from round 2, which builds on round 1" in third_note
        assert "round 1 failed verification (model_update)" in third_note
        assert set(p.verifier.verdicts) == {1, 2} and p.verifier.verdicts[2].ok


@pytest.mark.adversarial
def test_own_mode_refuses_a_new_model_that_is_not_old_plus_the_published_aggregate(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for p in sim.participants:
        p.verifier.mode = "own"
    with monkeypatch.context() as m:
        m.setattr(SecAggServer, "close_unmask", _shift_model(SecAggServer.close_unmask))
        sim.run_round()

    refused = sim.run_round()

    assert refused.outcome == "failed"
    for p in sim.participants:
        assert "round 1 failed verification (model_update)" in p.rounds[2].left_out
