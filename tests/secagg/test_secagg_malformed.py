"""Malformed instances of every secagg message type: parsers fail only with FedledgerError."""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from eth_account import Account
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fedledger.encoding import canonical_json
from fedledger.errors import FedledgerError
from fedledger.secagg import (
    EncryptedShare,
    KeyBundle,
    Reveal,
    Roster,
    RoundContext,
    SecAggClient,
    SecAggParams,
    SecAggServer,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
    decode_vector,
    encode_vector,
    simulate_round,
)
from fedledger.secagg.crypto.shamir import SHARE_BYTES

CTX = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1)
PARAMS = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=16, max_weight=100)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def only_fedledger_errors(parse: Callable[[], Any]) -> Any:
    """Run `parse`; a FedledgerError is a refusal (fine), any other exception fails the test."""
    try:
        return parse()
    except FedledgerError:
        return None


@functools.cache
def sample_round() -> Any:
    """One real round of 5 (one dropout at unmask), reused as the source of valid messages."""
    accounts = [Account.create() for _ in range(5)]
    rng = np.random.default_rng(0)
    return simulate_round(
        [(rng.uniform(-1, 1, 3), 10) for _ in range(5)],
        params=PARAMS,
        ctx=CTX,
        accounts=accounts,
        dropout={"masked_input": {4}},
        seed=bytes(32),
    )


def _roster() -> Roster:
    return Roster.from_bytes(sample_round().transcript.roster)


def _reveal_obj() -> dict[str, Any]:
    return json.loads(sample_round().transcript.reveal)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.from_regex(r"0x[0-9a-fA-F]{0,140}", fullmatch=True)
    | st.sampled_from([a.lower() for a in ["0x5FbDB2315678afecb367f032d93F642f64180aa3"]])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A valid JSON object with fields replaced, removed or added; nested objects too."""
    obj: Any = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, 3))):
        target = obj
        # Walk into a nested dict/list sometimes, so inner structures get damaged as well.
        while isinstance(target, dict | list) and target and draw(st.booleans()):
            key = draw(
                st.sampled_from(sorted(target) if isinstance(target, dict) else range(len(target)))
            )
            if not isinstance(target[key], dict | list) or not target[key]:
                break
            target = target[key]
        if not isinstance(target, dict | list) or not target:
            return draw(json_values)
        keys = sorted(target) if isinstance(target, dict) else list(range(len(target)))
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            target[key] = draw(json_values)
        elif action == "delete":
            del target[key]
        elif isinstance(target, dict):
            target[draw(st.text(max_size=8))] = draw(json_values)
        else:
            target.append(draw(json_values))
    return obj


# -- KeyBundle and Roster ------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_malformed_key_bundles_fail_only_with_fedledger_errors(data):
    valid = _roster().bundles[0].to_json()
    obj = data.draw(mutated(valid) | json_values)

    bundle = only_fedledger_errors(lambda: KeyBundle.from_json(obj))
    if bundle is not None:
        only_fedledger_errors(lambda: bundle.verify(CTX))
        only_fedledger_errors(bundle.check_keys)
        assert bundle.key_problem() is None or isinstance(bundle.key_problem(), str)


@SETTINGS
@given(blob=st.binary(max_size=400))
def test_random_bytes_as_a_roster_fail_only_with_fedledger_errors(blob):
    only_fedledger_errors(lambda: Roster.from_bytes(blob))


@SETTINGS
@given(data=st.data())
def test_malformed_rosters_fail_only_with_fedledger_errors(data):
    obj = data.draw(mutated(json.loads(_roster().to_bytes())))
    roster = only_fedledger_errors(lambda: Roster.from_bytes(canonical_json(obj)))
    if roster is not None:
        only_fedledger_errors(roster.verify_signatures)


def test_deeply_nested_json_is_refused_by_name():
    with pytest.raises(FedledgerError, match="nested too deeply"):
        Roster.from_bytes(b"[" * 100_000)


# -- share keys: EncryptedShare, ShareKeysMessage, and a client's inbox ------------------------

address_like = (
    st.sampled_from([a.address for a in [Account.create() for _ in range(3)]]) | json_scalars
)
ciphertext_like = st.binary(max_size=120) | json_scalars


@SETTINGS
@given(sender=address_like, recipient=address_like, ciphertext=ciphertext_like)
def test_malformed_encrypted_shares_fail_only_with_fedledger_errors(sender, recipient, ciphertext):
    share = only_fedledger_errors(lambda: EncryptedShare(sender, recipient, ciphertext))
    if share is not None:
        only_fedledger_errors(lambda: ShareKeysMessage(sender, (share,)))


def _share_stage() -> tuple[SecAggClient, list[str], list[EncryptedShare]]:
    """A fresh client after share_keys, its roster and the inbox an honest server would give."""
    accounts = [Account.create() for _ in range(5)]
    seed = os.urandom(32)
    server = SecAggServer(CTX, PARAMS, seed=seed, vector_length=4)
    clients = [SecAggClient(CTX, PARAMS, a, vector_length=4) for a in accounts]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    for c in clients:
        server.add_shares(c.share_keys(roster, seed))
    inbox = server.close_share_keys()
    return clients[0], roster.addresses, inbox[clients[0].address]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_client_fed_a_hostile_inbox_fails_only_with_fedledger_errors(data):
    me, addresses, honest = _share_stage()
    length = 12 + 2 * SHARE_BYTES + 16
    forged = st.builds(
        EncryptedShare,
        st.sampled_from(addresses),
        st.sampled_from([*addresses, me.address]),
        st.binary(min_size=length, max_size=length),
    )
    inbox = data.draw(st.lists(st.sampled_from(honest) | forged, max_size=8))

    only_fedledger_errors(lambda: me.masked_input(np.zeros(4, dtype=np.uint32), inbox))


# -- masked input blobs ----------------------------------------------------------------------


def _npy(header: bytes, body: bytes = b"") -> bytes:
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + body


@SETTINGS
@given(
    blob=st.binary(max_size=200)
    | st.builds(_npy, st.binary(max_size=120), st.binary(max_size=40))
    | st.builds(
        _npy,
        st.text(max_size=120).map(lambda s: s.encode("latin1", "replace")),
        st.binary(max_size=40),
    )
    | st.builds(
        _npy,
        st.from_regex(r"\{'descr': .{0,12}, 'fortran_order': .{0,8}, 'shape': .{0,16}\}").map(
            lambda s: s.encode("utf-8", "replace")
        ),
        st.binary(max_size=40),
    ),
    length=st.none() | st.integers(0, 10),
)
def test_malformed_vector_blobs_fail_only_with_fedledger_errors(blob, length):
    only_fedledger_errors(lambda: decode_vector(blob, length=length))


@pytest.mark.parametrize(
    "header", [b"{[]: 1}", b"(" * 300, b"1" * 5000, b"{'descr': '<u4', **x}", b"\xff\xfe"]
)
def test_hostile_npy_headers_are_refused_by_name(header):
    with pytest.raises(FedledgerError, match=r"header|magic|literal"):
        decode_vector(_npy(header, b""))


def test_an_npy_header_that_makes_python_warn_is_refused_quietly():
    header = b"{'descr': '\\d', 'fortran_order': (1)(2), 'shape': (1 is 1,)}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(FedledgerError, match="header is not a Python literal dict"):
            decode_vector(_npy(header))
    assert [str(w.message) for w in caught] == []


@SETTINGS
@given(
    blob=st.binary(max_size=64),
    position=st.integers(0, 200),
)
def test_bit_flipped_vector_blobs_fail_only_with_fedledger_errors(blob, position):
    valid = bytearray(encode_vector(np.arange(5, dtype=np.uint32)))
    valid[position % len(valid)] ^= 0xFF
    only_fedledger_errors(lambda: decode_vector(bytes(valid)))
    only_fedledger_errors(lambda: decode_vector(bytes(valid[: position % len(valid)]) + blob))


# -- unmask: request, response ----------------------------------------------------------------


@SETTINGS
@given(
    survivors=st.lists(address_like, max_size=5).map(tuple),
    dropped=st.lists(address_like, max_size=5).map(tuple),
)
def test_malformed_unmask_requests_fail_only_with_fedledger_errors(survivors, dropped):
    only_fedledger_errors(lambda: UnmaskRequest(survivors, dropped))


@SETTINGS
@given(data=st.data())
def test_malformed_unmask_responses_fail_only_with_fedledger_errors(data):
    reveal = _reveal_obj()
    sender, valid = sorted(reveal["unmaskResponses"].items())[0]
    obj = data.draw(mutated(valid) | json_values)
    who = data.draw(st.just(sender) | address_like)

    response = only_fedledger_errors(lambda: UnmaskResponse.from_json(who, obj))
    if response is not None:
        only_fedledger_errors(lambda: response.verify(CTX))


@SETTINGS
@given(
    sender=address_like,
    b=st.dictionaries(
        address_like.filter(lambda a: isinstance(a, str)), ciphertext_like, max_size=3
    ),
    s=st.dictionaries(
        address_like.filter(lambda a: isinstance(a, str)), ciphertext_like, max_size=3
    ),
    signature=ciphertext_like,
)
def test_hand_built_unmask_responses_fail_only_with_fedledger_errors(sender, b, s, signature):
    assume(signature is not None)
    response = only_fedledger_errors(lambda: UnmaskResponse(sender, b, s, signature))
    if response is not None:
        only_fedledger_errors(lambda: response.verify(CTX))


# -- reveal ------------------------------------------------------------------------------------


@SETTINGS
@given(blob=st.binary(max_size=400))
def test_random_bytes_as_a_reveal_fail_only_with_fedledger_errors(blob):
    only_fedledger_errors(lambda: Reveal.from_bytes(blob))


@SETTINGS
@given(data=st.data())
def test_malformed_reveals_fail_only_with_fedledger_errors(data):
    obj = data.draw(mutated(_reveal_obj()))
    only_fedledger_errors(lambda: Reveal.from_bytes(canonical_json(obj)))


def test_the_valid_samples_parse():
    # The mutation tests above start from these: they must be valid, or they test nothing.
    sim = sample_round()
    assert Roster.from_bytes(sim.transcript.roster).hash() == sim.transcript.roster_hash
    assert Reveal.from_bytes(sim.transcript.reveal).hash() == sim.transcript.reveal_hash
    assert _reveal_obj()["unmaskResponses"]
    assert _roster().bundles[0].key_problem() is None
