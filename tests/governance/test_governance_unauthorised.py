"""Changes outside the rules revert with OpenZeppelin's or our named errors, exact arguments."""

from __future__ import annotations

from eth_utils import keccak

from fedledger.chain import GovernorClient, SlashReason, VoteType
from tests.support.chain import TEST_CONFIG, World, reverts

ZERO32 = "0x" + "00" * 32


def _role(name: str) -> str:
    return "0x" + keccak(text=name).hex()


def _bitmap(state: int) -> str:
    """OpenZeppelin's one-hot state bitmap, as bytes32 hex."""
    return "0x" + (1 << state).to_bytes(32, "big").hex()


def test_set_config_outside_the_timelock_reverts_ownable(world: World) -> None:
    for who in (world.deployer, world.aggregator, world.participants[0]):
        with reverts("OwnableUnauthorizedAccount", account=who.address):
            world.c.params.set_config(TEST_CONFIG, sender=who)


def test_set_slash_recipient_outside_the_timelock_reverts_ownable(world: World) -> None:
    with reverts("OwnableUnauthorizedAccount", account=world.outsider.address):
        world.c.params.set_slash_recipient(world.outsider.address, sender=world.outsider)


def test_scheduling_on_the_timelock_directly_needs_the_proposer_role(world: World) -> None:
    data = world.c.params.set_config_calldata(TEST_CONFIG)
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.outsider.address,
        neededRole=_role("PROPOSER_ROLE"),
    ):
        world.c.timelock.transact(
            "schedule", world.c.params.address, 0, data, bytes(32), bytes(32), 60,
            sender=world.outsider,
        )  # fmt: skip


def test_finalize_and_slash_by_anyone_but_the_aggregator_revert(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    p = world.participants[0]
    with reverts("RoundLogUnauthorizedAggregator", caller=p.address):
        world.c.round_log.finalize(
            rid, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32,
            new_model_hash=b"\x09" * 32, sender=p,
        )  # fmt: skip
    with reverts("RoundLogUnauthorizedAggregator", caller=p.address):
        world.c.round_log.slash(
            rid, world.addresses[1],
            member=world.member(rid, world.addresses[1]),
            reason=SlashReason.BAD_SHARE, evidence_hash=b"\x08" * 32,
            sender=p,
        )  # fmt: skip


def test_the_deployer_cannot_grant_roles_after_deployment(world: World) -> None:
    for client, role in (
        (world.c.registry, _role("REGISTRAR_ROLE")),
        (world.c.registry, ZERO32),
        (world.c.timelock, _role("PROPOSER_ROLE")),
    ):
        with reverts(
            "AccessControlUnauthorizedAccount", account=world.deployer.address, neededRole=ZERO32
        ):
            client.grant_role(
                bytes.fromhex(role[2:]), world.deployer.address, sender=world.deployer
            )


def test_the_deployer_cannot_change_the_aggregator(world: World) -> None:
    with reverts("OwnableUnauthorizedAccount", account=world.deployer.address):
        world.c.round_log.change_aggregator(world.deployer.address, sender=world.deployer)


def test_commit_and_stake_by_an_unregistered_account_revert(world: World) -> None:
    u = world.unregistered
    rid = world.open_round()
    world.post_roster(rid, [*world.addresses, u.address])  # even when the aggregator rosters it
    with reverts("RoundLogNotRegistered", account=u.address):
        world.c.round_log.commit(
            rid, b"\xaa" * 32, b"\xbb" * 32, weight=1, member=world.member(rid, u), sender=u
        )
    world.c.token.approve(world.c.registry.address, 1, sender=u)
    with reverts("ParticipantRegistryNotRegistered", account=u.address):
        world.c.registry.stake(1, sender=u)


def test_votes_before_the_vote_opens_and_execution_before_the_delay_revert(world: World) -> None:
    gov = world.c.governor
    voter = world.participants[0]
    world.c.token.delegate(voter.address, sender=voter)
    proposal = GovernorClient.params_proposal(world.c.params, TEST_CONFIG, "no-op")
    pid, _ = gov.submit(proposal, sender=voter)
    with reverts(
        "GovernorUnexpectedProposalState", proposalId=pid, current=0, expectedStates=_bitmap(1)
    ):
        gov.vote(pid, VoteType.FOR, sender=voter)  # Pending; only Active (1) accepts votes
    world.backend.mine(gov.voting_delay() + 1)
    gov.vote(pid, VoteType.FOR, sender=voter)
    world.backend.mine(gov.voting_period() + 1)
    gov.queue_proposal(proposal, sender=voter)
    # GovernorTimelockControl salts the operation with bytes20(governor) ^ descriptionHash.
    salt_int = int(gov.address, 16) << 96 ^ int.from_bytes(proposal.description_hash, "big")
    op_id = world.c.timelock.view(
        "hashOperationBatch",
        list(proposal.targets),
        list(proposal.values),
        list(proposal.calldatas),
        bytes(32),
        salt_int.to_bytes(32, "big"),
    )
    with reverts(
        "TimelockUnexpectedOperationState",
        operationId="0x" + bytes(op_id).hex(),
        expectedStates=_bitmap(2),  # Ready
    ):
        gov.execute_proposal(proposal, sender=voter)
