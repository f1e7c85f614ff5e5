"""Work shared between the members a process simulates gives what each would compute alone."""

from __future__ import annotations

import os

import numpy as np
import pytest
from eth_account import Account

from fedledger.secagg.crypto.keys import KeyPair
from fedledger.secagg.graph import _build_graph, build_graph
from fedledger.secagg.masking import channel_key, pair_keys, pairwise_seed
from fedledger.secagg.params import RoundContext
from fedledger.secagg.vectors import VectorFormatError, decode_vector, encode_vector, npy_header


def test_the_graph_is_built_once_per_n_k_and_seed_and_equals_a_fresh_build() -> None:
    seed = os.urandom(32)
    graph = build_graph(301, 40, seed)

    assert build_graph(301, 40, seed) is graph
    assert graph == _build_graph(301, 40, seed)
    assert build_graph(301, 40, os.urandom(32)) != graph
    assert build_graph(301, 42, seed) != graph


def test_pair_keys_match_the_channel_key_and_pairwise_seed_of_each_peer() -> None:
    ctx = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 7)
    me, channel, mask = Account.create().address, KeyPair.generate(), KeyPair.generate()
    peers = [(Account.create().address, KeyPair.generate(), KeyPair.generate()) for _ in range(5)]

    keys = pair_keys(
        ctx,
        channel_private=channel.private,
        mask_private=mask.private,
        me=me,
        peers=[(v, c.public, m.public) for v, c, m in peers],
    )

    assert keys == [
        (
            channel_key(ctx, channel.private, c.public, me, v),
            pairwise_seed(ctx, mask.private, m.public, me, v),
        )
        for v, c, m in peers
    ]


def test_pair_keys_refuse_a_low_order_peer_key() -> None:
    ctx = RoundContext(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 7)
    mine = KeyPair.generate()

    with pytest.raises(ValueError, match="low-order"):
        pair_keys(
            ctx,
            channel_private=mine.private,
            mask_private=mine.private,
            me=Account.create().address,
            peers=[(Account.create().address, KeyPair.generate().public, bytes(32))],
        )


@pytest.mark.parametrize("count", [0, 1, 651, 70_000])
def test_a_canonical_vector_blob_decodes_to_its_words(count: int) -> None:
    v = np.arange(count, dtype=np.uint32)

    assert np.array_equal(decode_vector(encode_vector(v), length=count), v)
    assert np.array_equal(decode_vector(encode_vector(v)), v)


def test_a_header_that_parses_to_the_same_dict_but_is_not_canonical_is_refused() -> None:
    canonical = npy_header(3)
    body = b"{'descr':'<u4','fortran_order':False,'shape':(3,)}"
    padded = body + b" " * (len(canonical) - 10 - len(body) - 1) + b"\n"
    blob = canonical[:10] + padded + bytes(12)
    assert len(padded) == len(canonical) - 10

    with pytest.raises(VectorFormatError, match="canonical"):
        decode_vector(blob, length=3)


def test_a_canonical_header_with_too_few_data_bytes_is_refused() -> None:
    blob = encode_vector(np.zeros(3, dtype=np.uint32))

    with pytest.raises(VectorFormatError, match="header says 3"):
        decode_vector(blob[:-4], length=2)
