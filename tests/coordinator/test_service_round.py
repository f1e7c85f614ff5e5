"""One whole round through the coordinator's HTTP API, participants signing every write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fedledger.audit.reports import load_report_index
from fedledger.chain import Stage
from fedledger.encoding import canonical_json, to_hex
from fedledger.protocol import messages as wire
from fedledger.secagg.client import SecAggClient
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.messages import Roster, UnmaskRequest
from fedledger.secagg.params import RoundContext
from fedledger.secagg.quantize import quantize


def _ok(resp):
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_one_round_over_http_finalizes_on_chain_with_every_participant(
    harness, tmp_path: Path
) -> None:
    h = harness
    status = h.coordinator.open_round()
    rid = status.round_id
    info = _ok(h.client.get("/v1/info"))
    assert info["chainId"] == h.chain_id and info["roundLog"] == h.contract
    assert info["deployment"]["contracts"]["RoundLog"] == h.contract

    ctx = RoundContext(h.chain_id, h.contract, rid)
    params = h.chain.contracts.round_log.get_round(rid).config.secagg_params()
    length = 8 + 1
    clients = {
        p.address: SecAggClient(ctx, params, p, vector_length=length) for p in h.chain.participants
    }
    accounts = {p.address: p for p in h.chain.participants}

    for a, c in clients.items():
        env = h.envelope(accounts[a], c.advertise_keys().to_json(), stage=ADVERTISE_KEYS)
        assert _ok(h.client.post(f"/v1/rounds/{rid}/keys", json=env))["signer"] == a
    h.coordinator.tick()  # all four advertised: roster fixed and posted on chain
    st = _ok(h.client.get("/v1/round"))
    assert st["stage"] == SHARE_KEYS and st["rosterPosted"]

    doc = _ok(h.client.get(f"/v1/rounds/{rid}/roster"))
    roster = Roster.from_bytes(canonical_json(doc["roster"]))
    info = h.chain.contracts.round_log.get_round(rid)
    assert roster.hash() == info.roster_hash
    assert (roster.tree().root, len(roster)) == (info.roster_root, info.member_count)
    for a, c in clients.items():
        message = c.share_keys(roster, bytes.fromhex(doc["seed"]))
        env = h.envelope(accounts[a], wire.shares_to_json(message), stage=SHARE_KEYS)
        _ok(h.client.post(f"/v1/rounds/{rid}/shares", json=env))
    h.coordinator.tick()
    assert _ok(h.client.get("/v1/round"))["stage"] == MASKED_INPUT

    rng = np.random.default_rng(1)
    deltas = {a: rng.normal(0, 0.01, 8) for a in clients}
    for a, c in clients.items():
        got = _ok(h.client.get(f"/v1/rounds/{rid}/shares/{a}"))["shares"]
        x = quantize(deltas[a], 10, params)
        masked = c.masked_input(x, [wire.share_from_json(s) for s in got])
        assert h.upload(accounts[a], masked.masked_hash.hex(), masked.vector).status_code == 201
        h.chain.contracts.round_log.commit(
            rid, masked.masked_hash, masked.seed_commitment, weight=int(x[0]),
            member=roster.tree().member(rid, a), sender=accounts[a],
        )  # fmt: skip
        payload = {
            "participant": a,
            "maskedHash": to_hex(masked.masked_hash),
            "seedCommitment": to_hex(masked.seed_commitment),
        }
        _ok(
            h.client.post(
                f"/v1/rounds/{rid}/masked",
                json=h.envelope(accounts[a], payload, stage=MASKED_INPUT),
            )
        )
    h.coordinator.tick()
    assert _ok(h.client.get("/v1/round"))["stage"] == UNMASK

    for a, c in clients.items():
        req = _ok(h.client.get(f"/v1/rounds/{rid}/unmask/{a}"))
        response = c.unmask(UnmaskRequest(tuple(req["survivors"]), tuple(req["dropped"])))
        env = h.envelope(accounts[a], wire.unmask_response_to_json(response), stage=UNMASK)
        _ok(h.client.post(f"/v1/rounds/{rid}/unmask", json=env))
    h.coordinator.tick()

    final = _ok(h.client.get("/v1/round"))
    assert final["stage"] == "finalized", final
    on_chain = h.chain.contracts.round_log.get_round(rid)
    assert on_chain.stage == Stage.FINALIZED
    assert on_chain.new_model_hash.hex() == final["newModelHash"]
    report = _ok(h.client.get(f"/v1/rounds/{rid}/report"))
    assert sorted(report["survivors"]) == sorted(clients)
    # the report index names that same blob, in a form the auditor's --reports accepts
    index = _ok(h.client.get("/v1/reports"))
    report_blob = h.client.get(f"/blobs/{index['reports'][str(rid)]}")
    assert json.loads(report_blob.content) == report
    index_file = tmp_path / "reports.json"
    index_file.write_text(json.dumps(index))
    assert load_report_index(index_file) == {rid: index["reports"][str(rid)]}
    # the published blobs are served by the same app
    assert h.client.get(f"/blobs/{on_chain.new_model_hash.hex()}").status_code == 200


def test_an_accepted_write_answers_with_the_aggregators_signed_receipt(harness) -> None:
    from fedledger.protocol.receipts import Receipt, message_digest

    h = harness
    rid = h.coordinator.open_round().round_id
    ctx = RoundContext(h.chain_id, h.contract, rid)
    params = h.chain.contracts.round_log.get_round(rid).config.secagg_params()
    p = h.chain.participants[0]
    bundle = SecAggClient(ctx, params, p, vector_length=9).advertise_keys()
    env = h.envelope(p, bundle.to_json(), stage=ADVERTISE_KEYS)

    first = _ok(h.client.post(f"/v1/rounds/{rid}/keys", json=env))
    again = _ok(h.client.post(f"/v1/rounds/{rid}/keys", json=env))

    receipt = Receipt.verify(first["receipt"], chain_id=h.chain_id, contract=h.contract)
    assert receipt.aggregator == h.coordinator.aggregator.address
    assert (receipt.round_id, receipt.stage, receipt.participant) == (
        rid,
        ADVERTISE_KEYS,
        p.address,
    )
    assert receipt.digest == message_digest(bundle.to_json())
    assert again["replayed"] is True and again["receipt"] == first["receipt"]
