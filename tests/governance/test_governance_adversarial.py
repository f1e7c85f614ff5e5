"""Attacks on governance and slashing, run for real on eth-tester and anvil: each defense holds."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from fedledger.chain import GovernorClient, Proposal, ProposalState, SlashReason, VoteType
from tests.support.chain import TEST_CONFIG, TOKEN, TREASURY, World, pass_proposal, reverts

pytestmark = pytest.mark.adversarial

REVEAL = b"\x08" * 32
MILLION = 10**6 * TOKEN


def _role(name: str) -> bytes:
    return keccak(text=name)


def _raw_call(signature: str, types: list[str], args: list[object]) -> bytes:
    """Calldata of a function the target may not even have (the attacker's wish list)."""
    return keccak(text=signature)[:4] + encode(types, args)


def _queued(world: World, proposal: Proposal, voters: list[LocalAccount]) -> int:
    """Propose, vote for with `voters`, queue, and wait out the timelock delay (not executed)."""
    gov = world.c.governor
    pid, _ = gov.submit(proposal, sender=voters[0])
    world.backend.mine(gov.voting_delay() + 1)
    for v in voters:
        gov.vote(pid, VoteType.FOR, sender=v)
    world.backend.mine(gov.voting_period() + 1)
    gov.queue_proposal(proposal, sender=voters[0])
    world.backend.advance_time(world.c.timelock.min_delay() + 1)
    return pid


def _finalized_round(world: World, members: list[LocalAccount]) -> int:
    rid = world.rostered_round(members)
    world.commit_all(rid, members)
    world.c.round_log.finalize(
        rid, aggregate_hash=b"\x07" * 32, reveal_hash=REVEAL, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    return rid


def test_a_bought_majority_cannot_mint(world: World) -> None:
    attacker, accomplices = world.participants[0], world.participants[1:3]
    supply = world.c.token.total_supply()
    mint = Proposal(
        (world.c.token.address,),
        (0,),
        (world.c.token.encode("mint", attacker.address, MILLION),),
        "Mint a million FLR to a friend",
    )
    _queued(world, mint, [attacker, *accomplices])

    with reverts("RewardTokenUnauthorizedMinter", caller=world.c.timelock.address):
        world.c.governor.execute_proposal(mint, sender=attacker)
    assert world.c.token.total_supply() == supply


def test_a_bought_majority_cannot_grant_itself_a_minter_or_slasher_role(world: World) -> None:
    attacker, accomplices = world.participants[0], world.participants[1:3]
    grant_slasher = Proposal(
        (world.c.registry.address,),
        (0,),
        (world.c.registry.encode("grantRole", _role("SLASHER_ROLE"), attacker.address),),
        "Make a friend slasher",
    )
    grant_minter = Proposal(
        (world.c.token.address,),
        (0,),
        (
            _raw_call(
                "grantRole(bytes32,address)",
                ["bytes32", "address"],
                [_role("MINTER_ROLE"), attacker.address],
            ),
        ),
        "Make a friend minter",
    )
    _queued(world, grant_slasher, [attacker, *accomplices])
    with reverts("ParticipantRegistryRoleNotGrantable", role="0x" + _role("SLASHER_ROLE").hex()):
        world.c.governor.execute_proposal(grant_slasher, sender=attacker)

    _queued(world, grant_minter, [attacker, *accomplices])
    # The token has no roles at all: the timelock's call finds no grantRole and fails empty.
    with reverts("FailedCall"):
        world.c.governor.execute_proposal(grant_minter, sender=attacker)


def test_nobody_but_round_log_can_slash_a_stake(world: World) -> None:
    attacker, victim = world.participants[0], world.participants[4]
    world.stake(victim, 40 * TOKEN)
    with reverts("ParticipantRegistryUnauthorizedSlasher", caller=attacker.address):
        world.c.registry.transact(
            "slash", victim.address, 10_000, attacker.address, 2**63, sender=attacker
        )
    rid = _finalized_round(world, world.participants)
    with reverts("RoundLogUnauthorizedAggregator", caller=attacker.address):
        world.c.round_log.slash(
            rid, victim.address,
            member=world.member(rid, victim.address),
            reason=SlashReason.BAD_SHARE, evidence_hash=REVEAL,
            sender=attacker,
        )  # fmt: skip
    assert world.c.registry.stake_of(victim.address) == (40 * TOKEN, 0)


def test_a_new_aggregator_acts_only_after_members_could_leave(world: World) -> None:
    attacker, victim = world.participants[0], world.participants[4]
    log = world.c.round_log
    world.stake(victim, 40 * TOKEN)
    change = Proposal(
        (log.address,), (0,), (log.encode("changeAggregator", attacker.address),), "New aggregator"
    )
    pass_proposal(world, change, world.participants[:3])
    nxt, effective_at = log.pending_aggregator()
    announced = world.backend.w3.eth.get_block("latest")["timestamp"]
    assert nxt == attacker.address
    assert effective_at >= announced + 2 * TEST_CONFIG.unstake_delay
    assert log.aggregator() == world.aggregator.address

    # The victim leaves at once; the attacker cannot act in the meantime.
    world.c.registry.request_unstake(sender=victim)
    with reverts("RoundLogUnauthorizedAggregator", caller=attacker.address):
        log.open_round(b"\x01" * 32, sender=attacker)
    world.backend.advance_time(TEST_CONFIG.unstake_delay + 1)
    world.c.registry.withdraw_stake(sender=victim)
    assert world.c.registry.stake_of(victim.address) == (0, 0)

    now = world.backend.w3.eth.get_block("latest")["timestamp"]
    world.backend.advance_time(effective_at - now)
    world.backend.mine(1)
    assert log.aggregator() == attacker.address
    assert log.pending_aggregator() == ("0x" + "00" * 20, 0)
    with reverts("RoundLogUnauthorizedAggregator", caller=world.aggregator.address):
        log.open_round(b"\x01" * 32, sender=world.aggregator)


def test_the_guardian_cancels_a_queued_malicious_proposal(world: World) -> None:
    attacker, accomplices = world.participants[0], world.participants[1:3]
    guardian = world.deployer  # deploy_all's default guardian
    assert world.deployment.guardian == guardian.address
    steal = GovernorClient.params_proposal(
        world.c.params,
        TEST_CONFIG,
        "Route slashed stake to a friend",
        slash_recipient=attacker.address,
    )
    pid = _queued(world, steal, [attacker, *accomplices])
    op = world.c.timelock.operation_id(steal, governor=world.c.governor.address)
    assert world.c.timelock.is_operation_pending(op)

    world.c.timelock.cancel(op, sender=guardian)

    assert world.c.governor.state(pid) == ProposalState.CANCELED
    assert not world.c.timelock.is_operation_pending(op)
    with reverts(
        "GovernorUnexpectedProposalState",
        proposalId=pid,
        current=int(ProposalState.CANCELED),
        expectedStates="0x" + (1 << int(ProposalState.QUEUED)).to_bytes(32, "big").hex(),
    ):
        world.c.governor.execute_proposal(steal, sender=attacker)
    assert world.c.params.slash_recipient() == TREASURY


def test_governance_replaces_the_guardian(world: World) -> None:
    timelock = world.c.timelock
    new_guardian = world.outsider
    canceller = _role("CANCELLER_ROLE")
    swap = Proposal(
        (timelock.address, timelock.address),
        (0, 0),
        (
            timelock.encode("revokeRole", canceller, world.deployer.address),
            timelock.encode("grantRole", canceller, new_guardian.address),
        ),
        "Hand the guardian's veto to a new guardian",
    )
    pass_proposal(world, swap, world.participants[:3])
    assert timelock.has_role(canceller, new_guardian.address)
    assert not timelock.has_role(canceller, world.deployer.address)
    assert timelock.has_role(canceller, world.c.governor.address)


def test_a_slash_takes_nothing_of_stake_added_after_the_roster(world: World) -> None:
    victim = world.participants[4]
    rid = world.rostered_round()  # the victim has no stake at roster time
    world.commit_all(rid, world.participants)
    world.c.round_log.finalize(
        rid, aggregate_hash=b"\x07" * 32, reveal_hash=REVEAL, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    world.backend.advance_time(1)  # later than the roster at the chain's one-second granularity
    world.stake(victim, 50 * TOKEN)  # deposited after the round

    result = world.c.round_log.slash(
        rid, victim.address,
        member=world.member(rid, victim.address),
        reason=SlashReason.NO_UNMASK_RESPONSE, evidence_hash=REVEAL,
        sender=world.aggregator,
    )  # fmt: skip

    [slashed] = result.named("StakeSlashed")
    assert (slashed.args["atRisk"], slashed.args["amount"]) == (0, 0)
    assert world.c.registry.stake_of(victim.address) == (50 * TOKEN, 0)
    assert world.c.token.balance_of(TREASURY) == 0


def test_a_slash_takes_only_the_stake_held_at_roster_time_of_a_topped_up_stake(
    world: World,
) -> None:
    victim = world.participants[4]
    world.c.token.approve(world.c.registry.address, 60 * TOKEN, sender=victim)
    world.c.registry.stake(40 * TOKEN, sender=victim)
    world.backend.advance_time(TEST_CONFIG.unstake_delay)
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    world.c.round_log.finalize(
        rid, aggregate_hash=b"\x07" * 32, reveal_hash=REVEAL, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    world.backend.advance_time(1)
    world.c.registry.stake(20 * TOKEN, sender=victim)  # top-up after the roster

    world.c.round_log.slash(
        rid, victim.address,
        member=world.member(rid, victim.address),
        reason=SlashReason.BAD_SHARE, evidence_hash=REVEAL,
        sender=world.aggregator,
    )  # fmt: skip

    taken = 40 * TOKEN * TEST_CONFIG.slash_bps // 10_000
    assert world.c.token.balance_of(TREASURY) == taken
    assert world.c.registry.stake_of(victim.address) == (60 * TOKEN - taken, 0)


def test_a_governed_weight_cap_bounds_a_self_declared_weight(world: World) -> None:
    inflater = world.participants[2]
    registry = world.c.registry
    cap = Proposal(
        (registry.address,),
        (0,),
        (registry.encode("setWeightCap", inflater.address, 50),),
        "Cap a participant's weight at its audited dataset size",
    )
    pass_proposal(world, cap, world.participants[:3])
    assert registry.weight_cap_of(inflater.address) == 50
    rid = world.rostered_round()
    m = world.member(rid, inflater)

    with reverts("RoundLogWeightOutOfRange", round=rid, weight=51, maxWeight=50):
        world.c.round_log.commit(
            rid, b"\xaa" * 32, b"\xbb" * 32, weight=51, member=m, sender=inflater
        )
    world.c.round_log.commit(rid, b"\xaa" * 32, b"\xbb" * 32, weight=50, member=m, sender=inflater)
    assert world.c.round_log.weight_of(rid, inflater.address) == 50
    # Everyone else keeps the round's maxWeight.
    other = world.participants[3]
    world.c.round_log.commit(
        rid, b"\xcc" * 32, b"\xdd" * 32, weight=TEST_CONFIG.max_weight,
        member=world.member(rid, other), sender=other,
    )  # fmt: skip
    # Only governance sets caps: the participant cannot lift its own.
    with reverts(
        "AccessControlUnauthorizedAccount", account=inflater.address, neededRole="0x" + "00" * 32
    ):
        registry.set_weight_cap(inflater.address, 2**32 - 1, sender=inflater)
