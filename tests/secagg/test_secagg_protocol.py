"""Client/server protocol rules: message checks, dropout handling, aborts and blame."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fedledger.encoding import sha256
from fedledger.errors import ProtocolError
from fedledger.secagg import (
    Commitment,
    EncryptedShare,
    KeyBundle,
    RoundAborted,
    SecAggClient,
    SecAggParams,
    SecAggServer,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
    quantize,
    simulate_round,
)
from fedledger.secagg.client import TooFewSharers


def _round(ctx, params, accounts, *, seed=None, length=5):
    seed = seed or os.urandom(32)
    server = SecAggServer(ctx, params, seed=seed, vector_length=length)
    clients = [SecAggClient(ctx, params, a, vector_length=length) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    return server, clients, roster, seed


def _through_masked_input(ctx, params, accounts, *, length=5):
    server, clients, roster, seed = _round(ctx, params, accounts, length=length)
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    rng = np.random.default_rng(1)
    for c in clients:
        x = quantize(rng.uniform(-1, 1, length - 1), 10, params)
        msg = c.masked_input(x, inbox[c.address])
        commitment = Commitment(msg.masked_hash, msg.seed_commitment, 10)
        server.add_masked_input(c.address, msg.vector, commitment, dropouts=msg.dropouts)
    return server, clients


def test_unmask_request_never_names_a_participant_twice(ctx, params, account_pool, make_updates):
    rng = np.random.default_rng(0)
    sim = simulate_round(
        make_updates(rng, 10, 4),
        params=params,
        accounts=account_pool[:10],
        dropout={"masked_input": {0, 1}},
    )
    r = sim.result
    assert set(r.survivors).isdisjoint(r.dropped)
    assert set(r.reveal.self_mask_seeds) == set(r.survivors)
    assert set(r.reveal.mask_keys) <= set(r.dropped)
    assert set(r.reveal.self_mask_seeds).isdisjoint(r.reveal.mask_keys)


def test_a_request_for_both_secrets_of_one_participant_cannot_be_built():
    a = "0x" + "11" * 20
    with pytest.raises(ProtocolError, match="both a survivor and dropped"):
        UnmaskRequest((a,), (a,))
    with pytest.raises(ProtocolError, match="both secrets"):
        UnmaskResponse("0x" + "22" * 20, {a: b"\x00" * 33}, {a: b"\x00" * 33})


def test_too_few_responders_abort_with_a_named_reason(ctx, account_pool, make_updates):
    params = SecAggParams(neighbours=5, threshold=4, clip_range=1.0, quant_bits=8, max_weight=10)
    rng = np.random.default_rng(0)
    with pytest.raises(RoundAborted) as info:
        simulate_round(
            make_updates(rng, 6, 3),
            params=params,
            accounts=account_pool[:6],
            dropout={"unmask": {0, 1, 2}},
        )
    assert info.value.reason == "too_few_shares"
    assert "need threshold 4" in str(info.value)


def test_a_responder_with_bad_shares_is_blamed_and_the_round_completes(
    ctx, account_pool, make_updates
):
    params = SecAggParams(neighbours=7, threshold=3, clip_range=1.0, quant_bits=12, max_weight=50)
    rng = np.random.default_rng(3)
    updates = make_updates(rng, 8, 6)
    sim = simulate_round(
        updates,
        params=params,
        accounts=account_pool[:8],
        dropout={"masked_input": {4}},
        bad_shares={0, 1},
    )
    assert set(sim.result.cheaters) == {sim.addresses[0], sim.addresses[1]}
    expected = sum(sim.quantized[u].astype(np.uint64) for u in sim.result.survivors) % 2**32
    assert np.array_equal(sim.result.aggregate, expected.astype(np.uint32))


def test_fewer_than_t_honest_shares_abort_as_unreconstructable(ctx, account_pool, make_updates):
    params = SecAggParams(neighbours=3, threshold=3, clip_range=1.0, quant_bits=8, max_weight=10)
    rng = np.random.default_rng(0)
    with pytest.raises(RoundAborted) as info:
        simulate_round(
            make_updates(rng, 4, 2), params=params, accounts=account_pool[:4], bad_shares={0}
        )
    assert info.value.reason == "unreconstructable_secret"


def test_threshold_above_the_graph_degree_aborts_at_advertise(ctx, account_pool, make_updates):
    params = SecAggParams(neighbours=6, threshold=5, clip_range=1.0, quant_bits=8, max_weight=10)
    rng = np.random.default_rng(0)
    with pytest.raises(RoundAborted) as info:
        simulate_round(make_updates(rng, 4, 2), params=params, accounts=account_pool[:4])
    assert info.value.reason == "threshold_above_degree"


def test_server_refuses_forged_repeated_and_foreign_bundles(ctx, params, account_pool):
    from fedledger.secagg import RoundContext

    server = SecAggServer(ctx, params, seed=os.urandom(32), vector_length=3)
    c = SecAggClient(ctx, params, account_pool[0], vector_length=3)
    bundle = c.advertise_keys()
    server.add_bundle(bundle)
    with pytest.raises(ProtocolError, match="already advertised"):
        server.add_bundle(bundle)
    other = RoundContext(ctx.chain_id, ctx.contract, ctx.round_id + 1)
    foreign = SecAggClient(other, params, account_pool[1], vector_length=3).advertise_keys()
    with pytest.raises(ProtocolError, match=r"\[advertise_keys\] round"):
        server.add_bundle(foreign)
    forged = KeyBundle(
        ctx.round_id, account_pool[2].address, os.urandom(32), os.urandom(32), bundle.signature
    )
    with pytest.raises(ProtocolError, match=r"\[advertise_keys\] signature"):
        server.add_bundle(forged)


def test_server_refuses_shares_that_skip_a_neighbour(ctx, params, account_pool):
    server, clients, roster, seed = _round(ctx, params, account_pool[:8])
    msg = clients[0].share_keys(roster, seed)
    partial = ShareKeysMessage(msg.sender, msg.shares[1:])
    with pytest.raises(ProtocolError, match=r"\[share_keys\] shares"):
        server.add_shares(partial)


def test_server_refuses_a_blob_that_does_not_match_its_commitment(ctx, params, account_pool):
    server, clients, roster, seed = _round(ctx, params, account_pool[:4], length=3)
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    c = clients[0]
    msg = c.masked_input(np.zeros(3, dtype=np.uint32), inbox[c.address])
    with pytest.raises(ProtocolError, match=r"\[masked_input\] vector"):
        server.add_masked_input(
            c.address, msg.vector, Commitment(sha256(b"other"), msg.seed_commitment, 1)
        )


def test_server_refuses_unrequested_shares(ctx, params, account_pool):
    server, clients = _through_masked_input(ctx, params, account_pool[:5])
    request = server.close_masked_input()
    response = clients[0].unmask(request)
    owner = next(iter(response.self_mask_shares))
    sneaky = UnmaskResponse(response.sender, {}, {owner: response.self_mask_shares[owner]})
    with pytest.raises(ProtocolError, match=r"\[unmask\] maskKeyShares"):
        server.add_unmask(sneaky)


def test_unmask_response_owners_are_checksummed_once_at_construction():
    owner = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    share = bytes(33)
    lower = UnmaskResponse("0x" + "11" * 20, {owner.lower(): share}, {})
    assert list(lower.self_mask_shares) == [owner]
    assert lower.shares_hash() == UnmaskResponse("0x" + "11" * 20, {owner: share}, {}).shares_hash()
    with pytest.raises(ProtocolError, match=r"\[unmask\] selfMaskShares.*twice"):
        UnmaskResponse("0x" + "11" * 20, {owner: share, owner.lower(): share}, {})
    with pytest.raises(ProtocolError, match=r"\[unmask\] maskKeyShares.*both"):
        UnmaskResponse("0x" + "11" * 20, {owner: share}, {owner.lower(): share})


def test_client_refuses_out_of_order_calls(ctx, params, account_pool):
    c = SecAggClient(ctx, params, account_pool[0], vector_length=3)
    with pytest.raises(ProtocolError, match="out of order"):
        c.unmask(UnmaskRequest((), ()))


def test_client_detects_its_own_bundle_being_replaced(ctx, params, account_pool):
    from fedledger.secagg import Roster

    _, clients, roster, seed = _round(ctx, params, account_pool[:4])
    victim = clients[0]
    fake = SecAggClient(ctx, params, account_pool[0], vector_length=5).advertise_keys()
    bundles = [fake if b.participant == victim.address else b for b in roster.bundles]
    with pytest.raises(ProtocolError, match="replaced"):
        victim.share_keys(Roster.build(ctx, bundles), seed)


def test_client_drops_a_share_ciphertext_bound_to_someone_else(ctx, params, account_pool):
    server, clients, roster, seed = _round(ctx, params, account_pool[:4])
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    me = clients[0]
    shares = list(inbox[me.address])
    # Re-label a share from neighbour B as coming from neighbour C: the AAD no longer matches.
    s0, s1 = shares[0], shares[1]
    shares[0] = EncryptedShare(s1.sender, s0.recipient, s0.ciphertext)
    shares[1] = EncryptedShare(s0.sender, s1.recipient, s1.ciphertext)
    # Both relabelled senders become dropouts with evidence; 1 valid sharer < t = 3 is left.
    with pytest.raises(TooFewSharers, match=r"\[masked_input\] shares: valid shares from 1 "):
        me.masked_input(np.zeros(5, dtype=np.uint32), shares)
    assert {e.sender for e in me.bad_shares} == {s0.sender, s1.sender}
    # The aggregator cannot sign for the senders: the signature check catches it first.
    assert all(e.reason == "signature: not signed by its sender" for e in me.bad_shares)


def test_a_sender_signing_another_pairs_ciphertext_fails_the_aad_binding(ctx, params, account_pool):
    server, clients, roster, seed = _round(ctx, params, account_pool[:4])
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    me, by_address = clients[0], {c.address: c for c in clients}
    shares = list(inbox[me.address])
    s0, s1 = shares[0], shares[1]
    # Each sender signs the other's ciphertext as its own: the AAD no longer matches.
    shares[0] = EncryptedShare(s1.sender, s0.recipient, s0.ciphertext).signed(
        ctx, by_address[s1.sender]._account.key
    )
    shares[1] = EncryptedShare(s0.sender, s1.recipient, s1.ciphertext).signed(
        ctx, by_address[s0.sender]._account.key
    )
    with pytest.raises(TooFewSharers, match=r"\[masked_input\] shares: valid shares from 1 "):
        me.masked_input(np.zeros(5, dtype=np.uint32), shares)
    assert {e.sender for e in me.bad_shares} == {s0.sender, s1.sender}
    assert all(e.reason.startswith("ciphertext: authentication failed") for e in me.bad_shares)


def test_client_refuses_an_unmask_request_that_omits_a_sharing_neighbour(ctx, params, account_pool):
    server, clients = _through_masked_input(ctx, params, account_pool[:4])
    request = server.close_masked_input()
    me = clients[0]
    others = tuple(a for a in request.survivors if a != me.address)
    with pytest.raises(ProtocolError, match="neither list"):
        me.unmask(UnmaskRequest((me.address, *others[1:]), ()))


def test_blame_picks_the_polynomial_most_shares_agree_with():
    from fedledger.secagg.crypto import shamir
    from fedledger.secagg.server import reconstruct_secret

    secret = os.urandom(32)
    xs = [1, 2, 3, 4, 5, 6]
    ys = shamir.share(secret, xs, 3)
    # Shifting the shares at x=1 and x=2 by one keeps f(0): Lagrange weights of {1,2,3}
    # at 0 for x=1,2 sum to zero, so the first t shares alone would blame honest ones.
    points = {
        f"r{x}": (x, (y + (1 if x in (1, 2) else 0)) % shamir.PRIME)
        for x, y in zip(xs, ys, strict=True)
    }
    got, blamed = reconstruct_secret(points, 3, lambda s: s == secret, what="test secret")
    assert got == secret
    assert sorted(blamed) == ["r1", "r2"]
