"""Signed unmask responses and bad-share evidence in the reveal: what verify_round proves."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from fedledger.encoding import sha256
from fedledger.errors import ProtocolError
from fedledger.secagg import (
    Commitment,
    SecAggClient,
    SecAggParams,
    SecAggServer,
    UnmaskResponse,
    quantize,
    simulate_round,
    verify_round,
)
from fedledger.secagg.messages import SELF_MASK_SEED, BadShare, Reveal, Roster
from fedledger.secagg.server import needed_holders
from fedledger.secagg.verify import check_bad_share

PARAMS = SecAggParams(neighbours=7, threshold=3, clip_range=1.0, quant_bits=12, max_weight=50)


def _with_reveal(transcript, reveal: Reveal):
    blob = reveal.to_bytes()
    return dataclasses.replace(transcript, reveal=blob, reveal_hash=sha256(blob))


@pytest.fixture(scope="module")
def cheating_round(account_pool):
    rng = np.random.default_rng(3)
    updates = [(rng.uniform(-1, 1, 6), 10 + i) for i in range(8)]
    return simulate_round(
        updates,
        params=PARAMS,
        accounts=account_pool[:8],
        dropout={"masked_input": {4}},
        bad_shares={0},
    )


def test_an_honest_round_publishes_every_signed_response_and_no_accusation(
    account_pool, make_updates
):
    sim = simulate_round(
        make_updates(np.random.default_rng(1), 6, 4), params=PARAMS, accounts=account_pool[:6]
    )

    reveal = sim.result.reveal
    assert reveal.responders == list(sim.result.survivors) and not reveal.bad_shares
    report = verify_round(sim.transcript)
    assert report.ok, report.failed
    assert report.check("unmask_responses").found == "6 responders"


def test_a_bad_share_sender_is_listed_with_checkable_evidence(cheating_round):
    sim = cheating_round
    cheater = sim.addresses[0]
    reveal = Reveal.from_bytes(sim.transcript.reveal)
    signed_roster = Roster.from_bytes(sim.transcript.roster)
    accusations = reveal.bad_shares[cheater]
    assert set(reveal.bad_shares) == {cheater} == set(sim.result.cheaters)
    assert len(accusations) == len(reveal.unmask_responses[cheater].self_mask_shares) + len(
        reveal.unmask_responses[cheater].mask_key_shares
    )
    for e in accusations:
        assert len(e.witnesses) == PARAMS.threshold and cheater not in e.witnesses
        assert (
            check_bad_share(reveal, signed_roster, PARAMS.threshold, cheater, e.owner, e.secret)
            == ""
        )
    report = verify_round(sim.transcript)
    assert report.ok, report.failed


def test_accusing_an_honest_responder_fails_slash_evidence(cheating_round):
    sim = cheating_round
    reveal = Reveal.from_bytes(sim.transcript.reveal)
    honest = sim.addresses[1]
    owner = next(iter(reveal.unmask_responses[honest].self_mask_shares))
    witnesses = tuple(
        r
        for r, resp in reveal.unmask_responses.items()
        if r not in (honest, sim.addresses[0]) and owner in resp.self_mask_shares
    )[: PARAMS.threshold]
    forged = dataclasses.replace(
        reveal,
        bad_shares={**reveal.bad_shares, honest: (BadShare(owner, SELF_MASK_SEED, witnesses),)},
    )

    report = verify_round(_with_reveal(sim.transcript, forged))

    assert report.failed == ["slash_evidence"]
    problems = report.check("slash_evidence").found
    assert "lies on the witnesses' polynomial" in problems[f"{honest}/{owner}/{SELF_MASK_SEED}"]


def test_hiding_an_accusation_fails_slash_evidence(cheating_round):
    sim = cheating_round
    reveal = Reveal.from_bytes(sim.transcript.reveal)

    report = verify_round(_with_reveal(sim.transcript, dataclasses.replace(reveal, bad_shares={})))

    assert report.failed == ["slash_evidence"]
    assert "do not all lie on one polynomial" in str(report.check("slash_evidence").found)


def test_a_published_share_changed_after_signing_fails_unmask_responses(cheating_round):
    sim = cheating_round
    reveal = Reveal.from_bytes(sim.transcript.reveal)
    honest = sim.addresses[2]
    resp = reveal.unmask_responses[honest]
    owner = next(iter(resp.self_mask_shares))
    altered = UnmaskResponse(
        honest,
        {**resp.self_mask_shares, owner: bytes(33)},
        resp.mask_key_shares,
        resp.signature,
    )
    forged = dataclasses.replace(
        reveal, unmask_responses={**reveal.unmask_responses, honest: altered}
    )

    report = verify_round(_with_reveal(sim.transcript, forged))

    assert "unmask_responses" in report.failed
    assert "signature recovers to" in report.check("unmask_responses").found[honest]


def test_the_server_refuses_an_unsigned_or_foreign_signed_response(ctx, account_pool):
    params = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=8, max_weight=10)
    server, clients = _through_masked_input(ctx, params, account_pool[:5])
    request = server.close_masked_input()
    response = clients[0].unmask(request)
    unsigned = UnmaskResponse(response.sender, response.self_mask_shares, response.mask_key_shares)
    with pytest.raises(ProtocolError, match=r"\[unmask\] signature"):
        server.add_unmask(unsigned)
    foreign = unsigned.signed(ctx, account_pool[1].key)
    with pytest.raises(ProtocolError, match=r"\[unmask\] signature"):
        server.add_unmask(foreign)
    server.add_unmask(response)  # the genuine one is still accepted


def test_a_share_outside_the_field_is_blamed_with_evidence(ctx, account_pool):
    params = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=8, max_weight=10)
    server, clients = _through_masked_input(ctx, params, account_pool[:5])
    request = server.close_masked_input()
    for c in clients:
        response = c.unmask(request)
        if c is clients[0]:
            response = UnmaskResponse(
                c.address, {a: b"\xff" * 33 for a in response.self_mask_shares}, {}
            ).signed(ctx, account_pool[0].key)
        server.add_unmask(response)

    result = server.close_unmask()

    assert set(result.cheaters) == {clients[0].address}
    roster = Roster.from_bytes(server.roster.to_bytes())
    for e in result.reveal.bad_shares[clients[0].address]:
        assert (
            check_bad_share(result.reveal, roster, 2, clients[0].address, e.owner, e.secret) == ""
        )


def test_needed_holders_are_survivors_next_to_a_reconstructed_secret():
    neighbours = {"A": ["B", "C"], "B": ["A", "D"], "C": ["A", "E"], "D": ["B"], "E": ["C"]}
    # Survivors A, B, E; C dropped with its key revealed; D dropped, key not revealed.
    assert needed_holders(neighbours, ["A", "B", "E"], ["C"]) == ["A", "B", "E"]
    # Without C's key, E holds shares only of C and nothing of E's neighbours is reconstructed.
    assert needed_holders(neighbours, ["A", "B", "E"], []) == ["A", "B"]


def _through_masked_input(ctx, params, accounts, *, length=5):
    seed = os.urandom(32)
    server = SecAggServer(ctx, params, seed=seed, vector_length=length)
    clients = [SecAggClient(ctx, params, a, vector_length=length) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    rng = np.random.default_rng(1)
    for c in clients:
        msg = c.masked_input(quantize(rng.uniform(-1, 1, length - 1), 10, params), inbox[c.address])
        commitment = Commitment(msg.masked_hash, msg.seed_commitment, 10)
        server.add_masked_input(c.address, msg.vector, commitment, dropouts=msg.dropouts)
    return server, clients
