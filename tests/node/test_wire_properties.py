"""Property tests: malformed coordinator answers thrown at the node's parsers (http_port,
http_client). Only named errors (FedledgerError subclasses) come out, never a crash."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import httpx
import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedledger.errors import FedledgerError
from fedledger.node.http_client import CoordinatorClient
from fedledger.node.http_port import HttpCoordinatorPort
from fedledger.secagg.messages import KeyBundle
from fedledger.secagg.params import RoundContext
from tests.support.wire import ODD_VALUES, broken

pytestmark = pytest.mark.adversarial

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ME = Account.from_key(b"\x01" * 32)
PEER = Account.from_key(b"\x02" * 32).address


def _hex(n: int) -> str:
    return "0x" + os.urandom(n).hex()


SHARE = {
    "sender": PEER,
    "recipient": ME.address,
    "ciphertext": _hex(94),
    "signature": _hex(65),
    "count": 4,
    "index": 1,
    "proof": [_hex(32), _hex(32)],
}
REPORT = {
    "sender": PEER,
    "maskedHash": _hex(32),
    "dropouts": [ME.address],
    "signature": _hex(65),
    "accusations": [
        {
            "sender": ME.address,
            "ciphertext": _hex(94),
            "shareSignature": _hex(65),
            "shareCount": 4,
            "shareIndex": 1,
            "shareProof": [_hex(32), _hex(32)],
            "proof": _hex(96),
        }
    ],
}
STATUS = {
    "round": 3,
    "stage": "share_keys",
    "chainId": 31337,
    "contract": CONTRACT,
    "modelHash": _hex(32),
    "seed": _hex(32),
    "params": {"neighbours": 4},
    "minParticipants": 3,
    "rosterHash": _hex(32),
    "rosterPosted": True,
    "members": 4,
    "counts": {"keys": 4},
    "expected": 4,
    "stageDeadline": 12.5,
    "commitDeadline": 100,
    "unmaskDeadline": 200,
    "waitingFor": "",
    "newModelHash": "",
    "reason": "",
}
RECEIPT_ANSWER = {"round": 3, "stage": "keys", "signer": ME.address, "receipt": {"x": 1}}


class _Canned:
    """A CoordinatorClient stand-in answering every GET and POST with one document."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc

    def get_json(self, path: str, *, retries: int | None = None) -> Any:
        return self.doc

    def post_json(self, path: str, body: Any) -> Any:
        return self.doc


def _port(doc: Any) -> HttpCoordinatorPort:
    return HttpCoordinatorPort(_Canned(doc), ME, chain_id=31337, contract=CONTRACT)  # type: ignore[arg-type]


def _named_or_ok(call: Any) -> None:
    with contextlib.suppress(FedledgerError):  # a named refusal: a node logs it, sits out
        call()


@SETTINGS
@given(doc=st.one_of(broken({"shares": [SHARE]}), broken(SHARE).map(lambda s: {"shares": [s]})))
def test_malformed_share_lists_only_raise_named_errors(doc: Any) -> None:
    _named_or_ok(lambda: _port(doc).shares_for(ME.address))


@SETTINGS
@given(doc=broken({"round": 3, "survivors": [ME.address, PEER], "dropped": []}))
def test_malformed_unmask_requests_only_raise_named_errors(doc: Any) -> None:
    _named_or_ok(lambda: _port(doc).unmask_request_for(ME.address))


@SETTINGS
@given(doc=st.one_of(broken({"data": [REPORT]}), broken(REPORT).map(lambda r: {"data": [r]})))
def test_malformed_dropout_reports_only_raise_named_errors(doc: Any) -> None:
    _named_or_ok(lambda: _port(doc).dropout_reports())


@SETTINGS
@given(doc=broken(STATUS))
def test_malformed_round_status_only_raises_named_errors(doc: Any) -> None:
    _named_or_ok(lambda: _port(doc).status())


@SETTINGS
@given(doc=broken(RECEIPT_ANSWER))
def test_malformed_write_answers_and_receipts_only_raise_named_errors(doc: Any) -> None:
    bundle = KeyBundle.create(
        RoundContext(31337, CONTRACT, 3),
        ME.key,
        ME.address,
        channel_key=b"\x09" * 32,
        mask_key=b"\x09" * 32,
    )
    _named_or_ok(lambda: _port(doc).submit_keys(bundle))


@SETTINGS
@given(
    status=st.integers(min_value=200, max_value=599),
    body=st.one_of(
        st.binary(max_size=200),
        st.builds(lambda v: json.dumps(v).encode(), ODD_VALUES),
        st.builds(lambda v: json.dumps({"detail": v, "code": v}).encode(), ODD_VALUES),
    ),
)
def test_any_http_answer_is_json_or_a_named_error(status: int, body: bytes) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    client = CoordinatorClient(
        "http://127.0.0.1:9", retries=0, backoff=0.0, client=httpx.Client(transport=transport)
    )
    _named_or_ok(lambda: client.get_json("/v1/round"))
    _named_or_ok(lambda: client.post_json("/v1/rounds/1/keys", {"x": 1}))
