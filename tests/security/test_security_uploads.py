"""Signed blob uploads to the coordinator: limits, forged, wrong-chain and replayed envelopes.

tests/coordinator/test_service_refusals.py covers unsigned and unregistered uploads; these
add what it lacks for /blobs: a correctly signed upload over the size limit, and envelopes
that are forged, signed for another chain, or replayed from an earlier round.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fedledger.encoding import sha256_hex
from fedledger.protocol.envelope import UPLOAD_BLOB, sign_envelope
from tests.support.security import MAX_BLOB


@pytest.fixture(scope="module")
def client(world) -> Iterator[TestClient]:
    with TestClient(world.coordinator_app, raise_server_exceptions=False) as c:
        yield c


def _envelope(world, account: Any, name: str, **over: Any) -> str:
    coordinator = world.sim.coordinator
    fields: dict[str, Any] = {
        "chain_id": coordinator.chain_id,
        "contract": coordinator.contract,
        "round_id": coordinator.round_id,
        "stage": UPLOAD_BLOB,
    }
    fields.update(over)
    payload = {"blob": name, "participant": account.address}
    return json.dumps(sign_envelope(account, payload, **fields).to_json())


def _put(client: TestClient, name: str, data: bytes, envelope: str) -> Any:
    return client.put(f"/blobs/{name}", content=data, headers={"x-fedledger-envelope": envelope})


def test_correctly_signed_upload_over_the_blob_limit_is_413_and_not_stored(world, client) -> None:
    data = b"\x00" * (MAX_BLOB + 1)
    name = sha256_hex(data)
    p = world.sim.participants[0].account

    resp = _put(client, name, data, _envelope(world, p, name))

    assert resp.status_code == 413
    assert f"exceeds {MAX_BLOB}" in resp.json()["detail"]
    assert not world.sim.store.has(name)


def test_correctly_signed_upload_at_the_limit_is_stored(world, client) -> None:
    data = b"\x01" * MAX_BLOB
    name = sha256_hex(data)
    p = world.sim.participants[0].account

    resp = _put(client, name, data, _envelope(world, p, name))

    assert resp.status_code == 201, resp.text
    assert world.sim.store.has(name)


def test_forged_upload_envelope_is_refused_naming_the_signature(world, client) -> None:
    data = b"forged upload"
    name = sha256_hex(data)
    victim, forger = world.sim.participants[0].account, world.sim.participants[1].account
    env = json.loads(_envelope(world, forger, name))
    env["signer"] = victim.address
    env["payload"]["participant"] = victim.address

    resp = _put(client, name, data, json.dumps(env))

    assert resp.status_code == 403
    assert resp.json()["detail"].startswith("envelope.signature")
    assert not world.sim.store.has(name)


def test_upload_envelope_signed_for_another_chain_is_refused(world, client) -> None:
    data = b"wrong chain upload"
    name = sha256_hex(data)
    p = world.sim.participants[0].account

    resp = _put(client, name, data, _envelope(world, p, name, chain_id=1))

    assert resp.status_code == 403
    assert resp.json()["detail"].startswith("envelope.chainId: signed for chain 1")
    assert not world.sim.store.has(name)


def test_upload_envelope_replayed_from_an_earlier_round_is_refused(world, client) -> None:
    data = b"replayed from round 1"
    name = sha256_hex(data)
    p = world.sim.participants[0].account
    old = _envelope(world, p, name, round_id=1)  # a valid upload signature of round 1

    resp = _put(client, name, data, old)

    assert resp.status_code == 409
    assert resp.json()["detail"].startswith("envelope.round: signed for round 1")
    assert not world.sim.store.has(name)


def test_upload_envelope_with_a_garbage_signature_is_422(world, client) -> None:
    data = b"garbage signature"
    name = sha256_hex(data)
    env = json.loads(_envelope(world, world.sim.participants[0].account, name))
    env["signature"] = "0x" + "00" * 65

    resp = _put(client, name, data, json.dumps(env))

    assert 400 <= resp.status_code < 500
    assert "envelope.signature" in resp.json()["detail"]
