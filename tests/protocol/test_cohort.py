"""judge_sample and read_candidates: a roster is the chain's sample, bundle for bundle."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import keccak

from fedledger.chain import RoundInfo, Stage
from fedledger.chain.accounts import derive_accounts
from fedledger.chain.cohort import cohort_sample
from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG
from fedledger.errors import ProtocolError
from fedledger.protocol.cohort import judge_sample, read_candidates
from fedledger.secagg import SecAggClient
from fedledger.secagg.messages import Roster
from fedledger.secagg.params import RoundContext

CTX = RoundContext(31337, "0x" + "ab" * 20, 3)
PARAMS = DEFAULT_ROUND_CONFIG.replace(neighbours=3, threshold=2).secagg_params()
SEED = keccak(b"sample seed")


def _bundles(n: int, tag: bytes = b"cohort") -> dict[str, object]:
    accounts = derive_accounts(b"fedledger-" + tag, n)
    return {
        a.address: SecAggClient(CTX, PARAMS, a, vector_length=4).advertise_keys() for a in accounts
    }


@pytest.fixture(scope="module")
def candidates() -> Roster:
    return Roster.build(CTX, _bundles(8).values())  # type: ignore[arg-type]


def _info(candidates: Roster, **changes: object) -> RoundInfo:
    base = RoundInfo(
        round=3, stage=Stage.ROSTERED, model_hash=bytes(32), seed=bytes(32),
        config=DEFAULT_ROUND_CONFIG.replace(cohort_size=5), roster_hash=bytes(32), member_count=5,
        committed_count=0, commit_deadline=0, unmask_deadline=0, aggregate_hash=bytes(32),
        reveal_hash=bytes(32), new_model_hash=bytes(32), opened_block=1,
        candidates_hash=candidates.hash(), candidate_count=len(candidates),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_sampled_roster_passes(candidates: Roster) -> None:
    sampled = cohort_sample(candidates.addresses, SEED, 5)
    roster = Roster.build(CTX, [candidates.bundle(a) for a in sampled])

    verdict = judge_sample(candidates, roster, SEED, 5)

    assert verdict.ok and verdict.sampled == sampled and verdict.departures() == {}


def test_a_sampled_member_with_another_bundle_is_a_departure(candidates: Roster) -> None:
    sampled = cohort_sample(candidates.addresses, SEED, 5)
    other = SecAggClient(
        CTX,
        PARAMS,
        next(a for a in derive_accounts(b"fedledger-cohort", 8) if a.address == sampled[0]),
        vector_length=4,
    ).advertise_keys()  # the same account, fresh keys the aggregator made it sign elsewhere
    roster = Roster.build(CTX, [other, *(candidates.bundle(a) for a in sampled[1:])])

    verdict = judge_sample(candidates, roster, SEED, 5)

    assert not verdict.ok
    assert verdict.departures() == {"otherBundle": [sampled[0]]}


def test_read_candidates_refuses_another_count_or_hash(candidates: Roster) -> None:
    blob = candidates.to_bytes()
    assert read_candidates(blob, _info(candidates), CTX).addresses == candidates.addresses
    with pytest.raises(ProtocolError, match="candidateCount"):
        read_candidates(blob, _info(candidates, candidate_count=9), CTX)
    with pytest.raises(ProtocolError, match="candidatesHash"):
        read_candidates(blob, _info(candidates, candidates_hash=bytes(32)), CTX)
    with pytest.raises(ProtocolError):
        read_candidates(blob, _info(candidates), RoundContext(31337, "0x" + "ab" * 20, 4))
