"""The auditor justifies every slash from chain + reveal (slash_justified) and checks rewards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fedledger.audit.verify import verify_round_from_chain
from fedledger.chain import SlashReason, reward_amounts, slash_amount
from fedledger.sim.simulation import Simulation
from tests.support.audit import roster_member
from tests.support.slash import STAKE, staked_sim


@pytest.fixture(scope="module")
def silent_round(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    sim = staked_sim(tmp_path_factory.mktemp("silent"), silent=2)
    sim.run_round()
    try:
        yield sim
    finally:
        sim.close()


@pytest.fixture(scope="module")
def cheater_round(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    sim = staked_sim(tmp_path_factory.mktemp("cheater"), cheater=4)
    sim.run_round()
    try:
        yield sim
    finally:
        sim.close()


def audit(sim: Simulation):
    return verify_round_from_chain(sim.chain, sim.deployment, str(sim.store.root), 1)


def test_audit_passes_a_round_that_slashed_a_silent_survivor(silent_round: Simulation) -> None:
    report = audit(silent_round)

    assert report.ok, report.failed
    check = report.check("slash_justified")
    assert check.found == [
        {
            "account": silent_round.accounts[2].address,
            "reason": 1,
            "amount": str(slash_amount(STAKE, 2_500)),
            "grounds": "silent survivor whose shares were needed",
        }
    ]


def test_audit_passes_a_round_that_slashed_a_bad_share_sender(cheater_round: Simulation) -> None:
    report = audit(cheater_round)

    assert report.ok, report.failed
    (found,) = report.check("slash_justified").found
    assert (found["account"], found["reason"]) == (cheater_round.accounts[4].address, 2)
    assert len(found["grounds"]) == 4  # one proven bad share per neighbour secret it held


def test_rewards_credited_follows_the_weight_rule(cheater_round: Simulation) -> None:
    sim = cheater_round
    log = sim.contracts.round_log
    index = {a.address: roster_member(log, sim.store, 1, a.address).index for a in sim.accounts}
    weights = {a: log.weight_of(1, a) for a in index if log.weight_of(1, a)}
    expected = reward_amounts(log.get_round(1).config, weights)

    check = audit(sim).check("rewards_credited")

    assert check.passed and check.found == {k: str(v) for k, v in expected.items()}
    assert all(log.claimable(1, a, index[a]) == v for a, v in expected.items())


def test_slashing_an_honest_responder_fails_slash_justified(silent_round: Simulation) -> None:
    sim = silent_round
    log = sim.contracts.round_log
    info = log.get_round(1)
    honest = [sim.accounts[0].address, sim.accounts[1].address]
    snap = sim.chain.snapshot()
    try:
        log.slash(
            1,
            honest[0],
            member=roster_member(log, sim.store, 1, honest[0]),
            reason=SlashReason.NO_UNMASK_RESPONSE,
            evidence_hash=info.reveal_hash,
            sender=sim.aggregator,
        )
        log.slash(
            1,
            honest[1],
            member=roster_member(log, sim.store, 1, honest[1]),
            reason=SlashReason.BAD_SHARE,
            evidence_hash=info.reveal_hash,
            sender=sim.aggregator,
        )

        report = audit(sim)
    finally:
        sim.chain.revert(snap)

    assert not report.ok
    assert report.failed == ["slash_justified"]
    problems = report.check("slash_justified").found
    assert "answered the unmask request" in problems[f"{honest[0]} (reason 1)"]
    assert "not among the reveal's bad-share senders" in problems[f"{honest[1]} (reason 2)"]
