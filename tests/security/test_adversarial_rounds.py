"""Issue 11's attacks run for real through the round coordinator (RoundCoordinator and real
Participants on eth-tester): a withheld inbox, a low-order key, garbage share ciphertexts, a
lying unmask request. Each asserts the defense, that nothing crashes, and that the honest
participants' round finalizes and passes the full audit (chain checks + verify_round)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from fedledger.audit.verify import AuditReport, verify_round_from_chain
from fedledger.chain import fetch_events
from fedledger.node.participant import Participant
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.constants import MASKED_INPUT
from fedledger.secagg.messages import Reveal, UnmaskRequest
from fedledger.sim.simulation import Simulation
from fedledger.store import FilesystemBlobStore
from tests.support.bad_participants import (
    FalseAccuser,
    GarbageShareSender,
    LowOrderKeyParticipant,
    turn,
)
from tests.support.security import N, small_sim

pytestmark = pytest.mark.adversarial


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    s = small_sim(Path(tmp_path_factory.mktemp("adversarial-rounds")) / "sim")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def clean(sim: Simulation, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulation]:
    """Every participant is honest again after the test (the coordinator patches go with
    monkeypatch)."""
    try:
        yield sim
    finally:
        for p in sim.participants:
            p.__class__ = Participant
            p.dropout = {}


def _report(sim: Simulation, round_id: int, receipts: Sequence[Receipt] = ()) -> AuditReport:
    assert isinstance(sim.store, FilesystemBlobStore)
    return verify_round_from_chain(
        sim.chain,
        sim.deployment,
        str(sim.store.root),
        round_id,
        contracts=sim.contracts,
        receipts=receipts,
    )


def _audit(sim: Simulation, round_id: int, receipts: Sequence[Receipt] = ()) -> list[str]:
    return [c.name for c in _report(sim, round_id, receipts).checks if not c.passed]


def _reveal(sim: Simulation, round_id: int) -> Reveal:
    info = sim.contracts.round_log.get_round(round_id)
    return Reveal.from_bytes(sim.store.get(info.reveal_hash.hex()))


def _committers(sim: Simulation, round_id: int) -> set[str]:
    events = fetch_events(
        sim.chain, sim.contracts.round_log.address, from_block=0, names=["UpdateCommitted"]
    )
    return {e.args["participant"] for e in events if int(e.args["round"]) == round_id}


def test_withheld_inbox_victim_refuses_to_mask_and_the_rest_finalize(
    clean: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = clean
    victim = sim.participants[0]
    real = sim.coordinator.shares_for

    def withhold(address: str):  # the aggregator answers the victim with an empty inbox
        return [] if address == victim.address else real(address)

    monkeypatch.setattr(sim.coordinator, "shares_for", withhold)

    result = sim.run_round()

    rec = victim.rounds[result.round_id]
    assert rec.left_out.startswith("refused to mask: [masked_input] shares: valid shares from 0")
    # It never uploaded or committed y, so no later reveal can unmask anything of its update.
    assert victim.address not in _committers(sim, result.round_id)
    assert result.outcome == "finalized", result.reason
    assert result.survivors == N - 1 and victim.address in result.dropped
    assert victim.address not in _reveal(sim, result.round_id).self_mask_seeds
    assert result.verified is True, result.failed_checks
    assert _audit(sim, result.round_id) == []


def test_low_order_key_is_excluded_with_the_reason_and_nobody_crashes(clean: Simulation) -> None:
    sim = clean
    bad = turn(sim.participants[1], LowOrderKeyParticipant, refusals=[])

    result = sim.run_round()

    why = "low-order X25519 public key (u = 0)"
    assert bad.refusals == [f"[advertise_keys] maskKey: {bad.address}: {why}"]
    assert result.outcome == "finalized", result.reason
    assert result.survivors == N - 1
    report = sim.coordinator.report(result.round_id)
    assert report is not None
    assert report.excluded_bundles == {bad.address: f"maskKey: {why}"}
    roster = sim.contracts.round_log.get_round(result.round_id).member_count
    assert roster == N - 1
    for p in sim.participants:
        if p is not bad:
            assert not p.rounds[result.round_id].left_out
    assert result.verified is True, result.failed_checks
    assert _audit(sim, result.round_id) == []


def test_garbage_share_sender_is_dropped_and_the_round_finalizes_and_verifies(
    clean: Simulation,
) -> None:
    sim = clean
    cheat = turn(sim.participants[2], GarbageShareSender)

    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert cheat.address in result.dropped and result.survivors == N - 1
    reveal = _reveal(sim, result.round_id)
    reporters = {a for a, r in reveal.local_dropouts.items() if cheat.address in r.dropouts}
    assert reporters  # its neighbours said so, each signing for its own committed blob
    assert cheat.address not in reveal.self_mask_seeds  # never both secrets of it
    assert cheat.address in _committers(sim, result.round_id)  # it did commit
    assert result.verified is True, result.failed_checks
    # Its masked input was receipted, yet leaving it out is the protocol (a signed report
    # names it): receipts_honoured does not call that censorship. The only failed check
    # is the one that proves the cheater at fault, by its own signed garbage.
    held = cheat.rounds[result.round_id].receipts
    assert any(r.stage == MASKED_INPUT for r in held)
    report = _report(sim, result.round_id, held)
    assert report.failed == ["share_accusations"]
    assert set(report.check("share_accusations").found) == {cheat.address}
    assert all(
        a.accused == cheat.address for r in reveal.local_dropouts.values() for a in r.accusations
    )


def test_a_false_share_accusation_names_the_accuser_and_the_round_finalizes(
    clean: Simulation,
) -> None:
    sim = clean
    liar = turn(sim.participants[2], FalseAccuser)

    result = sim.run_round()

    assert result.outcome == "finalized", result.reason
    assert isinstance(liar, FalseAccuser) and liar.victim is not None
    assert liar.victim in result.dropped  # the lie cost the victim this round's update...
    assert result.verified is True, result.failed_checks
    report = _report(sim, result.round_id)
    assert report.failed == ["share_accusations"]  # ...and the audit names the liar for it
    found = report.check("share_accusations").found
    assert set(found) == {liar.address} and "falsely accused" in found[liar.address]


def test_lying_unmask_request_is_refused_and_the_round_still_verifies(
    clean: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = clean
    target = sim.participants[3]
    real = sim.coordinator.unmask_request_for
    lied_about: list[str] = []

    def lie(address: str) -> UnmaskRequest:
        request = real(address)
        if address != target.address:
            return request
        # Call one committed neighbour of the target "dropped": its s^SK share on top of the
        # b shares the others give would unmask that neighbour's update.
        client = target._client
        assert client is not None
        victim = next(v for v in sorted(client.masked_with) if v in request.survivors)
        lied_about.append(victim)
        return UnmaskRequest(
            tuple(a for a in request.survivors if a != victim), (*request.dropped, victim)
        )

    monkeypatch.setattr(sim.coordinator, "unmask_request_for", lie)

    result = sim.run_round()

    rec = target.rounds[result.round_id]
    assert rec.left_out.startswith("refused to unmask: [unmask] survivors: ")
    assert lied_about and lied_about[0] in rec.left_out
    reveal = _reveal(sim, result.round_id)
    assert target.address not in reveal.unmask_responses  # it revealed nothing
    assert lied_about[0] in reveal.survivors and lied_about[0] not in reveal.mask_keys
    assert result.outcome == "finalized", result.reason
    assert result.verified is True, result.failed_checks
    assert _audit(sim, result.round_id) == []
