"""Provable blame for a share that does not open: the DLEQ proof, accusations and verdicts."""

from __future__ import annotations

import os

import numpy as np
import pytest
from nacl import bindings as sodium

from fedledger.errors import ProtocolError
from fedledger.secagg.blame import accuse, judge_accusation
from fedledger.secagg.client import SecAggClient
from fedledger.secagg.crypto.dleq import (
    InvalidProof,
    check_channel_key,
    prove_shared_secret,
    verify_shared_secret,
)
from fedledger.secagg.crypto.keys import KeyPair, x25519
from fedledger.secagg.messages import EncryptedShare, KeyBundle, ShareAccusation
from fedledger.secagg.quantize import quantize
from fedledger.secagg.server import SecAggServer

LENGTH = 5
_P = 2**255 - 19
CONTEXT = b"round 7: alice accuses bob"


def _montgomery(point: bytes) -> bytes:
    y = int.from_bytes(point, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, _P - 2, _P) % _P).to_bytes(32, "little")


def test_a_proof_shows_the_x25519_shared_secret_without_the_private_key() -> None:
    me, peer = KeyPair.generate(), KeyPair.generate()

    z, proof = prove_shared_secret(me.private, me.public, peer.public, CONTEXT)

    assert z == x25519(me.private, peer.public) == x25519(peer.private, me.public)
    assert verify_shared_secret(me.public, peer.public, proof, CONTEXT) == z


def test_a_proof_does_not_verify_for_another_context_key_or_point() -> None:
    me, peer, other = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    _, proof = prove_shared_secret(me.private, me.public, peer.public, CONTEXT)
    forged_k = sodium.crypto_scalarmult_ed25519_base_noclamp(
        sodium.crypto_core_ed25519_scalar_reduce(os.urandom(64))
    )

    with pytest.raises(InvalidProof, match="does not verify"):
        verify_shared_secret(me.public, peer.public, proof, b"another round")
    with pytest.raises(InvalidProof, match="does not verify"):
        verify_shared_secret(other.public, peer.public, proof, CONTEXT)
    with pytest.raises(InvalidProof, match="does not verify"):
        verify_shared_secret(me.public, peer.public, forged_k + proof[32:], CONTEXT)
    with pytest.raises(InvalidProof, match="96 bytes"):
        verify_shared_secret(me.public, peer.public, proof[:-1], CONTEXT)


def test_nobody_proves_a_secret_with_a_key_that_is_not_theirs() -> None:
    me, peer = KeyPair.generate(), KeyPair.generate()

    with pytest.raises(InvalidProof, match="does not belong"):
        prove_shared_secret(peer.private, me.public, peer.public, CONTEXT)


def test_channel_keys_off_the_prime_order_subgroup_are_refused() -> None:
    honest = KeyPair.generate().public
    # u = 2 is on the twist (2^3 + A*2^2 + 2 is not a square mod p).
    twist = (2).to_bytes(32, "little")
    # An honest point plus the order-2 point (0, -1): same X25519 results, not prime order.
    point = sodium.crypto_scalarmult_ed25519_base_noclamp(
        sodium.crypto_core_ed25519_scalar_reduce(os.urandom(64))
    )
    mixed = _montgomery(sodium.crypto_core_ed25519_add(point, (_P - 1).to_bytes(32, "little")))

    check_channel_key(honest)
    for bad in (twist, mixed):
        with pytest.raises(InvalidProof, match="prime-order subgroup"):
            check_channel_key(bad)


def test_a_signed_bundle_with_a_twist_channel_key_is_unusable(ctx, account_pool) -> None:
    account = account_pool[0]
    bundle = KeyBundle.create(
        ctx,
        account.key,
        account.address,
        channel_key=(2).to_bytes(32, "little"),
        mask_key=KeyPair.generate().public,
    )

    assert (
        bundle.key_problem()
        == "channelKey: key is not a point of curve25519's prime-order subgroup"
    )


def _to_inbox(ctx, params, accounts):
    server = SecAggServer(ctx, params, seed=os.urandom(32), vector_length=LENGTH)
    clients = [SecAggClient(ctx, params, a, vector_length=LENGTH) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, server.seed))
    return server, clients, roster, server.close_share_keys()


def _garbage(ctx, account, share: EncryptedShare) -> EncryptedShare:
    return EncryptedShare(share.sender, share.recipient, os.urandom(len(share.ciphertext))).signed(
        ctx, account.key
    )


def test_a_signed_garbage_share_is_accused_and_the_verdict_names_its_sender(
    ctx, params, account_pool
) -> None:
    accounts = account_pool[:5]
    _, clients, roster, inbox = _to_inbox(ctx, params, accounts)
    me, cheat = clients[0], accounts[1]
    mine = [_garbage(ctx, cheat, s) if s.sender == cheat.address else s for s in inbox[me.address]]

    msg = me.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), mine)
    assert msg.dropouts is not None
    [accusation] = msg.dropouts.accusations
    verdict = judge_accusation(ctx, roster, accusation)

    assert (accusation.accuser, accusation.accused) == (me.address, cheat.address)
    assert msg.dropouts.dropouts == (cheat.address,)
    assert verdict.sender_at_fault and verdict.faulty == cheat.address
    assert "does not open" in verdict.reason


def test_an_accusation_of_a_share_that_opens_names_the_accuser(ctx, params, account_pool) -> None:
    accounts = account_pool[5:10]
    _, clients, roster, inbox = _to_inbox(ctx, params, accounts)
    me = clients[0]
    honest_share = inbox[me.address][0]

    accusation = accuse(ctx, honest_share, channel_private=me._channel.private, roster=roster)
    verdict = judge_accusation(ctx, roster, accusation)

    assert not verdict.sender_at_fault and verdict.faulty == me.address
    assert "falsely accused" in verdict.reason


def test_an_accusation_that_proves_nothing_blames_nobody(ctx, params, account_pool) -> None:
    accounts = account_pool[10:15]
    _, clients, roster, inbox = _to_inbox(ctx, params, accounts)
    me = clients[0]
    share = inbox[me.address][0]
    good = accuse(ctx, share, channel_private=me._channel.private, roster=roster)
    # A made-up shared secret has no proof; a share its sender did not sign proves no sender.
    made_up = sodium.crypto_scalarmult_ed25519_base_noclamp(
        sodium.crypto_core_ed25519_scalar_reduce(os.urandom(64))
    )
    unsigned = EncryptedShare(share.sender, share.recipient, share.ciphertext, b"\x01" * 65)

    with pytest.raises(ProtocolError, match="does not verify"):
        judge_accusation(ctx, roster, ShareAccusation(share, made_up + good.proof[32:]))
    with pytest.raises(ProtocolError, match="recovers to"):
        judge_accusation(ctx, roster, ShareAccusation(unsigned, good.proof))


def test_the_server_refuses_share_ciphertexts_their_sender_did_not_sign(
    ctx, params, account_pool
) -> None:
    accounts = account_pool[15:20]
    server = SecAggServer(ctx, params, seed=os.urandom(32), vector_length=LENGTH)
    clients = [SecAggClient(ctx, params, a, vector_length=LENGTH) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    message = clients[0].share_keys(roster, server.seed)
    stripped = type(message)(
        message.sender,
        tuple(EncryptedShare(s.sender, s.recipient, s.ciphertext) for s in message.shares),
    )

    with pytest.raises(ProtocolError, match=r"share ciphertext of .* recovers to None"):
        server.add_shares(stripped)
