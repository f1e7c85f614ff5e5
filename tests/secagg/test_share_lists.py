"""One signature per sender: the Merkle tree over its share ciphertexts, and its checks."""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace

import numpy as np
import pytest

from fedledger.errors import ProtocolError
from fedledger.secagg.blame import judge_accusation
from fedledger.secagg.client import SecAggClient
from fedledger.secagg.crypto import merkle
from fedledger.secagg.messages import (
    EncryptedShare,
    ShareAccusation,
    ShareKeysMessage,
    sign_shares,
    verify_shares,
)
from fedledger.secagg.quantize import quantize
from fedledger.secagg.server import SecAggServer

LENGTH = 5


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 114])
def test_every_leaf_proves_the_root_and_nothing_else_does(count: int) -> None:
    leaves = [os.urandom(32) for _ in range(count)]
    levels = merkle.build(leaves)
    root = levels[-1][0]
    for i, leaf in enumerate(leaves):
        path = merkle.proof(levels, i)
        assert merkle.root_from_proof(leaf, i, count, path) == root
        assert len(path) <= max(1, (count - 1).bit_length())
        if count == 1:
            continue
        assert merkle.root_from_proof(os.urandom(32), i, count, path) != root
        for j in range(len(path)):  # every sibling is bound
            bent = (*path[:j], os.urandom(32), *path[j + 1 :])
            assert merkle.root_from_proof(leaf, i, count, bent) != root
        other = (i + 1) % count
        with contextlib.suppress(merkle.InvalidPath):  # another index, another path length
            assert merkle.root_from_proof(leaf, other, count, path) != root
        with pytest.raises(merkle.InvalidPath):
            merkle.root_from_proof(leaf, i, count, (*path, os.urandom(32)))
        if path:
            with pytest.raises(merkle.InvalidPath):
                merkle.root_from_proof(leaf, i, count, path[:-1])
    with pytest.raises(merkle.InvalidPath):
        merkle.root_from_proof(leaves[0], count, count, ())


def _clients(ctx, params, accounts):
    server = SecAggServer(ctx, params, seed=os.urandom(32), vector_length=LENGTH)
    clients = [SecAggClient(ctx, params, a, vector_length=LENGTH) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    return server, clients, roster


def _count_recoveries(monkeypatch) -> list[int]:
    from fedledger.secagg import messages

    calls = [0]
    real = messages.recover_typed_signer

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(messages, "recover_typed_signer", counting)
    return calls


def test_a_sender_signs_once_and_the_server_recovers_once_per_sender(
    ctx, params, account_pool, monkeypatch
) -> None:
    server, clients, roster = _clients(ctx, params, account_pool[20:28])
    messages = [c.share_keys(roster, server.seed) for c in clients]
    for m in messages:
        assert len({s.signature for s in m.shares}) == 1
        assert {s.count for s in m.shares} == {len(m.shares)}
        assert [s.index for s in m.shares] == list(range(len(m.shares)))
    calls = _count_recoveries(monkeypatch)

    for m in messages:
        server.add_shares(m)

    assert calls[0] == len(messages)


def test_a_recipient_checks_no_signature_of_a_share_that_opens(
    ctx, params, account_pool, monkeypatch
) -> None:
    server, clients, roster = _clients(ctx, params, account_pool[28:34])
    for c in clients:
        server.add_shares(c.share_keys(roster, server.seed))
    inbox = server.close_share_keys()
    me = clients[0]
    calls = _count_recoveries(monkeypatch)

    me.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), inbox[me.address])

    assert calls[0] == 0 and not me.bad_shares


def test_a_share_altered_or_moved_inside_a_signed_list_is_refused(ctx, params, account_pool):
    server, clients, roster = _clients(ctx, params, account_pool[34:40])
    message = clients[0].share_keys(roster, server.seed)
    first, second = message.shares[0], message.shares[1]
    altered = replace(first, ciphertext=os.urandom(len(first.ciphertext)))
    moved = replace(first, recipient=second.recipient)
    swapped = replace(first, index=second.index, proof=second.proof)

    for bad in (altered, moved, swapped):
        with pytest.raises(ProtocolError, match=r"share ciphertext of .* recovers to"):
            verify_shares(ctx, [bad])
        tampered = ShareKeysMessage(message.sender, (bad, *message.shares[1:]))
        # (the moved share also leaves a neighbour without one: refused either way)
        with pytest.raises(ProtocolError, match=r"signature|each of its neighbours"):
            server.add_shares(tampered)
    verify_shares(ctx, message.shares)


def test_garbage_inside_a_signed_list_is_proven_through_the_accusations_wire_form(
    ctx, params, account_pool
) -> None:
    server, clients, roster = _clients(ctx, params, account_pool[40:46])
    cheat = clients[1]
    honest = cheat.share_keys(roster, server.seed)
    garbage = [
        replace(s, ciphertext=os.urandom(len(s.ciphertext)), signature=b"") for s in honest.shares
    ]
    server.add_shares(
        ShareKeysMessage(cheat.address, sign_shares(ctx, cheat._account.key, garbage))
    )
    for c in clients:
        if c is not cheat:
            server.add_shares(c.share_keys(roster, server.seed))
    inbox = server.close_share_keys()
    victim = next(c for c in clients if any(s.sender == cheat.address for s in inbox[c.address]))

    msg = victim.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), inbox[victim.address])
    assert msg.dropouts is not None
    [accusation] = msg.dropouts.accusations
    assert accusation.share.count == len(honest.shares) and accusation.share.proof
    wire = ShareAccusation.from_json(victim.address, accusation.to_json())
    verdict = judge_accusation(ctx, roster, wire)

    assert wire == accusation
    assert verdict.sender_at_fault and verdict.faulty == cheat.address
    bent = replace(wire.share, proof=(os.urandom(32), *wire.share.proof[1:]))
    with pytest.raises(ProtocolError, match="recovers to"):
        judge_accusation(ctx, roster, ShareAccusation(bent, wire.proof))


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": True}, "count"),
        ({"count": 1 << 65}, "count"),
        ({"count": 3, "index": 3}, "index"),
        ({"count": 3, "index": -1}, "index"),
        ({"count": 3, "proof": ("0x" + "00" * 31,)}, "proof"),
        ({"count": 3, "proof": 5}, "proof"),
        ({"count": 3, "proof": (b"\x00" * 32,) * 65}, "proof"),
    ],
)
def test_a_malformed_list_position_is_refused_by_name(over, field, account_pool) -> None:
    a, b = account_pool[0].address, account_pool[1].address
    with pytest.raises(ProtocolError) as exc:
        EncryptedShare(a, b, bytes(94), **over)
    assert exc.value.field == field
