"""Bad writes to the coordinator get a 4xx naming what was wrong, never a 5xx."""

from __future__ import annotations

import json

import pytest

from fedledger.secagg.client import SecAggClient
from fedledger.secagg.constants import ADVERTISE_KEYS, SHARE_KEYS
from fedledger.secagg.params import RoundContext, SecAggParams

PARAMS = SecAggParams(neighbours=3, threshold=2, clip_range=0.5, quant_bits=16, max_weight=4096)


def _bundle(h, account, round_id):
    ctx = RoundContext(h.chain_id, h.contract, round_id)
    return SecAggClient(ctx, PARAMS, account, vector_length=9).advertise_keys().to_json()


@pytest.fixture
def opened(harness):
    harness.coordinator.open_round()
    return harness


def test_valid_bundle_is_accepted_and_an_exact_replay_gets_the_same_answer(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS)
    first = h.client.post("/v1/rounds/1/keys", json=env)
    again = h.client.post("/v1/rounds/1/keys", json=env)
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] is True and first.json()["replayed"] is False
    assert h.coordinator.status().counts["bundles"] == 1


def test_second_different_bundle_from_the_same_signer_is_a_conflict(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    assert (
        h.client.post(
            "/v1/rounds/1/keys", json=h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS)
        ).status_code
        == 200
    )
    resp = h.client.post(
        "/v1/rounds/1/keys", json=h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS)
    )
    assert resp.status_code == 409
    assert "already sent another advertise_keys message" in resp.json()["detail"]


def test_forged_signature_is_refused_naming_the_signature(opened) -> None:
    h = opened
    victim, forger = h.chain.participants[0], h.chain.participants[1]
    env = h.envelope(forger, _bundle(h, victim, 1), stage=ADVERTISE_KEYS)
    env["signer"] = victim.address  # claims to be the victim, signed by someone else
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 403
    assert resp.json()["detail"].startswith("envelope.signature: does not recover to signer")


def test_payload_tampered_after_signing_is_refused(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS)
    other = _bundle(h, p, 1)
    env["payload"]["channelKey"] = other["channelKey"]
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 403 and "envelope.signature" in resp.json()["detail"]


def test_signing_for_someone_else_is_refused(opened) -> None:
    h = opened
    a, b = h.chain.participants[0], h.chain.participants[1]
    env = h.envelope(a, _bundle(h, b, 1), stage=ADVERTISE_KEYS)  # a signs b's bundle
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 403
    assert "on behalf of" in resp.json()["detail"]


def test_message_signed_for_another_round_is_refused_as_replayed(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS, round_id=7)
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 409
    assert resp.json()["detail"].startswith("envelope.round: signed for round 7, not round 1")


def test_post_to_a_round_that_is_not_current_is_refused(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS)
    resp = h.client.post("/v1/rounds/2/keys", json=env)
    assert resp.status_code == 409 and "not the current round" in resp.json()["detail"]


def test_message_signed_for_another_chain_is_refused_naming_the_chain(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS, chain_id=1)
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 403
    detail = resp.json()["detail"]
    assert detail.startswith("envelope.chainId: signed for chain 1") and "wrong chain" in detail


def test_message_signed_for_another_contract_is_refused(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS, contract="0x" + "11" * 20)
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 403 and resp.json()["detail"].startswith("envelope.contract")


def test_message_signed_for_another_stage_is_refused(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=SHARE_KEYS)
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 422 and resp.json()["detail"].startswith("envelope.stage")


def test_unregistered_signer_is_refused(opened) -> None:
    h, outsider = opened, opened.chain.outsider
    env = h.envelope(outsider, _bundle(h, outsider, 1), stage=ADVERTISE_KEYS)
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == 403
    assert "is not registered" in resp.json()["detail"]
    assert h.coordinator.status().counts["bundles"] == 0


def test_shares_from_a_non_member_before_the_roster_are_refused_not_crashed(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, {"sender": p.address, "shares": []}, stage=SHARE_KEYS)
    resp = h.client.post("/v1/rounds/1/shares", json=env)
    assert resp.status_code == 409 and "share_keys" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("mutate", "status", "needle"),
    [
        (lambda e: e.pop("signature"), 422, "signature"),
        (lambda e: e.update(signature="0x1234"), 422, "envelope.signature: expected 65 bytes"),
        (lambda e: e.update(signature="zz" * 65), 422, "envelope.signature: not a hex string"),
        (lambda e: e.update(chainId="31337"), 422, "chainId"),
        (
            lambda e: e.update(signer="not-an-address"),
            422,
            "envelope.signer: not an Ethereum address",
        ),
        (lambda e: e.update(payload=[1, 2]), 422, "payload"),
        (lambda e: e.update(extra=1), 422, "extra"),
        (lambda e: e["payload"].pop("participant"), 422, "payload.participant: missing"),
        (lambda e: e["payload"].update(channelKey="0x12"), 403, "envelope.signature"),
    ],
)
def test_malformed_envelopes_get_a_4xx_naming_the_field(opened, mutate, status, needle) -> None:
    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, _bundle(h, p, 1), stage=ADVERTISE_KEYS)
    mutate(env)
    resp = h.client.post("/v1/rounds/1/keys", json=env)
    assert resp.status_code == status, resp.text
    assert needle in resp.json()["detail"]


def test_malformed_payload_correctly_signed_is_a_422_naming_the_stage_field(opened) -> None:
    h, p = opened, opened.chain.participants[0]
    bundle = _bundle(h, p, 1)
    bundle["maskKey"] = "0x1234"  # signed as is: the envelope is fine, the bundle is not
    resp = h.client.post("/v1/rounds/1/keys", json=h.envelope(p, bundle, stage=ADVERTISE_KEYS))
    assert resp.status_code == 422
    assert resp.json()["detail"] == "[advertise_keys] maskKey: expected 32 bytes, got 2"


@pytest.mark.parametrize("body", [b"{not json", b"[]", b"null", b'{"payload": {}}'])
def test_non_envelope_bodies_are_422(opened, body) -> None:
    resp = opened.client.post(
        "/v1/rounds/1/keys", content=body, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422 and resp.json()["detail"]


def test_oversized_body_is_413_before_parsing(opened) -> None:
    big = json.dumps({"payload": {"x": "a" * (70 * 1024)}}).encode()
    resp = opened.client.post(
        "/v1/rounds/1/keys", content=big, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413
    assert "exceeds the limit of 65536 bytes" in resp.json()["detail"]


def test_oversized_chunked_body_is_413(opened) -> None:
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    resp = opened.client.post(
        "/v1/rounds/1/keys", content=chunks(), headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413


def test_unsigned_blob_upload_is_refused(opened) -> None:
    resp = opened.client.put("/blobs/" + "ab" * 32, content=b"data")
    assert resp.status_code == 401 and "X-Fedledger-Envelope" in resp.json()["detail"]


def test_blob_upload_by_unregistered_account_is_refused(opened) -> None:
    from fedledger.encoding import sha256_hex

    data = b"masked vector"
    resp = opened.upload(opened.chain.outsider, sha256_hex(data), data)
    assert resp.status_code == 403 and "not registered" in resp.json()["detail"]


def test_blob_upload_envelope_for_another_blob_is_refused(opened) -> None:
    from fedledger.encoding import sha256_hex
    from fedledger.protocol.envelope import UPLOAD_BLOB

    h, p = opened, opened.chain.participants[0]
    env = h.envelope(p, {"blob": "cd" * 32, "participant": p.address}, stage=UPLOAD_BLOB)
    data = b"payload"
    resp = h.client.put(
        f"/blobs/{sha256_hex(data)}",
        content=data,
        headers={"x-fedledger-envelope": json.dumps(env)},
    )
    assert resp.status_code == 422 and "payload.blob" in resp.json()["detail"]


def test_signed_blob_upload_round_trips(opened) -> None:
    from fedledger.encoding import sha256_hex

    data = b"masked vector bytes"
    name = sha256_hex(data)
    assert opened.upload(opened.chain.participants[0], name, data).status_code == 201
    assert opened.client.get(f"/blobs/{name}").content == data


@pytest.mark.parametrize(
    "path",
    [
        "/v1/rounds/1/roster",
        "/v1/rounds/1/shares/0x" + "12" * 20,
        "/v1/rounds/1/unmask/nonsense",
        "/v1/rounds/x/roster",
        "/v1/rounds/9/report",
    ],
)
def test_reads_before_they_exist_or_with_bad_arguments_are_4xx(opened, path) -> None:
    resp = opened.client.get(path)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["detail"]
