"""Attacks on the secagg library run for real: withheld inbox, low-order keys, garbage shares,
and an aggregator that lies about who survived. Each test asserts the defense."""

from __future__ import annotations

import os

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from fedledger.errors import ProtocolError
from fedledger.secagg import (
    Commitment,
    EncryptedShare,
    KeyBundle,
    Roster,
    SecAggClient,
    SecAggParams,
    SecAggServer,
    TooFewSharers,
    UnmaskRequest,
    UnmaskRequestMismatch,
    UnusableKey,
    quantize,
    simulate_round,
    verify_round,
)
from fedledger.secagg import client as client_module
from fedledger.secagg.crypto import keys as keys_module
from fedledger.secagg.crypto import shamir
from fedledger.secagg.crypto.keys import (
    LOW_ORDER_POINTS,
    InvalidPublicKey,
    KeyPair,
    check_public_key,
    x25519,
)
from fedledger.secagg.crypto.symmetric import encrypt, share_aad
from fedledger.secagg.graph import build_graph

pytestmark = pytest.mark.adversarial

P = 2**255 - 19
LENGTH = 5


def _le(u: int) -> bytes:
    return u.to_bytes(32, "little")


# Every small-subgroup point in canonical form, its non-canonical twins (u + p where that
# still fits in 255 bits, and every one with the ignored top bit set), and other values >= p.
_BAD_KEYS = (
    [(f"low-order u={u}", _le(u)) for u in sorted(LOW_ORDER_POINTS)]
    + [(f"non-canonical u+p={u}+p", _le(u + P)) for u in sorted(LOW_ORDER_POINTS) if u + P < 2**255]
    + [(f"top bit set on u={u}", _le(u | 1 << 255)) for u in sorted(LOW_ORDER_POINTS)]
    + [
        ("u = 2^255 - 1", _le(2**255 - 1)),
        ("top bit on a valid key", b"\x09" + bytes(30) + b"\x80"),
    ]
)


def _round(ctx, params, accounts, *, seed=None):
    seed = seed or os.urandom(32)
    server = SecAggServer(ctx, params, seed=seed, vector_length=LENGTH)
    clients = [SecAggClient(ctx, params, a, vector_length=LENGTH) for a in accounts]
    return server, clients, seed


def _finish(server, clients, inbox, params, *, rng=None):
    """Stages 3-5 for every client that has an inbox; returns (result, x by address)."""
    rng = rng or np.random.default_rng(3)
    xs = {}
    for c in clients:
        if c.address not in inbox:
            continue
        x = quantize(rng.uniform(-1, 1, LENGTH - 1), 10, params)
        msg = c.masked_input(x, inbox[c.address])
        xs[c.address] = x
        commitment = Commitment(msg.masked_hash, msg.seed_commitment, 10)
        server.add_masked_input(c.address, msg.vector, commitment, dropouts=msg.dropouts)
    request = server.close_masked_input()
    for c in clients:
        if c.address in request.survivors:
            server.add_unmask(c.unmask(request))
    return server.close_unmask(), xs


def _exact_sum(xs, survivors):
    total = np.zeros(len(next(iter(xs.values()))), dtype=np.uint64)
    for a in survivors:
        total += xs[a]
    return (total % 2**32).astype(np.uint32)


# -- attack 1: the aggregator withholds a victim's inbox ---------------------------------------


@pytest.mark.parametrize("delivered", [0, 1, 2])
def test_withheld_inbox_client_refuses_to_mask_and_never_produces_a_masked_vector(
    ctx, params, account_pool, monkeypatch, delivered
):
    server, clients, seed = _round(ctx, params, account_pool[:6])
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    victim = clients[0]
    produced: list[object] = []
    real_apply = client_module.apply_masks

    def spy(*args, **kwargs):
        produced.append(args)
        return real_apply(*args, **kwargs)

    monkeypatch.setattr("fedledger.secagg.client.apply_masks", spy)
    x = quantize(np.full(LENGTH - 1, 0.25), 10, params)

    # The attack of issue 11: fewer than t (= 3) of the victim's neighbours' shares delivered.
    with pytest.raises(TooFewSharers) as info:
        victim.masked_input(x, inbox[victim.address][:delivered])

    assert (info.value.valid, info.value.threshold) == (delivered, params.threshold)
    assert f"valid shares from {delivered} neighbours" in str(info.value)
    assert produced == []  # no y = x + PRG(b) was ever computed, so none can leak
    with pytest.raises(ProtocolError, match="out of order"):
        victim.unmask(UnmaskRequest((victim.address,), ()))  # and it reveals nothing later


def test_client_masks_with_exactly_threshold_valid_sharers(ctx, params, account_pool):
    server, clients, seed = _round(ctx, params, account_pool[:6])
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    me = clients[0]
    delivered = inbox[me.address][: params.threshold]

    msg = me.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), delivered)

    assert msg.sender == me.address
    assert me.masked_with == {e.sender for e in delivered}


# -- attack 3a: a signed bundle with a low-order or non-canonical key --------------------------


@pytest.mark.parametrize(("what", "bad"), _BAD_KEYS, ids=[w for w, _ in _BAD_KEYS])
def test_check_public_key_refuses_low_order_and_non_canonical_points(what, bad):
    with pytest.raises(InvalidPublicKey) as info:
        check_public_key(bad)
    assert ("low-order" in info.value.reason) or ("non-canonical" in info.value.reason)


@pytest.mark.parametrize("u", sorted(LOW_ORDER_POINTS))
def test_low_order_points_really_are_low_order(u):
    # cryptography refuses an all-zero shared secret: every listed point gives one.
    with pytest.raises(ValueError):
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(_le(u)))


def test_x25519_validates_the_peer_key_before_any_diffie_hellman(monkeypatch):
    mine, peer = KeyPair.generate(), KeyPair.generate()
    calls: list[bytes] = []

    class Spy:
        @staticmethod
        def from_private_bytes(raw):
            calls.append(raw)
            return X25519PrivateKey.from_private_bytes(raw)

    monkeypatch.setattr(keys_module, "X25519PrivateKey", Spy)
    with pytest.raises(InvalidPublicKey, match="low-order"):
        x25519(mine.private, bytes(32))
    assert calls == []
    x25519(mine.private, peer.public)
    assert len(calls) == 1  # the spy does see a real exchange


@pytest.mark.parametrize("field", ["channel_key", "mask_key"])
def test_signed_bundle_with_a_low_order_key_is_excluded_with_a_reason_and_the_round_completes(
    ctx, params, account_pool, field
):
    server, clients, seed = _round(ctx, params, account_pool[:6])
    attacker, honest = account_pool[6], clients
    keys = {"channel_key": KeyPair.generate().public, "mask_key": KeyPair.generate().public}
    keys[field] = bytes(32)
    bad = KeyBundle.create(ctx, attacker.key, attacker.address, **keys)

    assert bad.signer(ctx) == attacker.address  # properly signed: the fault is the attacker's
    assert bad.key_problem() == f"{'channelKey' if field == 'channel_key' else 'maskKey'}: " + (
        "low-order X25519 public key (u = 0)"
    )
    with pytest.raises(UnusableKey) as info:
        server.add_bundle(bad)  # what the coordinator records as the exclusion reason
    assert info.value.participant == attacker.address
    assert info.value.reason == bad.key_problem()

    for c in honest:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    assert attacker.address not in roster
    for c in honest:
        server.add_shares(c.share_keys(roster, seed))
    result, xs = _finish(server, honest, server.close_share_keys(), params)
    assert set(result.survivors) == {c.address for c in honest}
    assert np.array_equal(result.aggregate, _exact_sum(xs, result.survivors))


def test_client_refuses_a_roster_with_a_low_order_key_before_any_diffie_hellman(
    ctx, params, account_pool, monkeypatch
):
    # A malicious aggregator puts the bad bundle into the roster anyway.
    clients = [SecAggClient(ctx, params, a, vector_length=LENGTH) for a in account_pool[:4]]
    bundles = [c.advertise_keys() for c in clients]
    attacker = account_pool[4]
    bad = KeyBundle.create(
        ctx, attacker.key, attacker.address, channel_key=bytes(32), mask_key=_le(1)
    )

    def no_dh(*args, **kwargs):
        raise AssertionError("Diffie-Hellman attempted with an unvalidated key")

    monkeypatch.setattr("fedledger.secagg.client.pair_keys", no_dh)  # every DH of share_keys
    roster = Roster.build(ctx, [*bundles, bad])
    seed = os.urandom(32)  # 5 members, k = 6: everyone neighbours the attacker

    with pytest.raises(UnusableKey, match=r"\[advertise_keys\] channelKey: .*low-order"):
        clients[0].share_keys(roster, seed)


# -- attack 3b: garbage share ciphertexts and plaintexts ---------------------------------------


def test_garbage_share_makes_its_sender_a_dropout_with_evidence_and_the_sum_stays_exact(
    params, account_pool, make_updates
):
    rng = np.random.default_rng(5)
    n = 7  # k = 6: the complete graph, so 1 and 3 are neighbours
    sim = simulate_round(
        make_updates(rng, n, 4),
        params=params,
        accounts=account_pool[:n],
        garbage_shares=[(1, 3)],
    )
    r, cheat, victim = sim.result, sim.addresses[1], sim.clients[sim.addresses[3]]

    assert [e.sender for e in victim.bad_shares] == [cheat]
    evidence = victim.bad_shares[0]
    assert evidence.reason.startswith("ciphertext: authentication failed")
    assert len(evidence.ciphertext) == 12 + 2 * shamir.SHARE_BYTES + 16
    assert cheat in victim.local_dropouts
    # The cheater committed, but a committer did not mask with it: it is dropped, so only
    # its mask key is reconstructed, never its self-mask seed as well.
    assert cheat in r.dropped and cheat not in r.survivors
    assert cheat not in r.reveal.self_mask_seeds and cheat in r.reveal.mask_keys
    for resp in r.reveal.unmask_responses.values():
        assert cheat not in resp.self_mask_shares
    assert np.array_equal(r.aggregate, _exact_sum(sim.quantized, r.survivors))
    assert len(r.survivors) == n - 1


def test_participant_sending_garbage_to_every_neighbour_stops_nothing(
    params, account_pool, make_updates
):
    rng = np.random.default_rng(6)
    n = 7
    sim = simulate_round(
        make_updates(rng, n, 3),
        params=params,
        accounts=account_pool[:n],
        garbage_shares=[(2, j) for j in range(n) if j != 2],
    )
    r, cheat = sim.result, sim.addresses[2]

    assert cheat in r.dropped
    assert cheat not in r.reveal.mask_keys  # nobody masked with it: nothing to reconstruct
    assert np.array_equal(r.aggregate, _exact_sum(sim.quantized, r.survivors))
    assert len(r.survivors) == n - 1
    assert verify_round(sim.transcript).ok  # the signed reports let anyone recompute it


def test_share_that_decrypts_to_a_non_field_element_is_evidence_not_a_crash(
    ctx, params, account_pool
):
    server, clients, seed = _round(ctx, params, account_pool[:5])
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    messages = [c.share_keys(roster, seed) for c in clients]
    cheat, me = clients[1], clients[0]
    # The cheater encrypts properly under the real channel key, but shares >= p.
    key = cheat._channel_keys[me.address]
    aad = share_aad(**ctx.fields(), sender=cheat.address, recipient=me.address)
    forged = EncryptedShare(cheat.address, me.address, encrypt(key, b"\xff" * 66, aad)).signed(
        ctx, cheat._account.key
    )
    inbox = [s for m in messages for s in m.shares if s.recipient == me.address]
    inbox = [forged if s.sender == cheat.address else s for s in inbox]

    me.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), inbox)

    assert [(e.sender, e.ciphertext) for e in me.bad_shares] == [(cheat.address, forged.ciphertext)]
    assert me.bad_shares[0].reason == "plaintext: share value is not a field element (>= p)"
    assert me.masked_with == {c.address for c in clients[2:]}


# -- unmask decisions from public facts (the aggregator lies about who survived) ---------------


def _through_masked_input(ctx, params, accounts, *, silent=()):
    server, clients, seed = _round(ctx, params, accounts)
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    committed = set()
    for i, c in enumerate(clients):
        msg = c.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), inbox[c.address])
        if i in silent:
            continue
        committed.add(c.address)
        commitment = Commitment(msg.masked_hash, msg.seed_commitment, 10)
        server.add_masked_input(c.address, msg.vector, commitment, dropouts=msg.dropouts)
    return server, clients, committed


def test_client_refuses_a_request_calling_a_committed_neighbour_dropped(ctx, params, account_pool):
    server, clients, committed = _through_masked_input(ctx, params, account_pool[:5])
    me, victim = clients[0], clients[1]
    facts = me.public_partition(committed, lambda a: True)
    honest = server.close_masked_input()
    assert set(honest.survivors) == facts.survivors
    # The lie: victim "dropped", so holders would hand over s^SK as well as b (from others).
    lie = UnmaskRequest(
        tuple(a for a in honest.survivors if a != victim.address), (victim.address,)
    )

    with pytest.raises(UnmaskRequestMismatch, match=f"{victim.address} is not listed"):
        me.unmask(lie, facts)


def test_client_refuses_a_request_calling_a_non_committer_a_survivor(ctx, params, account_pool):
    server, clients, committed = _through_masked_input(ctx, params, account_pool[:5], silent={2})
    me, silent = clients[0], clients[2]
    facts = me.public_partition(committed, lambda a: True)
    honest = server.close_masked_input()
    lie = UnmaskRequest((*honest.survivors, silent.address), ())

    with pytest.raises(UnmaskRequestMismatch, match="public facts say dropped"):
        me.unmask(lie, facts)


def test_client_refuses_a_request_calling_a_malformed_blob_a_survivor(ctx, params, account_pool):
    server, clients, committed = _through_masked_input(ctx, params, account_pool[:5])
    me, bad_blob = clients[0], clients[3]
    facts = me.public_partition(committed, lambda a: a != bad_blob.address)
    request = server.close_masked_input()  # this aggregator kept the bad one as a survivor

    assert bad_blob.address not in facts.survivors and bad_blob.address in facts.dropped
    with pytest.raises(UnmaskRequestMismatch):
        me.unmask(request, facts)


def test_client_answers_a_request_that_agrees_with_the_public_facts(ctx, params, account_pool):
    server, clients, committed = _through_masked_input(ctx, params, account_pool[:5], silent={4})
    me, gone = clients[0], clients[4]
    facts = me.public_partition(committed, lambda a: True)
    request = server.close_masked_input()

    response = me.unmask(request, facts)

    assert set(response.mask_key_shares) == {gone.address}
    assert set(response.self_mask_shares) == facts.survivors - {me.address}


def test_client_refuses_to_treat_its_own_local_dropout_as_a_survivor(ctx, params, account_pool):
    server, clients, seed = _round(ctx, params, account_pool[:5])
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    me, cheat = clients[0], clients[1]
    mine = [
        EncryptedShare(s.sender, s.recipient, os.urandom(len(s.ciphertext)))
        if s.sender == cheat.address
        else s
        for s in inbox[me.address]
    ]
    me.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), mine)
    everyone = tuple(c.address for c in clients)

    # Even with no public facts passed, listing the cheater as a survivor is refused: my y
    # has no mask with it, so the sum could not be exact.
    with pytest.raises(UnmaskRequestMismatch, match=f"{cheat.address} is a dropout for me"):
        me.unmask(UnmaskRequest(everyone, ()))


def test_garbage_share_in_a_sparse_graph_drops_only_its_sender(account_pool):
    # Sparse graph (k = 4 < n - 1): the victim still has t valid sharers after the drop.
    params = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=16, max_weight=100)
    rng = np.random.default_rng(9)
    n = 10
    seed = os.urandom(32)
    probe = simulate_round(
        [(rng.uniform(-1, 1, 3), 10) for _ in range(n)],
        params=params,
        accounts=account_pool[:n],
        seed=seed,
    )
    roster = [b.participant for b in Roster.from_bytes(probe.transcript.roster).bundles]
    graph = build_graph(n, params.neighbours, seed)
    by_addr = {a: i for i, a in enumerate(probe.addresses)}
    victim = 0
    neighbour = roster[graph.neighbours(roster.index(probe.addresses[victim]))[0]]
    sim = simulate_round(
        [(rng.uniform(-1, 1, 3), 10) for _ in range(n)],
        params=params,
        accounts=account_pool[:n],
        seed=seed,
        garbage_shares=[(by_addr[neighbour], victim)],
    )

    assert [e.sender for e in sim.clients[probe.addresses[victim]].bad_shares] == [neighbour]
    assert neighbour in sim.result.dropped
    assert np.array_equal(sim.result.aggregate, _exact_sum(sim.quantized, sim.result.survivors))
    assert verify_round(sim.transcript).ok


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(min_size=32, max_size=32))
def test_every_key_check_public_key_accepts_gives_a_non_zero_shared_secret(raw):
    u = int.from_bytes(raw, "little")
    canonical = not raw[31] & 0x80 and u < P
    try:
        check_public_key(raw)
    except InvalidPublicKey:
        assert not canonical or u in LOW_ORDER_POINTS
        return
    assert canonical and u not in LOW_ORDER_POINTS
    X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(raw))  # no raise


def test_a_misrouted_inbox_is_refused_for_good(ctx, params, account_pool):
    server, clients, seed = _round(ctx, params, account_pool[:5])
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    me, other = clients[0], clients[1]
    misrouted = [*inbox[me.address], inbox[other.address][0]]

    with pytest.raises(ProtocolError, match=r"\[share_keys\] recipient"):
        me.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), misrouted)
    with pytest.raises(ProtocolError, match="out of order"):
        me.unmask(UnmaskRequest(tuple(c.address for c in clients), ()))
