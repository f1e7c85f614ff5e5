"""Whole rounds through RoundCoordinator + Participant on eth-tester: finalize, drops, failures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fedledger.audit.transcript import build_transcript
from fedledger.chain import DEFAULT_ROUND_CONFIG, Stage, fetch_events
from fedledger.encoding import sha256
from fedledger.secagg.messages import Reveal, Roster
from fedledger.secagg.verify import verify_round
from fedledger.sim.simulation import Simulation

TOKEN = 10**18
CONFIG = DEFAULT_ROUND_CONFIG.replace(neighbours=4, threshold=3, slash_bps=0)
N = 6


@pytest.fixture
def small_sim(new_sim: Callable[..., Simulation]) -> Callable[..., Simulation]:
    """small_sim(tmp_path, dropouts): six participants, logistic regression, one local epoch."""

    def make(tmp_path: Path, dropouts: dict[int, dict[int, str]] | None = None) -> Simulation:
        return new_sim(
            tmp_path / "sim", participants=N, round_config=CONFIG, dropouts=dropouts or {}
        )

    return make


@pytest.fixture
def sim(small_sim: Callable[..., Simulation], tmp_path: Path) -> Iterator[Simulation]:
    s = small_sim(tmp_path)
    try:
        yield s
    finally:
        s.close()


def test_full_round_finalizes_on_chain_and_verifies_from_chain_and_store(sim: Simulation) -> None:
    result = sim.run_round()

    info = sim.contracts.round_log.get_round(1)
    assert result.outcome == "finalized"
    assert info.stage == Stage.FINALIZED
    assert (info.member_count, info.committed_count) == (N, N)
    roster = Roster.from_bytes(sim.store.get(info.roster_hash.hex()))
    assert sha256(roster.to_bytes()) == info.roster_hash
    assert sorted(roster.addresses) == sorted(a.address for a in sim.accounts)
    reveal = Reveal.from_bytes(sim.store.get(info.reveal_hash.hex()))
    assert len(reveal.survivors) == N and not reveal.dropped
    assert info.new_model_hash.hex() == result.new_model_hash[2:]
    assert sim.contracts.round_log.latest_model_hash() == info.new_model_hash
    assert info.model_hash == sim.coordinator.genesis_hash
    assert info.roster_root == roster.tree().root and info.survivor_count == N
    first = roster.tree().member(1, sim.accounts[0].address)
    assert sim.contracts.round_log.claimable(1, sim.accounts[0].address, first.index) == 10 * TOKEN
    sim.contracts.round_log.claim([first], sender=sim.accounts[0])
    assert sim.contracts.round_log.is_claimed(1, sim.accounts[0].address)
    report = verify_round(build_transcript(sim.chain, sim.contracts, sim.store, 1))
    assert report.ok, report.failed
    assert result.verified is True and result.survivors == N
    assert set(result.gas) >= {"openRound", "postRoster", "finalize", "commit_each"}
    assert result.accuracy is not None and 0.0 < result.accuracy <= 1.0


def test_second_round_trains_the_model_the_first_round_finalized(sim: Simulation) -> None:
    first = sim.run_round()
    second = sim.run_round()

    assert second.model_hash == first.new_model_hash
    assert sim.contracts.round_log.get_round(2).stage == Stage.FINALIZED
    assert second.verified is True


@pytest.mark.parametrize(
    ("point", "survivors", "stage"),
    [
        ("before_keys", N - 1, "advertise_keys"),
        ("after_keys", N - 1, "share_keys"),
        ("after_shares", N - 1, "masked_input"),
        # Committed and uploaded but went silent: found on chain + store, so still a survivor.
        ("after_commit", N, "unmask"),
        ("during_unmask", N, "unmask"),
    ],
)
def test_one_dropout_at_each_stage_still_finalizes_and_verifies(
    small_sim: Callable[..., Simulation], tmp_path: Path, point: str, survivors: int, stage: str
) -> None:
    sim = small_sim(tmp_path, {1: {2: point}})
    try:
        result = sim.run_round()
        dropped_address = sim.accounts[2].address

        assert result.outcome == "finalized", result.reason
        assert result.survivors == survivors
        assert result.dropped == {dropped_address: stage}
        assert result.verified is True, result.failed_checks
        info = sim.contracts.round_log.get_round(1)
        assert info.stage == Stage.FINALIZED
        reveal = Reveal.from_bytes(sim.store.get(info.reveal_hash.hex()))
        if point in ("after_keys",):
            assert dropped_address in reveal.unshared
        if point == "after_shares":
            assert dropped_address in reveal.dropped and dropped_address in reveal.mask_keys
    finally:
        sim.close()


def _failure_reason(sim: Simulation, round_id: int) -> str:
    events = fetch_events(sim.chain, sim.contracts.round_log.address, names=["RoundFailed"])
    return next(str(e.args["reason"]) for e in events if int(e.args["round"]) == round_id)


def test_too_few_survivors_fails_the_round_on_chain_with_the_reason(
    small_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    # threshold 3 and min 3: four of six going silent after sharing leaves two survivors.
    sim = small_sim(tmp_path, {1: {i: "after_shares" for i in range(4)}})
    try:
        result = sim.run_round()

        assert result.outcome == "failed"
        assert result.reason == "too_few_survivors"
        assert sim.contracts.round_log.get_round(1).stage == Stage.FAILED
        assert _failure_reason(sim, 1) == "too_few_survivors"
        assert result.verified is None
    finally:
        sim.close()


def test_too_few_key_bundles_fails_the_round_before_the_roster(
    small_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    # The contract wants at least threshold + 1 = 4 roster members.
    sim = small_sim(tmp_path, {1: {i: "before_keys" for i in range(3)}})
    try:
        result = sim.run_round()

        assert (result.outcome, result.reason) == ("failed", "too_few_participants")
        info = sim.contracts.round_log.get_round(1)
        assert info.stage == Stage.FAILED and info.member_count == 0
        assert _failure_reason(sim, 1) == "too_few_participants"
    finally:
        sim.close()


def test_too_few_unmask_answers_fails_with_too_few_shares(
    small_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    # Everyone commits, but four survivors stay silent in unmask: nobody has 3 shares of a seed.
    sim = small_sim(tmp_path, {1: {i: "during_unmask" for i in range(4)}})
    try:
        result = sim.run_round()

        assert result.outcome == "failed"
        assert result.reason == "too_few_shares"
        assert _failure_reason(sim, 1) == "too_few_shares"
    finally:
        sim.close()


def test_a_failed_round_keeps_the_model_for_the_next_round(
    small_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    sim = small_sim(tmp_path, {1: {i: "after_shares" for i in range(4)}})
    try:
        failed = sim.run_round()
        again = sim.run_round()

        assert failed.outcome == "failed"
        assert again.outcome == "finalized"
        assert again.model_hash == failed.model_hash
    finally:
        sim.close()


def test_coordinator_restarted_after_every_step_completes_the_round(
    small_sim: Callable[..., Simulation], tmp_path: Path
) -> None:
    sim = small_sim(tmp_path, {1: {1: "after_shares"}})
    try:
        result = sim.run_round(restart_every_step=True)

        assert result.outcome == "finalized"
        assert result.survivors == N - 1
        assert result.verified is True, result.failed_checks
        journal = sim.state_dir / "coordinator" / "rounds" / "000001" / "journal.jsonl"
        kinds = [line.split('"t":"')[1].split('"')[0] for line in journal.read_text().splitlines()]
        assert kinds.count("keys") == N and kinds.count("shares") == N
        assert kinds.count("masked") == N - 1 and kinds.count("unmask") == N - 1
        assert kinds[-1] == "report"
    finally:
        sim.close()
