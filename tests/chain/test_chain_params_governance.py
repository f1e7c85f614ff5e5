"""RoundParams validation, the deployment's role wiring, and one full governance change."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fedledger.chain import ProposalState, RoundParamsClient, VoteType
from fedledger.chain.deploy import _creation_code
from fedledger.chain.tx import deploy_contract
from tests.support.chain import GENESIS, TEST_CONFIG, TOKEN, World, reverts


def _own_params(world: World) -> RoundParamsClient:
    """A RoundParams owned by the deployer, to exercise the setter directly."""
    code = _creation_code(
        "RoundParams", world.deployer.address, TEST_CONFIG.as_tuple(), world.treasury
    )
    result = deploy_contract(world.backend, world.deployer, bytecode=code, name="RoundParams")
    return RoundParamsClient(world.backend, result.contract_address or "")


def test_set_config_replaces_config_and_emits_round_params_updated(world: World) -> None:
    params = _own_params(world)
    new = replace(TEST_CONFIG, neighbours=8, threshold=5)
    result = params.set_config(new, sender=world.deployer)
    [event] = result.named("RoundParamsUpdated")
    assert event.args["config"]["neighbours"] == 8
    assert event.args["config"]["threshold"] == 5
    assert params.config() == new
    assert params.config().clip_range == 0.5


@pytest.mark.parametrize(
    ("change", "error", "args"),
    [
        ({"neighbours": 0, "threshold": 0}, "RoundParamsZeroNeighbours", {}),
        ({"threshold": 0}, "RoundParamsThresholdOutOfRange", {"threshold": 0, "neighbours": 4}),
        ({"threshold": 5}, "RoundParamsThresholdOutOfRange", {"threshold": 5, "neighbours": 4}),
        ({"clip_range_micros": 0}, "RoundParamsZeroClipRange", {}),
        ({"quant_bits": 0}, "RoundParamsQuantBitsOutOfRange", {"quantBits": 0}),
        ({"quant_bits": 32}, "RoundParamsQuantBitsOutOfRange", {"quantBits": 32}),
        ({"max_weight": 0}, "RoundParamsZeroMaxWeight", {}),
        ({"min_participants": 1}, "RoundParamsTooFewMinParticipants", {"minParticipants": 1}),
        ({"commit_window": 0}, "RoundParamsZeroCommitWindow", {}),
        ({"unmask_window": 0}, "RoundParamsZeroUnmaskWindow", {}),
        ({"reward_mode": 2}, "RoundParamsUnsupportedRewardMode", {"rewardMode": 2}),
        ({"slash_bps": 10_001}, "RoundParamsSlashBpsOutOfRange", {"slashBps": 10_001}),
        # a cohort must hold a roster: max(minParticipants 3, threshold 3 + 1) = 4
        ({"cohort_size": 3}, "RoundParamsCohortTooSmall", {"cohortSize": 3, "required": 4}),
        ({"cohort_size": 1}, "RoundParamsCohortTooSmall", {"cohortSize": 1, "required": 4}),
        (
            {"unstake_delay": 1799},  # commit 600 + 2 x unmask 600
            "RoundParamsUnstakeDelayTooShort",
            {"unstakeDelay": 1799, "required": 1800},
        ),
        (
            {"reward_per_contribution": 2 * TOKEN, "reward_cap": TOKEN},
            "RoundParamsRewardAboveCap",
            {"rewardPerContribution": 2 * TOKEN, "rewardCap": TOKEN},
        ),
    ],
)
def test_set_config_reverts_on_invalid_field(
    world: World, change: dict[str, int], error: str, args: dict[str, int]
) -> None:
    params = _own_params(world)
    with reverts(error, **args):
        params.set_config(replace(TEST_CONFIG, **change), sender=world.deployer)


def test_set_config_reverts_when_sender_is_not_the_timelock(world: World) -> None:
    with reverts("OwnableUnauthorizedAccount", account=world.deployer.address):
        world.c.params.set_config(TEST_CONFIG, sender=world.deployer)


def test_deployment_wires_roles_and_leaves_deployer_none(world: World) -> None:
    c, timelock = world.c, world.c.timelock.address
    assert c.params.owner() == timelock
    assert c.round_log.owner() == timelock
    assert c.round_log.aggregator() == world.aggregator.address
    assert c.token.minter() == c.round_log.address
    assert c.registry.slasher() == c.round_log.address
    assert c.registry.has_role("REGISTRAR_ROLE", world.deployer.address)
    assert c.timelock.has_role("PROPOSER_ROLE", c.governor.address)
    assert c.timelock.has_role("CANCELLER_ROLE", c.governor.address)
    assert c.timelock.has_role("CANCELLER_ROLE", world.deployment.guardian)
    assert c.timelock.has_role("EXECUTOR_ROLE", "0x" + "00" * 20)
    assert c.governor.timelock() == timelock
    admin = bytes(32)
    assert c.registry.has_role(admin, timelock)
    assert not c.registry.has_role(admin, world.deployer.address)
    assert not c.timelock.has_role(admin, world.deployer.address)


def test_genesis_holders_vote_from_the_start_and_others_self_delegate_once(world: World) -> None:
    token = world.c.token
    assert token.get_votes(world.participants[0].address) == GENESIS
    assert token.ensure_self_delegated(sender=world.participants[0]) is None
    newcomer = world.outsider  # holds no tokens and never delegated
    assert int(token.delegates(newcomer.address), 16) == 0
    assert token.ensure_self_delegated(sender=newcomer) is not None
    assert token.delegates(newcomer.address) == newcomer.address
    assert token.ensure_self_delegated(sender=newcomer) is None


def test_mint_reverts_for_anyone_but_round_log(world: World) -> None:
    with reverts("RewardTokenUnauthorizedMinter", caller=world.deployer.address):
        world.c.token.mint(world.deployer.address, 1, sender=world.deployer)


def test_governance_changes_round_params_through_propose_vote_queue_execute(world: World) -> None:
    # Voting power comes from rewards: run one round, claim, self-delegate.
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    world.c.round_log.finalize(
        rid, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    voters = world.participants[:3]
    for v in voters:
        world.c.round_log.claim([world.member(rid, v)], sender=v)
        world.c.token.delegate(v.address, sender=v)
    assert world.c.token.get_votes(voters[0].address) == GENESIS + 10 * TOKEN

    new = replace(TEST_CONFIG, neighbours=6, threshold=4, min_participants=4)
    targets, values = [world.c.params.address], [0]
    calldatas = [world.c.params.set_config_calldata(new)]
    description = "k=6, t=4, min 4"
    gov = world.c.governor
    result = gov.propose(targets, values, calldatas, description, sender=voters[0])
    pid = gov.proposal_id(targets, values, calldatas, description)
    assert result.named("ProposalCreated")[0].args["proposalId"] == pid
    world.backend.mine(gov.voting_delay() + 1)
    assert gov.state(pid) is ProposalState.ACTIVE
    for v in voters:
        gov.cast_vote(pid, VoteType.FOR, sender=v)
    world.backend.mine(gov.voting_period() + 1)
    assert gov.state(pid) is ProposalState.SUCCEEDED
    gov.queue(targets, values, calldatas, description, sender=world.outsider)
    assert gov.state(pid) is ProposalState.QUEUED
    world.backend.advance_time(world.c.timelock.min_delay() + 1)
    executed = gov.execute(targets, values, calldatas, description, sender=world.outsider)
    assert gov.state(pid) is ProposalState.EXECUTED
    assert executed.named("RoundParamsUpdated")[0].args["config"]["neighbours"] == 6
    assert world.c.params.config() == new
    # The finalized round keeps its snapshot; the next round takes the new parameters.
    assert world.c.round_log.get_round(rid).config == TEST_CONFIG
    assert world.c.round_log.get_round(world.open_round(b"\x09" * 32)).config == new
