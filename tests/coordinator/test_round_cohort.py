"""A round with more candidates than the cohort size rosters exactly the chain's sample."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fedledger.audit.verify import verify_round_from_chain
from fedledger.chain.abi import event_topic
from fedledger.chain.cohort import cohort_sample, sample_seed
from fedledger.secagg.messages import Roster
from fedledger.sim.simulation import Simulation
from tests.support.security import CONFIG
from tests.support.sim import quick_sim

COHORT = 5
PEOPLE = 8


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    state = Path(tmp_path_factory.mktemp("cohort")) / "sim"
    s = quick_sim(state, participants=PEOPLE, round_config=CONFIG.replace(cohort_size=COHORT))
    try:
        yield s
    finally:
        s.close()


def test_round_rosters_exactly_the_sample_and_finalizes_and_verifies(sim: Simulation) -> None:
    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    log = sim.contracts.round_log
    info = log.get_round(result.round_id)
    candidates = Roster.from_bytes(sim.store.get(info.candidates_hash.hex()))
    roster = Roster.from_bytes(sim.store.get(info.roster_hash.hex()))
    everyone = sorted(p.address for p in sim.participants)
    assert sorted(candidates.addresses) == everyone
    anchor = bytes(sim.chain.w3.eth.get_block(info.candidates_block)["hash"])
    assert info.sample_seed == sample_seed(info.seed, info.candidates_hash, anchor)
    sampled = cohort_sample(everyone, info.sample_seed, COHORT)
    assert roster.addresses == sampled
    assert (info.candidate_count, info.member_count, result.survivors) == (PEOPLE, COHORT, COHORT)
    for p in sim.participants:
        rec = p.rounds[result.round_id]
        if p.address in sampled:
            assert rec.left_out == "", rec.left_out
        else:  # left out by the rule: it says so and waits
            assert rec.left_out.startswith(f"not sampled in round {result.round_id}")
            assert "waiting for the next round" in rec.left_out

    report = verify_round_from_chain(
        sim.chain, sim.deployment, str(sim.store.root), result.round_id, contracts=sim.contracts
    )
    assert report.ok, report.failed
    assert report.check("cohort_sample").found == {"sampled": COHORT, "candidates": PEOPLE}


def test_a_later_round_samples_again_from_a_new_seed(sim: Simulation) -> None:
    first = sim.contracts.round_log.get_round(sim.run_round().round_id)
    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    info = sim.contracts.round_log.get_round(result.round_id)
    assert info.sample_seed != first.sample_seed
    assert info.member_count == COHORT


def test_a_sampled_round_survives_a_coordinator_restart_at_every_step(sim: Simulation) -> None:
    result = sim.run_round(restart_every_step=True)

    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    log = sim.contracts.round_log
    info = log.get_round(result.round_id)
    roster = Roster.from_bytes(sim.store.get(info.roster_hash.hex()))
    everyone = [p.address for p in sim.participants]
    assert roster.addresses == cohort_sample(everyone, info.sample_seed, COHORT)
    # exactly one postCandidates: the journal adopts a mined call instead of sending it twice
    events = sim.chain.w3.eth.get_logs(
        {"address": log.address, "fromBlock": info.opened_block, "toBlock": "latest"}
    )
    posted = [e for e in events if e["topics"][0] == event_topic("CandidatesPosted")]
    assert len(posted) == 1
