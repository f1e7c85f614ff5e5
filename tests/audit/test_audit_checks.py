"""Single chain-side checks called on their own, on hand-built chain facts."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from fedledger.audit.transcript import AssembledRound, ChainRound
from fedledger.audit.verify import (
    ANY_STAGE_CHECKS,
    CHECKS,
    ChainAudit,
    chain_checks,
    commitment_slots,
    model_chain,
    round_stage,
    total_weight,
)
from fedledger.chain import DEFAULT_ROUND_CONFIG, RoundInfo, Stage
from fedledger.chain.datatypes import DecodedEvent
from fedledger.secagg.checks import CheckFailed, check_names
from fedledger.secagg.verify import CHECKS as SECAGG_CHECKS

PROTOCOL = Path(__file__).parents[2] / "docs" / "protocol.md"
ALICE = "0x" + "11" * 20
MODEL, PREVIOUS = b"\x0a" * 32, b"\x0b" * 32


def _info(stage: Stage, **changes) -> RoundInfo:
    info = RoundInfo(
        round=3,
        stage=stage,
        model_hash=MODEL,
        seed=b"\x01" * 32,
        config=DEFAULT_ROUND_CONFIG,
        roster_hash=b"\x02" * 32,
        member_count=1,
        committed_count=1,
        commit_deadline=100,
        unmask_deadline=200,
        aggregate_hash=bytes(32),
        reveal_hash=bytes(32),
        new_model_hash=bytes(32),
        opened_block=7,
        committed_weight=9,
    )
    return replace(info, **changes)


def _commit(participant: str, log_index: int = 0) -> DecodedEvent:
    args = {
        "participant": participant,
        "maskedUpdateHash": b"\x03" * 32,
        "seedCommitment": b"\x04" * 32,
        "weight": 9,
    }
    return DecodedEvent("UpdateCommitted", args, ALICE, 8, "0x" + "ab" * 32, log_index)


def _audit(stage: Stage, **chain) -> ChainAudit:
    return ChainAudit(AssembledRound(ChainRound(info=_info(stage), **chain)))


def _roster(members: list[str]) -> dict[str, object]:
    """ChainRound fields of a posted roster of `members` (the blob's tree had the root)."""
    args = {"rosterHash": b"\x02" * 32, "rosterRoot": b"\x05" * 32, "memberCount": len(members)}
    event = DecodedEvent("RosterPosted", args, ALICE, 7, "0x" + "cd" * 32, 0)
    return {"roster": event, "roster_members": members}


def _section_checks(section: str) -> list[str]:
    """The check names in the first column of a docs/protocol.md section's table."""
    text = PROTOCOL.read_text()
    body = re.search(rf"^### {re.escape(section)} .*?(?=^#)", text, flags=re.M | re.S)
    assert body is not None, f"no section {section} in {PROTOCOL}"
    return re.findall(r"^\| `(\w+)` \|", body.group(0), flags=re.M)


def test_checks_are_named_and_ordered_as_in_protocol_section_6() -> None:
    assert check_names(CHECKS) == _section_checks("6.B")
    assert check_names(SECAGG_CHECKS) == _section_checks("6.C")


@pytest.mark.parametrize("stage", [Stage.FINALIZED, Stage.FAILED])
def test_round_stage_alone_passes_for_a_finished_round(stage: Stage) -> None:
    assert round_stage(_audit(stage)) == ("finalized or failed", stage.name.lower())


def test_round_stage_alone_fails_for_a_round_in_progress() -> None:
    with pytest.raises(CheckFailed, match="still in progress") as failed:
        round_stage(_audit(Stage.ROSTERED))
    assert (failed.value.expected, failed.value.found) == ("finalized or failed", "rostered")


def test_model_chain_alone_accepts_any_model_in_the_first_round() -> None:
    expected, found = model_chain(_audit(Stage.FINALIZED))
    assert expected == "first finalized round: any starting model"
    assert found == "0x" + MODEL.hex()


def test_model_chain_alone_fails_when_the_round_skips_the_previous_model() -> None:
    with pytest.raises(CheckFailed, match="previous round's new model") as failed:
        model_chain(_audit(Stage.FINALIZED, previous_new_model=PREVIOUS))
    assert failed.value.expected == "0x" + PREVIOUS.hex()
    assert failed.value.found == "0x" + MODEL.hex()


def test_commitment_slots_alone_passes_when_the_stored_weight_matches_the_event() -> None:
    e = _commit(ALICE)
    audit = _audit(Stage.ROSTERED, **_roster([ALICE]), commits=[e], stored_weights={ALICE: 9})
    assert commitment_slots(audit)[1] == "1 commitments match"


def test_commitment_slots_alone_fails_when_the_stored_weight_differs() -> None:
    e = _commit(ALICE)
    audit = _audit(Stage.ROSTERED, **_roster([ALICE]), commits=[e], stored_weights={ALICE: 8})
    with pytest.raises(CheckFailed, match="differ from the stored weights") as failed:
        commitment_slots(audit)
    assert failed.value.found == {ALICE: {"event": 9, "stored": 8}}


def test_commitment_slots_alone_accepts_a_dropped_ledger_entry_only_after_a_claim() -> None:
    e = _commit(ALICE)
    chain = {**_roster([ALICE]), "commits": [e], "dropped": {ALICE}}
    audit = _audit(Stage.FINALIZED, **chain, claimed={ALICE: 10})
    assert commitment_slots(audit)[1] == "1 commitments match"
    with pytest.raises(CheckFailed, match="differ from the stored weights") as failed:
        commitment_slots(_audit(Stage.FINALIZED, **chain))
    assert failed.value.found == {ALICE: {"event": 9, "stored": "dropped, never claimed"}}


def test_commitment_slots_alone_fails_on_a_second_commit_of_one_participant() -> None:
    audit = _audit(
        Stage.ROSTERED,
        **_roster([ALICE]),
        commits=[_commit(ALICE, 0), _commit(ALICE, 1)],
        stored_weights={ALICE: 9},
    )
    with pytest.raises(CheckFailed, match="more than one UpdateCommitted") as failed:
        commitment_slots(audit)
    assert failed.value.found == [ALICE]


def test_total_weight_alone_stops_on_a_round_that_is_not_finalized() -> None:
    with pytest.raises(CheckFailed, match="round is not finalized"):
        total_weight(_audit(Stage.FAILED))


def test_a_failed_round_runs_only_the_checks_that_apply_to_every_stage() -> None:
    results = chain_checks(_audit(Stage.FAILED).assembled)

    assert [r.name for r in results] == check_names(ANY_STAGE_CHECKS)
    assert {r.source for r in results} == {"chain"}
    assert results[0].passed
