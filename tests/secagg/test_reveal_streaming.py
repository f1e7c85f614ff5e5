"""The reveal written response by response (`Reveal.write_to`) is byte for byte `to_bytes()`."""

from __future__ import annotations

import io

import numpy as np
import pytest

from fedledger.encoding import sha256
from fedledger.secagg import simulate_round
from fedledger.secagg.messages import Reveal

ROUNDS = {
    "honest": {},
    "dropouts": {"dropout": {"share_keys": [9], "masked_input": [5], "unmask": [6]}},
    "bad_shares": {"bad_shares": {0}},
    "garbage_share_reports": {"garbage_shares": [(1, 3)]},
}


@pytest.mark.parametrize("kind", sorted(ROUNDS))
def test_streamed_reveal_is_to_bytes(kind, params, account_pool, make_updates) -> None:
    n = 10 if kind == "dropouts" else 7  # 7: k = 6 is the complete graph
    sim = simulate_round(
        make_updates(np.random.default_rng(3), n, 4),
        params=params,
        accounts=account_pool[:n],
        **ROUNDS[kind],
    )
    reveal = sim.result.reveal
    out = io.BytesIO()

    reveal.write_to(out)

    assert out.getvalue() == reveal.to_bytes()
    assert sha256(out.getvalue()) == sim.result.reveal_hash == sim.transcript.reveal_hash
    assert Reveal.from_bytes(out.getvalue()).to_bytes() == out.getvalue()


def test_a_round_with_everything_at_once_streams_the_same_bytes(
    params, account_pool, make_updates
) -> None:
    n = 7
    sim = simulate_round(
        make_updates(np.random.default_rng(4), n, 4),
        params=params,
        accounts=account_pool[:n],
        dropout={"masked_input": [5]},
        bad_shares={0},
        garbage_shares=[(1, 3)],
    )
    reveal = sim.result.reveal
    assert (
        reveal.bad_shares
        and reveal.mask_keys
        and any(r.dropouts for r in reveal.local_dropouts.values())
    ), "the round must carry every optional part of a reveal"
    out = io.BytesIO()

    reveal.write_to(out)

    assert out.getvalue() == reveal.to_bytes()
