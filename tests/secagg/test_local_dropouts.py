"""Signed local-dropout reports: a round with a garbage-share sender finalizes and verifies,
and an aggregator can neither invent, move nor hide a report."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from eth_account import Account

from fedledger.encoding import sha256
from fedledger.errors import ProtocolError
from fedledger.secagg import SimulationResult, simulate_round, verify_round
from fedledger.secagg.messages import LocalDropouts, Reveal, Roster

pytestmark = pytest.mark.adversarial


def _garbage_round(params, account_pool, make_updates, seed: int = 5) -> SimulationResult:
    rng = np.random.default_rng(seed)
    n = 7  # k = 6: the complete graph, so 1 and 3 are neighbours
    return simulate_round(
        make_updates(rng, n, 4), params=params, accounts=account_pool[:n], garbage_shares=[(1, 3)]
    )


def _with_reports(sim: SimulationResult, reports: dict[str, LocalDropouts]):
    """The transcript with the reveal's reports replaced (and the reveal hash to match, as an
    aggregator posting its own reveal would do)."""
    reveal = replace(Reveal.from_bytes(sim.transcript.reveal), local_dropouts=reports)
    blob = reveal.to_bytes()
    return replace(sim.transcript, reveal=blob, reveal_hash=sha256(blob))


def test_round_with_a_garbage_share_sender_verifies(params, account_pool, make_updates):
    sim = _garbage_round(params, account_pool, make_updates)
    cheat, victim = sim.addresses[1], sim.addresses[3]

    report = verify_round(sim.transcript)

    assert report.ok, report.failed
    assert sim.result.reveal.local_dropouts[victim].dropouts == (cheat,)
    assert set(sim.result.reveal.local_dropouts) >= set(sim.result.survivors)


def test_reveal_round_trips_the_signed_reports(params, account_pool, make_updates):
    sim = _garbage_round(params, account_pool, make_updates)

    parsed = Reveal.from_bytes(sim.result.reveal_blob)

    assert parsed.local_dropouts == sim.result.reveal.local_dropouts
    assert parsed.to_bytes() == sim.result.reveal_blob


def test_report_invented_by_the_aggregator_fails_local_dropouts(params, account_pool, make_updates):
    sim = _garbage_round(params, account_pool, make_updates)
    reports = dict(sim.result.reveal.local_dropouts)
    victim = sim.addresses[3]
    # The aggregator signs "victim masked with nobody" with its own key.
    forged = LocalDropouts(victim, reports[victim].masked_hash, ()).signed(
        sim.clients[victim].ctx, Account.create().key
    )

    report = verify_round(_with_reports(sim, {**reports, victim: forged}))

    assert "local_dropouts" in report.failed
    assert "signature recovers to" in str(report.check("local_dropouts").found[victim])
    assert "aggregate_recomputed" in report.failed  # cannot run on a forged report


def test_report_moved_to_another_masked_vector_fails(params, account_pool, make_updates):
    sim = _garbage_round(params, account_pool, make_updates)
    reports = dict(sim.result.reveal.local_dropouts)
    a, b = sorted(sim.result.survivors)[:2]

    report = verify_round(_with_reports(sim, {**reports, a: reports[b]}))

    assert "local_dropouts" in report.failed
    # published under a, the report names a as sender: its hash and signature no longer fit
    assert report.check("local_dropouts").found[a] == (
        "report is for another masked vector than the committed one"
    )


def test_hiding_a_survivors_report_fails_self_mask_seeds(params, account_pool, make_updates):
    sim = _garbage_round(params, account_pool, make_updates)
    reports = dict(sim.result.reveal.local_dropouts)
    victim = sim.addresses[3]
    del reports[victim]  # "the victim masked with everyone": its commitment says otherwise

    report = verify_round(_with_reports(sim, reports))

    assert "local_dropouts" not in report.failed
    assert list(report.check("self_mask_seeds").found) == [victim]


def test_an_empty_report_leaves_the_seed_commitment_as_before(ctx, params, account_pool):
    from fedledger.secagg.commitments import seed_commitment

    sim = simulate_round([(np.zeros(2), 10)] * 4, params=params, accounts=account_pool[:4], ctx=ctx)
    u = sim.result.survivors[0]

    assert sim.result.reveal.local_dropouts[u].dropouts == ()
    assert sim.transcript.commitments[u].seed_commitment == seed_commitment(
        sim.result.reveal.self_mask_seeds[u], ctx.round_id, u
    )


def test_report_naming_a_survivor_fails_local_dropouts(params, account_pool, make_updates):
    sim = _garbage_round(params, account_pool, make_updates)
    reports = dict(sim.result.reveal.local_dropouts)
    a, b = sorted(sim.result.survivors)[:2]
    ctx = sim.clients[a].ctx
    lying = LocalDropouts(a, reports[a].masked_hash, (b,)).signed(ctx, sim.clients[a]._account.key)

    report = verify_round(_with_reports(sim, {**reports, a: lying}))

    assert report.check("local_dropouts").found[a] == f"names survivor {b} as a dropout"


def test_server_refuses_a_report_not_signed_by_its_sender(ctx, params, account_pool):
    from fedledger.secagg import Commitment, SecAggClient, SecAggServer, quantize

    accounts = account_pool[:4]
    server = SecAggServer(ctx, params, seed=b"\x01" * 32, vector_length=3)
    clients = [SecAggClient(ctx, params, a, vector_length=3) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, b"\x01" * 32))
    inbox = server.close_share_keys()
    c = clients[0]
    msg = c.masked_input(quantize(np.zeros(2), 10, params), inbox[c.address])
    forged = LocalDropouts(c.address, msg.masked_hash, ()).signed(ctx, Account.create().key)
    commitment = Commitment(msg.masked_hash, msg.seed_commitment, 10)

    with pytest.raises(ProtocolError, match=r"\[masked_input\] dropouts"):
        server.add_masked_input(c.address, msg.vector, commitment, dropouts=forged)


# -- share accusations (protocol 4.6): provable, and only provable ones are published --------


def test_the_reveal_carries_the_victims_provable_accusation_of_the_garbage_sender(
    params, account_pool, make_updates
):
    from fedledger.secagg.blame import judge_accusation

    sim = _garbage_round(params, account_pool, make_updates)
    cheat, victim = sim.addresses[1], sim.addresses[3]
    reveal = Reveal.from_bytes(sim.transcript.reveal)

    [accusation] = reveal.local_dropouts[victim].accusations
    verdict = judge_accusation(reveal.ctx, Roster.from_bytes(sim.transcript.roster), accusation)

    assert (accusation.accuser, accusation.accused) == (victim, cheat)
    assert verdict.faulty == cheat and verdict.sender_at_fault


def _with_broken_proof(report: LocalDropouts) -> LocalDropouts:
    [accusation] = report.accusations
    proof = bytes(32) + accusation.proof[32:]  # K = 0...: not a point the proof verifies
    return replace(report, accusations=(replace(accusation, proof=proof),))


def test_an_accusation_that_proves_nothing_fails_local_dropouts(params, account_pool, make_updates):
    sim = _garbage_round(params, account_pool, make_updates)
    victim = sim.addresses[3]
    reports = dict(sim.result.reveal.local_dropouts)
    reports[victim] = _with_broken_proof(reports[victim])  # the report's signature still holds

    report = verify_round(_with_reports(sim, reports))

    assert "local_dropouts" in report.failed
    assert "proves nothing" in report.check("local_dropouts").found[victim]


def test_server_refuses_a_report_with_an_accusation_that_proves_nothing(ctx, params, account_pool):
    from fedledger.secagg import Commitment, SecAggClient, SecAggServer, quantize
    from fedledger.secagg.messages import EncryptedShare

    accounts = account_pool[:5]
    server = SecAggServer(ctx, params, seed=b"\x02" * 32, vector_length=3)
    clients = [SecAggClient(ctx, params, a, vector_length=3) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, b"\x02" * 32))
    inbox = server.close_share_keys()
    me, cheat = clients[0], accounts[1]
    garbage = [
        EncryptedShare(s.sender, s.recipient, bytes(len(s.ciphertext))).signed(ctx, cheat.key)
        if s.sender == cheat.address
        else s
        for s in inbox[me.address]
    ]
    msg = me.masked_input(quantize(np.zeros(2), 10, params), garbage)
    assert msg.dropouts is not None
    commitment = Commitment(msg.masked_hash, msg.seed_commitment, 10)

    with pytest.raises(ProtocolError, match=r"\[masked_input\] proof: accusation by"):
        server.add_masked_input(
            me.address, msg.vector, commitment, dropouts=_with_broken_proof(msg.dropouts)
        )
    server.add_masked_input(me.address, msg.vector, commitment, dropouts=msg.dropouts)
