"""Unit tests for secagg.crypto: Shamir, AES-GCM binding, PRG, EIP-712 key bundles."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from fedledger.errors import ProtocolError
from fedledger.secagg import KeyBundle
from fedledger.secagg.crypto import shamir
from fedledger.secagg.crypto.kdf import PRG_PAIRWISE_INFO, PRG_SELF_INFO, hkdf_sha256
from fedledger.secagg.crypto.keys import KeyPair, public_from_private, x25519
from fedledger.secagg.crypto.prg import MaskExpander, prg_uint32
from fedledger.secagg.crypto.symmetric import DecryptionError, decrypt, encrypt, share_aad

# -- Shamir ------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    secret=st.binary(min_size=32, max_size=32),
    k=st.integers(1, 12),
    data=st.data(),
)
def test_any_t_of_k_shares_reconstruct_the_secret(secret, k, data):
    t = data.draw(st.integers(1, k))
    xs = data.draw(st.lists(st.integers(1, 5000), min_size=k, max_size=k, unique=True))
    ys = shamir.share(secret, xs, t)
    chosen = data.draw(st.lists(st.sampled_from(range(k)), min_size=t, max_size=t, unique=True))
    assert shamir.combine([(xs[i], ys[i]) for i in chosen]) == secret


def test_fewer_than_t_shares_do_not_reconstruct():
    secret = os.urandom(32)
    xs = list(range(1, 33))
    ys = shamir.share(secret, xs, 16)
    for subset in itertools.islice(itertools.combinations(range(32), 15), 20):
        points = [(xs[i], ys[i]) for i in subset]
        assert shamir.interpolate_at(points, 0) != int.from_bytes(secret, "big")


def _naive_lagrange(points: list[tuple[int, int]], x: int) -> int:
    """The textbook O(t^2) Lagrange formula, one modular inverse per basis polynomial."""
    p = shamir.PRIME
    value = 0
    for i, (xi, yi) in enumerate(points):
        num, den = 1, 1
        for j, (xj, _) in enumerate(points):
            if j != i:
                num = num * (x - xj) % p
                den = den * (xi - xj) % p
        value = (value + yi * num * pow(den, -1, p)) % p
    return value


@settings(max_examples=60, deadline=None)
@given(
    xs=st.lists(
        st.one_of(st.integers(1, 2000), st.integers(1, shamir.PRIME - 1)),
        min_size=1,
        max_size=20,
        unique=True,
    ),
    data=st.data(),
)
def test_interpolant_equals_the_textbook_lagrange_formula_everywhere(xs, data):
    ys = data.draw(st.lists(st.integers(0, shamir.PRIME - 1), min_size=len(xs), max_size=len(xs)))
    at = data.draw(st.one_of(st.sampled_from(xs), st.integers(-(2**300), 2**300)))
    points = list(zip(xs, ys, strict=True))
    assert shamir.Interpolant(points)(at) == _naive_lagrange(points, at)
    assert shamir.interpolate_at(points, at) == _naive_lagrange(points, at)


def test_interpolant_through_t_shares_reproduces_every_other_share():
    secret = os.urandom(32)
    xs = list(range(3, 35))
    ys = shamir.share(secret, xs, 17)
    poly = shamir.Interpolant(list(zip(xs[5:22], ys[5:22], strict=True)))
    assert poly(0) == int.from_bytes(secret, "big")
    assert [poly(x) for x in xs] == ys
    assert poly(xs[0]) != (ys[0] + 1) % shamir.PRIME


def test_the_all_ff_secret_fits_the_field():
    secret = b"\xff" * 32
    ys = shamir.share(secret, [1, 2, 3], 2)
    assert shamir.combine([(2, ys[1]), (3, ys[2])]) == secret


def test_share_bytes_round_trip_and_out_of_field_values_are_refused():
    y = shamir.PRIME - 1
    assert shamir.share_from_bytes(shamir.share_to_bytes(y)) == y
    with pytest.raises(ValueError, match="field"):
        shamir.share_from_bytes(shamir.PRIME.to_bytes(33, "big"))
    with pytest.raises(ValueError, match="33 bytes"):
        shamir.share_from_bytes(b"\x00" * 32)


def test_duplicate_x_coordinates_are_refused():
    with pytest.raises(ValueError, match="distinct"):
        shamir.share(os.urandom(32), [1, 1, 2], 2)
    with pytest.raises(ValueError, match="distinct"):
        shamir.combine([(1, 5), (1, 6)])


def test_threshold_outside_range_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        shamir.share(os.urandom(32), [1, 2], 3)


# -- AES-GCM ---------------------------------------------------------------------------------

A = "0x" + "11" * 20
B = "0x" + "22" * 20
C = "0x" + "33" * 20
CONTRACT = "0x" + "44" * 20


def _aad(**over):
    fields = {"chain_id": 1, "contract": CONTRACT, "round_id": 5, "sender": A, "recipient": B}
    fields.update(over)
    return share_aad(**fields)


def test_share_encryption_round_trips():
    key = os.urandom(32)
    assert decrypt(key, encrypt(key, b"share pair", _aad()), _aad()) == b"share pair"


@pytest.mark.parametrize(
    "change",
    [
        {"round_id": 6},
        {"sender": C},
        {"recipient": C},
        {"sender": B, "recipient": A},
        {"chain_id": 2},
        {"contract": C},
    ],
    ids=["round", "sender", "recipient", "swapped", "chain", "contract"],
)
def test_share_ciphertext_is_rejected_under_a_different_binding(change):
    key = os.urandom(32)
    blob = encrypt(key, b"share pair", _aad())
    with pytest.raises(DecryptionError, match="authentication"):
        decrypt(key, blob, _aad(**change))


def test_tampered_share_ciphertext_is_rejected():
    key = os.urandom(32)
    blob = bytearray(encrypt(key, b"share pair", _aad()))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        decrypt(key, bytes(blob), _aad())


# -- PRG -------------------------------------------------------------------------------------


def test_prg_is_deterministic_per_seed_and_domain():
    seed = os.urandom(32)
    assert np.array_equal(
        prg_uint32(seed, PRG_SELF_INFO, 1000), prg_uint32(seed, PRG_SELF_INFO, 1000)
    )


def test_prg_domains_and_seeds_are_separated():
    seed = os.urandom(32)
    a = prg_uint32(seed, PRG_SELF_INFO, 256)
    b = prg_uint32(seed, PRG_PAIRWISE_INFO, 256)
    c = prg_uint32(os.urandom(32), PRG_SELF_INFO, 256)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_prg_is_the_aes_ctr_keystream_read_as_little_endian_uint32():
    seed = os.urandom(32)
    key = hkdf_sha256(seed, PRG_SELF_INFO)
    stream = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor().update(bytes(40))
    words = [int.from_bytes(stream[i : i + 4], "little") for i in range(0, 40, 4)]
    assert prg_uint32(seed, PRG_SELF_INFO, 10).tolist() == words


def test_prg_prefix_is_stable_across_lengths():
    seed = os.urandom(32)
    assert np.array_equal(
        prg_uint32(seed, PRG_SELF_INFO, 7), prg_uint32(seed, PRG_SELF_INFO, 100)[:7]
    )


def test_mask_add_then_subtract_restores_the_vector_mod_2_32():
    x = np.arange(1000, dtype=np.uint32) * np.uint32(4_000_000)
    y = x.copy()
    ex = MaskExpander(x.size)
    seed = os.urandom(32)
    ex.add(y, seed, PRG_PAIRWISE_INFO)
    assert not np.array_equal(x, y)
    ex.subtract(y, seed, PRG_PAIRWISE_INFO)
    assert np.array_equal(x, y)


def test_prg_refuses_a_short_seed():
    with pytest.raises(ValueError, match="32 bytes"):
        prg_uint32(b"short", PRG_SELF_INFO, 4)


# -- X25519 and key bundles ------------------------------------------------------------------


def test_x25519_agreement_is_symmetric_and_public_key_derivable():
    a, b = KeyPair.generate(), KeyPair.generate()
    assert x25519(a.private, b.public) == x25519(b.private, a.public)
    assert public_from_private(a.private) == a.public
    assert a.private.hex() not in repr(a)


def _bundle(ctx, account, **over):
    # Real public keys: random bytes are non-canonical half the time (top bit) and refused.
    keys = {"channel_key": KeyPair.generate().public, "mask_key": KeyPair.generate().public}
    return KeyBundle.create(ctx, account.key, account.address, **keys)


def test_a_signed_bundle_verifies(ctx, account_pool):
    _bundle(ctx, account_pool[0]).verify(ctx)


def test_a_verified_bundle_is_checked_once_per_context(ctx, account_pool, monkeypatch):
    from fedledger.secagg import RoundContext
    from fedledger.secagg.crypto import keys

    b = _bundle(ctx, account_pool[2])
    calls = [0]
    real = keys.recover_typed_signer

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(keys, "recover_typed_signer", counting)
    b.verify(ctx)
    b.verify(ctx)
    assert calls[0] == 1
    with pytest.raises(ProtocolError, match="signature"):  # another chain is checked anew
        b.verify(RoundContext(ctx.chain_id + 1, ctx.contract, ctx.round_id))
    assert calls[0] == 2


def test_a_bundle_signed_by_another_account_is_rejected(ctx, account_pool):
    honest = _bundle(ctx, account_pool[0])
    forged = KeyBundle.create(
        ctx,
        account_pool[1].key,  # the coordinator (or anyone) signing for participant 0
        account_pool[0].address,
        channel_key=honest.channel_key,
        mask_key=os.urandom(32),
    )
    with pytest.raises(ProtocolError, match="signature"):
        forged.verify(ctx)


def test_a_bundle_with_a_swapped_key_is_rejected(ctx, account_pool):
    b = _bundle(ctx, account_pool[0])
    swapped = KeyBundle(b.round_id, b.participant, b.channel_key, os.urandom(32), b.signature)
    with pytest.raises(ProtocolError, match="signature"):
        swapped.verify(ctx)


def test_a_bundle_from_another_chain_or_contract_is_rejected(ctx, account_pool):
    from fedledger.secagg import RoundContext

    b = _bundle(ctx, account_pool[0])
    for other in (
        RoundContext(ctx.chain_id + 1, ctx.contract, ctx.round_id),
        RoundContext(ctx.chain_id, "0x" + "99" * 20, ctx.round_id),
    ):
        with pytest.raises(ProtocolError, match="signature"):
            b.verify(other)


def test_a_bundle_from_another_round_is_rejected(ctx, account_pool):
    from fedledger.secagg import RoundContext

    b = _bundle(ctx, account_pool[0])
    with pytest.raises(ProtocolError, match="round"):
        b.verify(RoundContext(ctx.chain_id, ctx.contract, ctx.round_id + 1))
    relabelled = KeyBundle(ctx.round_id + 1, b.participant, b.channel_key, b.mask_key, b.signature)
    with pytest.raises(ProtocolError, match="signature"):
        relabelled.verify(RoundContext(ctx.chain_id, ctx.contract, ctx.round_id + 1))


def test_a_malformed_bundle_names_its_field():
    with pytest.raises(ProtocolError, match="maskKey"):
        KeyBundle(1, "0x" + "11" * 20, b"\x00" * 32, b"\x00" * 31, b"\x00" * 65)
    with pytest.raises(ProtocolError, match="participant"):
        KeyBundle(1, "not an address", b"\x00" * 32, b"\x00" * 32, b"\x00" * 65)


# -- EIP-712 digests ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    chain_id=st.integers(1, 2**256 - 1),
    round_id=st.integers(0, 2**256 - 1),
    raw=st.lists(st.binary(min_size=20, max_size=20), min_size=2, max_size=2),
    key=st.binary(min_size=32, max_size=32),
    stage=st.text(max_size=20),
)
def test_typed_signable_equals_eth_accounts_encoder(chain_id, round_id, raw, key, stage):
    from eth_account.messages import encode_typed_data
    from eth_utils import to_checksum_address

    from fedledger.secagg.crypto.keys import bundle_typed_data, eip712_message, typed_signable

    contract, participant = (to_checksum_address(r) for r in raw)
    messages = [
        bundle_typed_data(
            chain_id=chain_id,
            contract=contract,
            round_id=round_id,
            participant=participant,
            channel_key=key,
            mask_key=key[::-1],
        ),
        eip712_message(
            "SignedMessage",
            [("round", "uint256"), ("stage", "string"), ("signer", "address"), ("h", "bytes32")],
            {"round": round_id, "stage": stage, "signer": participant, "h": key},
            chain_id=chain_id,
            contract=contract,
        ),
    ]
    for message in messages:
        assert typed_signable(message) == encode_typed_data(full_message=message)


def test_typed_signable_hands_nested_or_unusual_messages_to_eth_account():
    from eth_account.messages import encode_typed_data

    from fedledger.secagg.crypto.keys import eip712_message, typed_signable

    lower = eip712_message(
        "Note",
        [("who", "address"), ("tags", "uint8[]")],
        {"who": "0x" + "ab" * 20, "tags": [1, 2]},
        chain_id=1,
        contract="0x" + "11" * 20,
    )
    assert typed_signable(lower) == encode_typed_data(full_message=lower)


def test_fedledger_messages_are_hashed_without_eth_accounts_generic_encoder(monkeypatch):
    from eth_account.messages import encode_typed_data

    from fedledger.secagg.crypto import keys

    message = keys.bundle_typed_data(
        chain_id=31337,
        contract=CONTRACT,
        round_id=3,
        participant=A,
        channel_key=bytes(32),
        mask_key=b"\x01" * 32,
    )
    expected = encode_typed_data(full_message=message)

    def refuse(**_: object) -> None:
        raise AssertionError("generic encoder used")

    monkeypatch.setattr(keys, "encode_typed_data", refuse)
    assert keys.typed_signable(message) == expected


def test_weights_precomputed_together_equal_weights_computed_alone():
    bases = [(1, 2, 3), (5, 9, 11, 40), (7,), (2, 1000, 3)]
    shamir.clear_weights()
    alone = [shamir.lagrange_weights(xs) for xs in bases]
    shamir.clear_weights()
    shamir.precompute_weights(bases)
    assert [shamir.lagrange_weights(xs) for xs in bases] == alone
    for xs, weights in zip(bases, alone, strict=True):
        for i, xi in enumerate(xs):
            den = 1
            for xj in xs:
                if xj != xi:
                    den = den * (xi - xj) % shamir.PRIME
            assert weights[i] * den % shamir.PRIME == 1


@settings(max_examples=25, deadline=None)
@given(
    threshold=st.integers(1, 12),
    extra=st.integers(0, 10),
    data=st.data(),
)
def test_batched_share_check_equals_the_textbook_one_with_dropouts(threshold, extra, data):
    """off_polynomial (cached weights, warmed in one batch) names exactly the shares the
    textbook formula puts off the lowest-t polynomial, after dropouts and corruptions."""
    k = threshold + extra + data.draw(st.integers(0, 6), label="dropouts")
    xs = data.draw(st.lists(st.integers(1, 400), min_size=k, max_size=k, unique=True))
    ys = shamir.share(os.urandom(32), xs, threshold)
    points = list(zip(xs, ys, strict=True))
    kept = data.draw(st.lists(st.sampled_from(points), min_size=threshold, unique=True))
    corrupt = data.draw(st.sets(st.integers(0, len(kept) - 1), max_size=3))
    kept = [(x, (y + 1) % shamir.PRIME if i in corrupt else y) for i, (x, y) in enumerate(kept)]
    ordered = sorted(kept)
    basis = ordered[:threshold]
    expected_off = [x for x, y in ordered if _naive_lagrange(basis, x) != y]
    shamir.clear_weights()
    shamir.precompute_weights([tuple(x for x, _ in basis), (1, 2)])
    assert shamir.off_polynomial(kept, threshold) == (_naive_lagrange(basis, 0), expected_off)
