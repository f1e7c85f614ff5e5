"""Blob upload quotas: rostered sharers only, in the masked-input stage, one blob of the
round's masked-vector size per round; replays store nothing; errors name no local path."""

from __future__ import annotations

import numpy as np
import pytest

from fedledger.encoding import canonical_json, sha256_hex
from fedledger.protocol import messages as wire
from fedledger.secagg.client import SecAggClient
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS
from fedledger.secagg.messages import Roster
from fedledger.secagg.params import RoundContext
from fedledger.secagg.quantize import quantize
from fedledger.secagg.vectors import npy_header

LENGTH = 8 + 1  # the harness model has 8 weights; +1 for the FedAvg weight


def _to_masked_input(h, *, sharers: int = 4) -> tuple[int, dict, dict]:
    """Open a round and bring it to the masked-input stage; `sharers` of the four share."""
    rid = h.coordinator.open_round().round_id
    ctx = RoundContext(h.chain_id, h.contract, rid)
    params = h.chain.contracts.round_log.get_round(rid).config.secagg_params()
    accounts = {p.address: p for p in h.chain.participants}
    clients = {a: SecAggClient(ctx, params, p, vector_length=LENGTH) for a, p in accounts.items()}
    for a, c in clients.items():
        env = h.envelope(accounts[a], c.advertise_keys().to_json(), stage=ADVERTISE_KEYS)
        assert h.client.post(f"/v1/rounds/{rid}/keys", json=env).status_code == 200
    h.coordinator.tick()
    doc = h.client.get(f"/v1/rounds/{rid}/roster").json()
    roster = Roster.from_bytes(canonical_json(doc["roster"]))
    for a in list(clients)[:sharers]:
        message = clients[a].share_keys(roster, bytes.fromhex(doc["seed"]))
        env = h.envelope(accounts[a], wire.shares_to_json(message), stage=SHARE_KEYS)
        assert h.client.post(f"/v1/rounds/{rid}/shares", json=env).status_code == 200
    if sharers < 4:
        h.coordinator._moves.close(SHARE_KEYS)  # the share stage's window ran out
    else:
        h.coordinator.tick()
    assert h.coordinator.status().stage == MASKED_INPUT
    return rid, clients, accounts


def _masked(h, rid: int, client: SecAggClient, address: str) -> bytes:
    params = h.chain.contracts.round_log.get_round(rid).config.secagg_params()
    got = h.client.get(f"/v1/rounds/{rid}/shares/{address}").json()["shares"]
    x = quantize(np.full(8, 0.01), 10, params)
    return client.masked_input(x, [wire.share_from_json(s) for s in got]).vector


def test_upload_in_the_key_stage_is_refused_with_409_and_not_stored(harness) -> None:
    harness.coordinator.open_round()
    data = b"masked vector bytes"
    name = sha256_hex(data)

    resp = harness.upload(harness.chain.participants[0], name, data)

    assert resp.status_code == 409 and "masked-input stage" in resp.json()["detail"]
    assert not harness.store.has(name)


def test_a_sharers_masked_vector_is_stored_and_a_second_blob_is_refused_429(harness) -> None:
    rid, clients, accounts = _to_masked_input(harness)
    a = next(iter(clients))
    vector = _masked(harness, rid, clients[a], a)
    other = vector[:-4] + bytes(4)

    first = harness.upload(accounts[a], sha256_hex(vector), vector)
    again = harness.upload(accounts[a], sha256_hex(vector), vector)
    second = harness.upload(accounts[a], sha256_hex(other), other)

    assert first.status_code == 201 and again.status_code == 200
    assert second.status_code == 429 and "one blob per round" in second.json()["detail"]
    assert not harness.store.has(sha256_hex(other))


def test_an_upload_larger_than_the_rounds_masked_vector_is_413(harness) -> None:
    _, clients, accounts = _to_masked_input(harness)
    a = next(iter(clients))
    limit = len(npy_header(LENGTH)) + 4 * LENGTH
    data = b"\x01" * (limit + 1)

    resp = harness.upload(accounts[a], sha256_hex(data), data)

    assert resp.status_code == 413 and f"exceeds {limit}" in resp.json()["detail"]
    assert not harness.store.has(sha256_hex(data))


def test_a_roster_member_that_did_not_share_cannot_upload(harness) -> None:
    _, clients, accounts = _to_masked_input(harness, sharers=3)
    silent = list(clients)[3]
    data = b"\x02" * 20

    resp = harness.upload(accounts[silent], sha256_hex(data), data)

    assert resp.status_code == 403 and "did not share keys" in resp.json()["detail"]


def test_a_replayed_upload_envelope_stores_nothing_and_reads_no_body(harness) -> None:
    rid, clients, accounts = _to_masked_input(harness)
    a = next(iter(clients))
    vector = _masked(harness, rid, clients[a], a)
    name = sha256_hex(vector)
    assert harness.upload(accounts[a], name, vector).status_code == 201

    replay = harness.upload(accounts[a], name, b"anything at all")

    assert replay.status_code == 200 and replay.json()["created"] is False
    assert harness.store.get(name) == vector


def test_a_blob_store_failure_is_500_without_the_coordinators_path(
    harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid, clients, accounts = _to_masked_input(harness)
    a = next(iter(clients))
    vector = _masked(harness, rid, clients[a], a)
    root = str(harness.store.root)

    def broken(name: str, path) -> None:
        from fedledger.errors import StoreError

        raise StoreError(f"blob {name}: cannot write to {root}/ab/cd (disk full)")

    monkeypatch.setattr(harness.store, "put_file", broken)
    resp = harness.upload(accounts[a], sha256_hex(vector), vector)

    assert resp.status_code == 500
    assert root not in resp.text and "could not store" in resp.json()["detail"]


def test_the_upload_quota_survives_a_coordinator_restart(harness) -> None:
    rid, clients, accounts = _to_masked_input(harness)
    a = next(iter(clients))
    vector = _masked(harness, rid, clients[a], a)
    other = vector[:-4] + bytes(4)
    assert harness.upload(accounts[a], sha256_hex(vector), vector).status_code == 201

    harness.restart()
    again = harness.upload(accounts[a], sha256_hex(vector), vector)
    second = harness.upload(accounts[a], sha256_hex(other), other)

    assert harness.coordinator.status().stage == MASKED_INPUT
    assert again.status_code == 200
    assert second.status_code == 429 and "one blob per round" in second.json()["detail"]
    assert not harness.store.has(sha256_hex(other))
