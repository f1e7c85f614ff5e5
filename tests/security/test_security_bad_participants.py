"""Misbehaving participants inside real rounds (RoundCoordinator + Participants on eth-tester).

A participant that uploads and commits a malformed masked blob is refused with an error
naming the stage, the field and what is wrong, and the round finalizes (and verifies) with
the honest participants. A participant that answers the unmask request with garbage shares
is named in the round's report, and the round still finalizes while every secret keeps at
least t honest shares; with fewer, it fails on chain with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fedledger.chain import Stage, fetch_events
from fedledger.node.participant import Participant
from fedledger.secagg.messages import Roster
from fedledger.sim.simulation import Simulation
from tests.support.bad_participants import (
    MALFORMED,
    GarbageSharesParticipant,
    MalformedBlobParticipant,
    turn,
)
from tests.support.security import N, small_sim

# What the refusal of each malformed blob must say (after "[masked_input] vector: from 0x..: ").
REFUSAL = {
    "wrong_dtype": "dtype must be '<u4', got '<f4'",
    "wrong_length": "elements",
    "corrupt_header": "dtype must be '<u4', got '<u8'",
    "truncated": "header says",
    "pickled_objects": "dtype must be '<u4', got '|O'",
    "two_dimensional": "shape must be 1-D",
    "one_too_long": "elements",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    s = small_sim(Path(tmp_path_factory.mktemp("bad-participants")) / "sim")
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


def _accrued(sim: Simulation, address: str) -> int:
    """Rewards `address` may claim over every finalized round so far (nobody claims here)."""
    log, total = sim.contracts.round_log, 0
    for rid in range(1, log.current_round() + 1):
        info = log.get_round(rid)
        if info.stage == Stage.FINALIZED:
            tree = Roster.from_bytes(sim.store.get(info.roster_hash.hex())).tree()
            if address in tree.members:
                total += log.claimable(rid, address, tree.index_of(address))
    return total


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_masked_blob_is_refused_by_name_and_the_round_completes_without_it(
    honest_after: Simulation, kind: str
) -> None:
    sim = honest_after
    bad = turn(sim.participants[0], MalformedBlobParticipant, kind=kind, refusals=[])
    reward_before = _accrued(sim, bad.address)

    result = sim.run_round()

    assert isinstance(bad, MalformedBlobParticipant)
    assert len(bad.refusals) == 1
    refusal = bad.refusals[0]
    assert refusal.startswith(f"[masked_input] vector: from {bad.address}: ")
    assert REFUSAL[kind] in refusal
    assert result.outcome == "finalized", result.reason
    assert result.survivors == N - 1
    assert result.dropped == {bad.address: "masked_input"}
    assert result.verified is True, result.failed_checks
    # It did commit on chain, but the finalized round neither counts nor pays it.
    info = sim.contracts.round_log.get_round(result.round_id)
    assert (info.stage, info.committed_count) == (Stage.FINALIZED, N)
    assert _accrued(sim, bad.address) == reward_before
    assert _accrued(sim, sim.participants[1].address) > 0


def test_malformed_blob_committed_silently_is_left_out_when_the_chain_is_swept(
    honest_after: Simulation,
) -> None:
    """It never tells the coordinator; the coordinator finds the commit on chain and refuses it."""
    sim = honest_after
    bad = turn(sim.participants[2], MalformedBlobParticipant, kind="truncated", refusals=[])
    bad.dropout = {sim.coordinator.round_id + 1: "after_commit"}

    result = sim.run_round()

    assert bad.refusals == []  # it never sent the masked input itself
    assert result.outcome == "finalized", result.reason
    assert result.survivors == N - 1 and bad.address in result.dropped
    assert result.verified is True, result.failed_checks
    report = sim.coordinator.report(result.round_id)
    assert report is not None and bad.address not in report.doc["maskedSources"]


@pytest.mark.parametrize("garbage", ["shifted", "out_of_field"])
def test_participant_sending_garbage_shares_is_named_and_the_round_completes(
    honest_after: Simulation, garbage: str
) -> None:
    sim = honest_after
    cheater = turn(sim.participants[3], GarbageSharesParticipant, garbage=garbage)

    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    # Its own masked input is fine, so it survives; its lies are on record.
    assert result.survivors == N
    report = sim.coordinator.report(result.round_id)
    assert report is not None
    cheaters = report.doc["cheaters"]
    assert set(cheaters) == {cheater.address}
    assert "share" in cheaters[cheater.address]
    result_cheaters = sim.coordinator.result()
    assert result_cheaters is not None and set(result_cheaters.cheaters) == {cheater.address}


def test_fewer_than_t_honest_shares_fail_the_round_on_chain_with_the_reason(
    honest_after: Simulation,
) -> None:
    sim = honest_after
    # 4 of 6 cheat: every secret has at most 2 honest holders among its 4 neighbours, t = 3.
    # Each garbled share gets its own random offset: with one common offset ("shifted"), an
    # honest share at x = x1 + x2 plus two cheaters' shares at x1, x2 interpolates back to
    # the secret (their Lagrange weights at 0 sum to 0), so the round could still finalize.
    for p in sim.participants[:4]:
        turn(p, GarbageSharesParticipant, garbage="random_offset")

    result = sim.run_round()

    assert result.outcome == "failed"
    assert result.reason == "unreconstructable_secret"
    events = fetch_events(sim.chain, sim.contracts.round_log.address, names=["RoundFailed"])
    reasons = {int(e.args["round"]): str(e.args["reason"]) for e in events}
    assert reasons[result.round_id] == "unreconstructable_secret"
    assert sim.contracts.round_log.get_round(result.round_id).stage == Stage.FAILED


def test_the_next_round_after_the_bad_ones_finalizes_and_verifies(
    honest_after: Simulation,
) -> None:
    result = honest_after.run_round()
    assert result.outcome == "finalized" and result.verified is True
    assert result.survivors == N
