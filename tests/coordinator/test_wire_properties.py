"""Property tests: malformed instances of every participant message, correctly signed, and
malformed envelopes, thrown at the coordinator's API. Never a 5xx; every 4xx says why."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedledger.errors import FedledgerError
from fedledger.protocol.envelope import UPLOAD_BLOB, SignedEnvelope, sign_envelope
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from tests.support.wire import ODD_VALUES, broken

pytestmark = pytest.mark.adversarial

EXAMPLES = 40
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _hex(n: int) -> str:
    return "0x" + os.urandom(n).hex()


def _templates(me: str, peer: str, round_id: int) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Route -> (stage, author field, a well-formed payload) for each participant message."""
    share = {
        "sender": me,
        "recipient": peer,
        "ciphertext": _hex(94),
        "signature": _hex(65),
        "count": 4,
        "index": 1,
        "proof": [_hex(32), _hex(32)],
    }
    report = {
        "sender": me,
        "maskedHash": _hex(32),
        "dropouts": [peer],
        "signature": _hex(65),
        "accusations": [
            {
                "sender": peer,
                "ciphertext": _hex(94),
                "shareSignature": _hex(65),
                "shareCount": 4,
                "shareIndex": 1,
                "shareProof": [_hex(32), _hex(32)],
                "proof": _hex(96),
            }
        ],
    }
    return {
        "keys": (
            ADVERTISE_KEYS,
            "participant",
            {
                "round": round_id,
                "participant": me,
                "channelKey": _hex(32),
                "maskKey": _hex(32),
                "signature": _hex(65),
            },
        ),
        "shares": (SHARE_KEYS, "sender", {"sender": me, "shares": [share]}),
        "masked": (
            MASKED_INPUT,
            "participant",
            {
                "participant": me,
                "maskedHash": _hex(32),
                "seedCommitment": _hex(32),
                "dropouts": report,
            },
        ),
        "unmask": (
            UNMASK,
            "sender",
            {
                "sender": me,
                "selfMaskShares": {peer: _hex(33)},
                "maskKeyShares": {},
                "signature": _hex(65),
            },
        ),
    }


def _problem(resp: Any) -> str:
    """'' when the answer is fine: below 500, and any 4xx is JSON with a non-empty detail."""
    if resp.status_code >= 500:
        return f"{resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        if not isinstance(detail, str) or not detail:
            return f"{resp.status_code} without a detail: {resp.text[:300]}"
    return ""


def _envelope(harness: Any, account: Any, payload: Any, stage: str) -> dict[str, Any]:
    """Signed by `account`; a payload that cannot be hashed gets a garbage signature."""
    try:
        return harness.envelope(account, payload, stage=stage)
    except (FedledgerError, TypeError, ValueError):
        env = sign_envelope(
            account,
            {},
            chain_id=harness.chain_id,
            contract=harness.contract,
            round_id=harness.coordinator.round_id,
            stage=stage,
        ).to_json()
        env["payload"] = payload
        return env


@pytest.mark.parametrize("route", ["keys", "shares", "masked", "unmask"])
def test_malformed_messages_get_a_clear_4xx_never_a_5xx(harness: Any, route: str) -> None:
    rid = harness.coordinator.open_round().round_id
    me, peer = harness.chain.participants[0], harness.chain.participants[1]
    stage, author, template = _templates(me.address, peer.address, rid)[route]
    seen: list[str] = []

    @SETTINGS
    @given(payload=broken(template, keep=(author,)))
    def throw(payload: Any) -> None:
        env = _envelope(harness, me, payload, stage)
        resp = harness.client.post(f"/v1/rounds/{rid}/{route}", json=env)
        problem = _problem(resp)
        assert not problem, (payload, problem)
        seen.append(str(resp.status_code))

    throw()
    assert any(s.startswith("4") for s in seen)  # the malformed ones were refused


@pytest.mark.parametrize("route", ["keys", "shares", "masked", "unmask"])
def test_malformed_envelopes_get_a_clear_4xx_never_a_5xx(harness: Any, route: str) -> None:
    rid = harness.coordinator.open_round().round_id
    me, peer = harness.chain.participants[0], harness.chain.participants[1]
    stage, _, template = _templates(me.address, peer.address, rid)[route]
    good = harness.envelope(me, template, stage=stage)

    @SETTINGS
    @given(body=st.one_of(broken(good), ODD_VALUES))
    def throw(body: Any) -> None:
        resp = harness.client.post(f"/v1/rounds/{rid}/{route}", json=body)
        problem = _problem(resp)
        assert not problem, (body, problem)
        assert resp.status_code >= 400

    throw()


def test_malformed_upload_envelopes_get_a_clear_4xx_never_a_5xx(harness: Any) -> None:
    harness.coordinator.open_round()
    me = harness.chain.participants[0]
    data = b"masked vector bytes"
    name = "ab" * 32
    good = harness.envelope(me, {"blob": name, "participant": me.address}, stage=UPLOAD_BLOB)

    @SETTINGS
    @given(env=st.one_of(broken(good), ODD_VALUES))
    def throw(env: Any) -> None:
        resp = harness.client.put(
            f"/blobs/{name}", content=data, headers={"x-fedledger-envelope": json.dumps(env)}
        )
        problem = _problem(resp)
        assert not problem, (env, problem)
        assert resp.status_code >= 400

    throw()
    assert not harness.store.has(name)


def test_the_templates_are_well_formed_so_mutations_start_from_a_real_message(
    harness: Any,
) -> None:
    rid = harness.coordinator.open_round().round_id
    me, peer = harness.chain.participants[0], harness.chain.participants[1]
    for stage, _, template in _templates(me.address, peer.address, rid).values():
        env = SignedEnvelope.from_json(harness.envelope(me, template, stage=stage).copy())
        assert env.signer == me.address
