"""RoundCoordinator message checks: idempotent resubmission, conflicts, outsiders, wrong stage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account

from fedledger.chain import DEFAULT_ROUND_CONFIG
from fedledger.coordinator.state import RoundJournal
from fedledger.errors import ProtocolError
from fedledger.protocol.refusals import (
    ConflictingSubmission,
    NotInRoster,
    NotReady,
    NotRegistered,
    WrongStage,
)
from fedledger.secagg.constants import MASKED_INPUT, SHARE_KEYS
from fedledger.secagg.messages import KeyBundle, ShareKeysMessage
from fedledger.secagg.params import RoundContext
from fedledger.sim.simulation import Simulation

CONFIG = DEFAULT_ROUND_CONFIG.replace(
    neighbours=4, threshold=3, reward_per_contribution=0, reward_cap=0, slash_bps=0
)


@pytest.fixture
def sim(new_sim: Callable[..., Simulation], tmp_path: Path) -> Iterator[Simulation]:
    s = new_sim(tmp_path / "sim", participants=5, round_config=CONFIG, verify=False)
    try:
        yield s
    finally:
        s.close()


def _open(sim: Simulation) -> int:
    round_id = sim.coordinator.open_round().round_id
    for p in sim.participants:
        p.start_round(round_id)
    return round_id


def test_resubmitting_the_same_bundle_is_accepted_once(sim: Simulation) -> None:
    _open(sim)
    p = sim.participants[0]
    bundle = p.advertise_keys()

    sim.coordinator.submit_keys(bundle)
    sim.coordinator.submit_keys(bundle)

    assert sim.coordinator.status().counts["bundles"] == 1


def test_a_second_different_bundle_is_refused_as_conflicting(sim: Simulation) -> None:
    _open(sim)
    p = sim.participants[0]
    sim.coordinator.submit_keys(p.advertise_keys())

    with pytest.raises(ConflictingSubmission, match="already advertised"):
        sim.coordinator.submit_keys(p.advertise_keys())  # fresh keys for the same address


def test_a_bundle_from_an_unregistered_account_is_refused(sim: Simulation) -> None:
    round_id = _open(sim)
    outsider = Account.create()
    ctx = RoundContext(sim.chain.chain_id, sim.contracts.round_log.address, round_id)
    bundle = KeyBundle.create(
        ctx, outsider.key, outsider.address, channel_key=b"\x09" * 32, mask_key=b"\x09" * 32
    )

    with pytest.raises(NotRegistered, match="not a registered participant") as err:
        sim.coordinator.submit_keys(bundle)
    assert err.value.field == "participant"


def test_a_bundle_signed_for_another_round_is_refused(sim: Simulation) -> None:
    round_id = _open(sim)
    p = sim.accounts[0]
    ctx = RoundContext(sim.chain.chain_id, sim.contracts.round_log.address, round_id + 1)
    bundle = KeyBundle.create(
        ctx, p.key, p.address, channel_key=b"\x09" * 32, mask_key=b"\x09" * 32
    )

    with pytest.raises(ProtocolError, match="round"):
        sim.coordinator.submit_keys(bundle)


def _to_share_stage(sim: Simulation, *, skip: int | None = None) -> None:
    for i, p in enumerate(sim.participants):
        if i != skip:
            sim.coordinator.submit_keys(p.advertise_keys())
    sim.clock.advance_to(sim.coordinator.status().stage_deadline or 0)
    status = sim.coordinator.tick()
    assert status.stage == SHARE_KEYS and status.roster_posted


def test_shares_sent_during_the_key_stage_are_refused_as_wrong_stage(sim: Simulation) -> None:
    _open(sim)
    p = sim.participants[0]
    sim.coordinator.submit_keys(p.advertise_keys())
    empty = ShareKeysMessage(p.address, ())

    with pytest.raises(WrongStage, match="advertise_keys"):
        sim.coordinator.submit_shares(empty)
    with pytest.raises(NotReady, match="share-keys stage has not closed"):
        sim.coordinator.shares_for(p.address)
    with pytest.raises(NotReady, match="not fixed yet"):
        sim.coordinator.roster()


def test_shares_from_a_registered_participant_outside_the_roster_are_refused(
    sim: Simulation,
) -> None:
    _open(sim)
    _to_share_stage(sim, skip=4)
    late = ShareKeysMessage(sim.accounts[4].address, ())

    with pytest.raises(NotInRoster, match="not in the roster"):
        sim.coordinator.submit_shares(late)


def test_resubmitted_shares_are_idempotent(sim: Simulation) -> None:
    _open(sim)
    _to_share_stage(sim)
    message = sim.participants[0].share_keys()

    sim.coordinator.submit_shares(message)
    sim.coordinator.submit_shares(message)

    assert sim.coordinator.status().counts["sharers"] == 1


def test_a_masked_input_that_differs_from_the_on_chain_commitment_is_refused(
    sim: Simulation,
) -> None:
    _open(sim)
    _to_share_stage(sim)
    for p in sim.participants:
        sim.coordinator.submit_shares(p.share_keys())
    assert sim.coordinator.tick().stage == MASKED_INPUT
    p = sim.participants[0]
    masked_hash, seed_c = p.masked_input(sim.coordinator.shares_for(p.address))

    with pytest.raises(ProtocolError, match="on-chain commitment") as err:
        sim.coordinator.submit_masked(p.address, bytes(32), seed_c)
    assert err.value.field == "maskedHash"
    sim.coordinator.submit_masked(p.address, masked_hash, seed_c)
    sim.coordinator.submit_masked(p.address, masked_hash, seed_c)  # idempotent
    assert sim.coordinator.status().counts["masked"] == 1


def test_a_masked_input_before_the_on_chain_commit_is_refused(sim: Simulation) -> None:
    _open(sim)
    _to_share_stage(sim)
    for p in sim.participants:
        sim.coordinator.submit_shares(p.share_keys())
    sim.coordinator.tick()

    with pytest.raises(ProtocolError, match="not committed on chain"):
        sim.coordinator.submit_masked(sim.accounts[0].address, b"\x01" * 32, b"\x02" * 32)


def test_opening_a_round_while_one_runs_is_refused(sim: Simulation) -> None:
    _open(sim)

    with pytest.raises(WrongStage, match="still in stage"):
        sim.coordinator.open_round()


def test_journal_drops_a_torn_last_line(tmp_path: Path) -> None:
    journal = RoundJournal(tmp_path / "j.jsonl", fsync=False)
    journal.append({"t": "a"})
    journal.append({"t": "b"})
    journal.close()
    with (tmp_path / "j.jsonl").open("ab") as fh:
        fh.write(b'{"t":"half')

    entries = RoundJournal(tmp_path / "j.jsonl").read()

    assert entries == [{"t": "a"}, {"t": "b"}]
    assert (tmp_path / "j.jsonl").read_bytes().endswith(b'{"t":"b"}\n')


def test_round_status_survives_its_json_form_unchanged() -> None:
    from fedledger.protocol.status import RoundStatus

    status = RoundStatus(
        round_id=3,
        stage="unmask",
        chain_id=31337,
        contract="0x" + "ab" * 20,
        model_hash="cd" * 32,
        params={"neighbours": 4, "threshold": 3},
        min_participants=3,
        roster_posted=True,
        members=5,
        counts={"keys": 5, "masked": 4},
        stage_deadline=12.5,
        commit_deadline=100,
        unmask_deadline=200,
        reason="",
    )

    assert RoundStatus.from_json(status.to_json()) == status
