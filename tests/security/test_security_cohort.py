"""An aggregator that picks the cohort instead of the chain's sample is refused and named."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import fedledger.coordinator.book as book_module
from fedledger.audit.verify import AuditReport, verify_round_from_chain
from fedledger.chain.cohort import cohort_sample
from fedledger.coordinator.round_state import RoundState
from fedledger.coordinator.transitions import Transitions
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.constants import ADVERTISE_KEYS
from fedledger.sim.simulation import Simulation
from tests.support.security import CONFIG
from tests.support.sim import quick_sim

pytestmark = pytest.mark.adversarial

COHORT = 5
PEOPLE = 8


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    state = Path(tmp_path_factory.mktemp("cohort-attacks")) / "sim"
    s = quick_sim(state, participants=PEOPLE, round_config=CONFIG.replace(cohort_size=COHORT))
    try:
        yield s
    finally:
        s.close()


def _audit(sim: Simulation, round_id: int, receipts: Sequence[Receipt] = ()) -> AuditReport:
    return verify_round_from_chain(
        sim.chain,
        sim.deployment,
        str(sim.store.root),
        round_id,
        contracts=sim.contracts,
        receipts=receipts,
    )


def test_aggregator_that_swaps_a_sampled_candidate_is_refused_and_named(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    swapped: dict[str, str] = {}

    def pick(candidates: Any, seed: bytes, size: int) -> list[str]:
        honest = cohort_sample(candidates, seed, size)
        outside = sorted(set(candidates) - set(honest))
        swapped["out"], swapped["in"] = honest[0], outside[0]  # same count: postRoster accepts
        return sorted([*honest[1:], outside[0]], key=lambda a: bytes.fromhex(a[2:]))

    with monkeypatch.context() as m:
        m.setattr(book_module, "cohort_sample", pick)
        result = sim.run_round()

    # Every rostered node checks the roster against the sample and refuses to take part.
    assert result.outcome == "failed"
    by_address = {p.address: p.rounds[result.round_id] for p in sim.participants}
    victim = by_address[swapped["out"]]
    assert "not the chain's sample" in victim.left_out
    assert swapped["out"] in victim.left_out  # it can tell it was the one swapped out
    assert "not the chain's sample" in by_address[swapped["in"]].left_out

    report = _audit(sim, result.round_id)

    assert "cohort_sample" in report.failed
    check = report.check("cohort_sample")
    aggregator = sim.contracts.round_log.aggregator()
    assert aggregator in check.detail
    assert check.found == {
        "rosteredNotSampled": [swapped["in"]],
        "sampledNotRostered": [swapped["out"]],
    }


def test_aggregator_that_leaves_a_receipted_bundle_out_of_the_candidates_is_named(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = sim.participants[1]
    post = Transitions.post_candidates

    def censor(self: Transitions, r: RoundState) -> bool:
        r.bundles.pop(victim.address, None)  # accepted (receipted), then left out
        return post(self, r)

    with monkeypatch.context() as m:
        m.setattr(Transitions, "post_candidates", censor)
        result = sim.run_round()

    # The rest is a valid sample of what was posted: the round itself goes through.
    assert result.outcome == "finalized", result.reason
    rec = victim.rounds[result.round_id]
    assert "left our receipted key bundle out of the candidates" in rec.left_out
    receipts = [r for r in rec.receipts if r.stage == ADVERTISE_KEYS]
    assert _audit(sim, result.round_id).ok

    report = _audit(sim, result.round_id, receipts)

    assert report.failed == ["receipts_honoured"]
    found = report.check("receipts_honoured").found
    assert "not among the posted candidates" in found[f"{victim.address} ({ADVERTISE_KEYS})"]


def test_a_candidate_left_out_by_the_rule_breaks_no_receipt(sim: Simulation) -> None:
    result = sim.run_round()
    assert result.outcome == "finalized", result.reason
    info = sim.contracts.round_log.get_round(result.round_id)
    everyone = [p.address for p in sim.participants]
    sampled = set(cohort_sample(everyone, info.sample_seed, COHORT))
    left_out = [p for p in sim.participants if p.address not in sampled]
    assert len(left_out) == PEOPLE - COHORT
    receipts = [r for p in left_out for r in p.rounds[result.round_id].receipts]
    assert [r.stage for r in receipts] == [ADVERTISE_KEYS] * len(left_out)

    report = _audit(sim, result.round_id, receipts)

    assert report.ok, report.failed
