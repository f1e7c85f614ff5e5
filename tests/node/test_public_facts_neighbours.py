"""public_facts judges only the neighbours it holds shares of, with the whole-roster answer."""

from __future__ import annotations

import os

import numpy as np
from eth_account import Account

from fedledger.node.public_facts import public_facts, reported_dropouts
from fedledger.secagg import RoundContext, SecAggParams
from fedledger.secagg.client import Partition, SecAggClient
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.messages import UnmaskRequest
from fedledger.secagg.quantize import quantize
from fedledger.secagg.server import SecAggServer

LENGTH = 5
N = 14


def _round():
    """14 members, k = 4: two never share keys, one shares but sends nothing more."""
    ctx = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 7)
    params = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=16, max_weight=99)
    seed = os.urandom(32)
    server = SecAggServer(ctx, params, seed=seed, vector_length=LENGTH)
    clients = [SecAggClient(ctx, params, Account.create(), vector_length=LENGTH) for _ in range(N)]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    unshared, silent = {0, 1}, 2
    for i, c in enumerate(clients):
        if i not in unshared:
            server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    committed, reports, live = {}, [], []
    for i, c in enumerate(clients):
        if i in unshared or i == silent:
            continue
        msg = c.masked_input(quantize(np.zeros(LENGTH - 1), 10, params), inbox[c.address])
        committed[c.address] = msg.masked_hash
        reports.append(msg.dropouts)
        live.append(c)
        server.add_masked_input(
            c.address,
            msg.vector,
            Commitment(msg.masked_hash, msg.seed_commitment, 10),
            dropouts=msg.dropouts,
        )
    request = server.close_masked_input()
    return live, committed, reports, UnmaskRequest(request.survivors, request.dropped)


def _whole_roster(client, request, committed, reports) -> Partition:
    """public_facts as written before it judged only the neighbours (every member judged)."""
    roster = client.roster
    excluded = reported_dropouts(client, reports, committed)
    listed = set(request.survivors) | set(request.dropped)
    excluded |= {a for a in roster.addresses if a not in listed}
    mine = client.masked_with
    public = client.public_partition(committed, lambda a: True, excluded=excluded)
    survivors = {a for a in public.survivors if a in mine or a == client.address}
    survivors |= {a for a in request.survivors if a not in mine and a != client.address}
    return Partition(frozenset(survivors), frozenset(roster.addresses) - survivors)


def test_public_facts_equal_the_whole_roster_judgement_for_every_member() -> None:
    live, committed, reports, request = _round()
    assert any(r.dropouts for r in reports)  # someone reports a local dropout

    for client in live:
        facts = public_facts(
            client, request, committed=committed, blob_ok=lambda a: True, reports=reports
        )
        assert facts == _whole_roster(client, request, committed, reports)


def test_reported_dropouts_among_some_members_is_the_full_answer_cut_to_them() -> None:
    live, committed, reports, _ = _round()
    client = live[0]
    full = reported_dropouts(client, reports, committed)
    some = set(client.roster.addresses[::2])

    assert reported_dropouts(client, reports, committed, among=some) == full & some


def test_a_lying_request_still_disagrees_with_the_facts() -> None:
    live, committed, reports, request = _round()
    client = next(c for c in live if c.masked_with)
    victim = sorted(client.masked_with & set(request.survivors))[0]
    lie = UnmaskRequest(
        tuple(a for a in request.survivors if a != victim), (*request.dropped, victim)
    )

    facts = public_facts(client, lie, committed=committed, blob_ok=lambda a: True, reports=reports)

    assert victim in facts.survivors and victim not in lie.survivors
