"""The check framework and single verify_round checks, each called on its own."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from fedledger.errors import ConfigError
from fedledger.secagg import PublicTranscript, SecAggParams, simulate_round
from fedledger.secagg.checks import (
    Check,
    CheckContext,
    CheckFailed,
    Outcome,
    run_check,
    run_checks,
)
from fedledger.secagg.verify import (
    Verification,
    dropped_mask_keys,
    neighbour_graph,
    participation,
    reveal_hash,
    roster_hash,
    roster_signatures,
    survivors_dropped_partition,
)


@dataclass
class _Toy(CheckContext):
    seen: list[str]


def _passes(ctx: _Toy) -> Outcome:
    ctx.seen.append("passes")
    return "one", 1


def _fails(ctx: _Toy) -> Outcome:
    ctx.seen.append("fails")
    raise CheckFailed("two is not three", 3, 2)


def _crashes(ctx: _Toy) -> Outcome:
    ctx.seen.append("crashes")
    raise ConfigError("bad input")


def _depends(ctx: _Toy) -> Outcome:
    ctx.need("_fails")
    return None, None


def test_run_checks_runs_every_check_in_order_and_records_each_outcome() -> None:
    ctx = _Toy(seen=[])

    results = run_checks((_passes, _fails, _crashes, _depends), ctx)

    assert ctx.seen == ["passes", "fails", "crashes"]
    assert results == [
        Check("_passes", True, "one", 1),
        Check("_fails", False, 3, 2, "two is not three"),
        Check("_crashes", False, None, None, "ConfigError: bad input"),
        Check("_depends", False, None, None, "cannot check: _fails failed"),
    ]
    assert ctx.failed == {
        "_fails": "two is not three",
        "_crashes": "bad input",
        "_depends": "cannot check: _fails failed",
    }


def test_run_check_lets_a_programming_error_propagate() -> None:
    def broken(ctx: _Toy) -> Outcome:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_check(broken, _Toy(seen=[]))


@pytest.fixture(scope="module")
def transcript(account_pool) -> PublicTranscript:
    params = SecAggParams(neighbours=4, threshold=2, clip_range=1.0, quant_bits=16, max_weight=100)
    rng = np.random.default_rng(5)
    updates = [(rng.uniform(-1, 1, 4), int(rng.integers(1, 50))) for _ in range(6)]
    sim = simulate_round(
        updates,
        params=params,
        accounts=account_pool[:6],
        dropout={"masked_input": {0}},
        min_participants=3,
    )
    return sim.transcript


def _parsed(t: PublicTranscript) -> Verification:
    """A Verification after the checks that parse the roster, graph and reveal."""
    v = Verification(t)
    for check in (roster_signatures, neighbour_graph, reveal_hash):
        check(v)
    return v


def test_roster_hash_alone_reports_expected_and_found_hashes(transcript) -> None:
    expected, found = roster_hash(Verification(transcript))
    assert expected == found == "0x" + transcript.roster_hash.hex()

    t = replace(transcript, roster_hash=bytes(32))
    with pytest.raises(CheckFailed) as failed:
        roster_hash(Verification(t))
    assert failed.value.expected == "0x" + bytes(32).hex()
    assert failed.value.found == "0x" + transcript.roster_hash.hex()


def test_partition_alone_cannot_check_before_the_documents_parse(transcript) -> None:
    with pytest.raises(CheckFailed, match="roster or reveal blob does not parse"):
        survivors_dropped_partition(Verification(transcript))


def test_partition_alone_fails_on_survivors_the_reveal_does_not_name(transcript) -> None:
    v = _parsed(transcript)
    v.transcript = replace(transcript, survivors=list(transcript.survivors)[1:])

    with pytest.raises(CheckFailed, match="reveal survivors differ from the on-chain survivors"):
        survivors_dropped_partition(v)


def test_dropped_mask_keys_alone_stops_when_the_graph_check_failed(transcript) -> None:
    v = _parsed(transcript)
    v.failed["neighbour_graph"] = "threshold exceeds the graph degree"

    with pytest.raises(CheckFailed, match="cannot check: neighbour_graph failed"):
        dropped_mask_keys(v)


def test_dropped_mask_keys_alone_passes_on_an_honest_reveal(transcript) -> None:
    v = _parsed(transcript)
    expected, found = dropped_mask_keys(v)
    assert expected == "X25519 public(s_v^SK) == signed maskKey"
    assert found == f"{len(v.reveal.mask_keys)} keys match"


def test_participation_alone_fails_when_survivors_are_below_min_participants(transcript) -> None:
    survivors = len(transcript.survivors)
    v = _parsed(transcript)
    v.transcript = replace(transcript, min_participants=survivors + 1)

    with pytest.raises(CheckFailed, match="fewer survivors") as failed:
        participation(v)
    assert failed.value.found["survivors"] == survivors
    assert failed.value.expected["survivors_at_least"] == survivors + 1
