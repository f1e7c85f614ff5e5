"""Stakes (stake, unstake delay, withdraw, eligibility) and slashing through RoundLog."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from fedledger.chain import GovernorClient, SlashReason, Stage
from fedledger.errors import ChainError
from tests.support.chain import (
    GENESIS,
    TEST_CONFIG,
    TOKEN,
    TREASURY,
    World,
    own_round_log,
    pass_proposal,
    reverts,
)

ZERO = "0x" + "00" * 20
REVEAL = b"\x08" * 32


def _role(name: str) -> str:
    return "0x" + keccak(text=name).hex()


def _finalized_round(world: World, committers: int = 5) -> int:
    """A finalized round in which the first `committers` participants committed (all survive)."""
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:committers])
    if committers < len(world.participants):
        world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    world.c.round_log.finalize(
        rid, aggregate_hash=b"\x07" * 32, reveal_hash=REVEAL, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    return rid


# ---- staking ----------------------------------------------------------------------------------


def test_stake_pulls_tokens_and_emits_staked(world: World) -> None:
    p = world.participants[0]
    world.c.token.approve(world.c.registry.address, 30 * TOKEN, sender=p)
    world.c.registry.stake(20 * TOKEN, sender=p)
    world.backend.advance_time(TEST_CONFIG.unstake_delay)  # the first stake has matured
    result = world.c.registry.stake(10 * TOKEN, sender=p)
    assert [e.args for e in result.named("Staked")] == [
        {"account": p.address, "amount": 10 * TOKEN, "stake": 30 * TOKEN}
    ]
    assert world.c.registry.stake_of(p.address) == (30 * TOKEN, 0)
    assert world.c.token.balance_of(p.address) == GENESIS - 30 * TOKEN
    assert world.c.token.balance_of(world.c.registry.address) == 30 * TOKEN


def test_a_top_up_reverts_until_the_previous_one_has_matured(world: World) -> None:
    p = world.participants[0]
    world.c.token.approve(world.c.registry.address, 30 * TOKEN, sender=p)
    first = world.c.registry.stake(20 * TOKEN, sender=p)
    staked_at = world.backend.w3.eth.get_block(first.block_number)["timestamp"]
    with reverts(
        "ParticipantRegistryStakeMaturing",
        account=p.address,
        maturesAt=staked_at + TEST_CONFIG.unstake_delay,
    ):
        world.c.registry.stake(10 * TOKEN, sender=p)
    assert world.c.registry.stake_of(p.address) == (20 * TOKEN, 0)


def test_stake_reverts_when_not_registered(world: World) -> None:
    u = world.unregistered
    world.c.token.approve(world.c.registry.address, TOKEN, sender=u)
    with reverts("ParticipantRegistryNotRegistered", account=u.address):
        world.c.registry.stake(TOKEN, sender=u)


def test_stake_reverts_on_zero_amount(world: World) -> None:
    with reverts("ParticipantRegistryZeroAmount"):
        world.c.registry.stake(0, sender=world.participants[0])


def test_stake_reverts_without_allowance(world: World) -> None:
    p = world.participants[0]
    with reverts(
        "ERC20InsufficientAllowance",
        spender=world.c.registry.address,
        allowance=0,
        needed=TOKEN,
    ):
        world.c.registry.stake(TOKEN, sender=p)


def test_unstake_waits_for_the_delay_then_returns_the_stake(world: World) -> None:
    p = world.participants[1]
    world.stake(p, 40 * TOKEN)
    result = world.c.registry.request_unstake(sender=p)
    [event] = result.named("UnstakeRequested")
    unlock_at = event.args["unlockAt"]
    assert unlock_at == world.backend.timestamp() + TEST_CONFIG.unstake_delay
    assert event.args == {"account": p.address, "stake": 40 * TOKEN, "unlockAt": unlock_at}
    assert not world.c.registry.is_registered(p.address)  # unstaking: not eligible any more
    with reverts("ParticipantRegistryStakeLocked", account=p.address, unlockAt=unlock_at):
        world.c.registry.withdraw_stake(sender=p)
    with reverts("ParticipantRegistryUnstaking", account=p.address, unlockAt=unlock_at):
        world.c.registry.stake(TOKEN, sender=p)
    world.backend.advance_time(TEST_CONFIG.unstake_delay)
    result = world.c.registry.withdraw_stake(sender=p)
    assert [e.args for e in result.named("StakeWithdrawn")] == [
        {"account": p.address, "amount": 40 * TOKEN}
    ]
    assert world.c.token.balance_of(p.address) == GENESIS
    assert world.c.registry.stake_of(p.address) == (0, 0)
    assert world.c.registry.is_registered(p.address)  # minStake is 0 again eligible


def test_request_unstake_reverts_without_stake(world: World) -> None:
    p = world.participants[0]
    with reverts("ParticipantRegistryNoStake", account=p.address):
        world.c.registry.request_unstake(sender=p)


def test_withdraw_reverts_without_unstake_request(world: World) -> None:
    p = world.participants[0]
    world.stake(p, TOKEN)
    with reverts("ParticipantRegistryNotUnstaking", account=p.address):
        world.c.registry.withdraw_stake(sender=p)


def test_deregister_starts_unlocking_the_stake(world: World) -> None:
    p = world.participants[2]
    world.stake(p, 5 * TOKEN)
    result = world.c.registry.deregister(p.address, sender=world.deployer)
    [event] = result.named("UnstakeRequested")
    assert event.args["stake"] == 5 * TOKEN
    assert world.c.registry.stake_of(p.address)[1] == event.args["unlockAt"]
    assert not world.c.registry.is_approved(p.address)


def test_commit_needs_the_snapshot_min_stake_held_since_the_roster(world: World) -> None:
    log = own_round_log(world, replace(TEST_CONFIG, min_stake=10 * TOKEN))
    for p in world.participants[:4]:
        world.stake(p, 10 * TOKEN)
    late, leaver = world.participants[4], world.participants[3]
    log.open_round(b"\x01" * 32, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)  # the aggregator rosters all five
    log.post_roster(1, b"\x02" * 32, tree.root, tree.count, sender=world.aggregator)
    world.backend.advance_time(1)
    world.stake(late, 10 * TOKEN)  # enough now, but staked after the roster: not at risk here

    def commit(p: LocalAccount) -> None:
        log.commit(
            1, b"\x03" * 32, b"\x04" * 32, weight=7, member=tree.member(1, p.address), sender=p
        )

    commit(world.participants[0])
    with reverts("RoundLogNotRegistered", account=late.address):
        commit(late)
    world.c.registry.request_unstake(sender=leaver)  # unlocking after the roster: refused too
    with reverts("RoundLogNotRegistered", account=leaver.address):
        commit(leaver)
    assert log.get_round(1).committed_count == 1


def test_registry_slash_reverts_for_anyone_but_round_log(world: World) -> None:
    with reverts("ParticipantRegistryUnauthorizedSlasher", caller=world.aggregator.address):
        world.c.registry.transact(
            "slash", world.addresses[0], 10_000, world.aggregator.address, 2**63,
            sender=world.aggregator,
        )  # fmt: skip


# ---- slashing ---------------------------------------------------------------------------------


def test_slash_takes_bps_of_stake_to_the_treasury_and_emits_both_events(world: World) -> None:
    p = world.participants[3]
    world.stake(p, 41 * TOKEN)
    rid = _finalized_round(world)
    result = world.c.round_log.slash(
        rid, p.address,
        member=world.member(rid, p.address),
        reason=SlashReason.NO_UNMASK_RESPONSE, evidence_hash=REVEAL,
        sender=world.aggregator,
    )  # fmt: skip
    taken = 41 * TOKEN * 2500 // 10_000  # slashBps 2500, rounded down
    assert [e.args for e in result.named("StakeSlashed")] == [
        {
            "account": p.address,
            "amount": taken,
            "stake": 41 * TOKEN - taken,
            "recipient": TREASURY,
            "atRisk": 41 * TOKEN,
        }
    ]
    assert [e.args for e in result.named("ParticipantSlashed")] == [
        {
            "round": rid,
            "account": p.address,
            "reasonCode": 1,
            "evidenceHash": REVEAL,
            "amount": taken,
            "recipient": TREASURY,
        }
    ]
    assert world.c.token.balance_of(TREASURY) == taken
    assert world.c.registry.stake_of(p.address) == (41 * TOKEN - taken, 0)
    assert world.c.round_log.is_slashed(rid, p.address)
    assert not world.c.round_log.is_slashed(rid, world.addresses[0])


def test_slash_of_an_unstaked_committer_takes_nothing_but_is_recorded(world: World) -> None:
    rid = _finalized_round(world)
    result = world.c.round_log.slash(
        rid, world.addresses[0],
        member=world.member(rid, world.addresses[0]),
        reason=SlashReason.BAD_SHARE, evidence_hash=REVEAL,
        sender=world.aggregator,
    )  # fmt: skip
    assert result.named("ParticipantSlashed")[0].args["amount"] == 0
    assert world.c.round_log.is_slashed(rid, world.addresses[0])


def test_slash_reverts_when_sender_is_not_aggregator(world: World) -> None:
    rid = _finalized_round(world)
    with reverts("RoundLogUnauthorizedAggregator", caller=world.outsider.address):
        world.c.round_log.slash(
            rid, world.addresses[0],
            member=world.member(rid, world.addresses[0]),
            reason=SlashReason.BAD_SHARE, evidence_hash=REVEAL,
            sender=world.outsider,
        )  # fmt: skip


def test_slash_reverts_before_the_round_is_finalized(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.ROSTERED), expected=int(Stage.FINALIZED)
    ):
        world.c.round_log.slash(
            rid, world.addresses[0],
            member=world.member(rid, world.addresses[0]),
            reason=SlashReason.BAD_SHARE, evidence_hash=REVEAL,
            sender=world.aggregator,
        )  # fmt: skip


def test_slash_reverts_when_evidence_is_not_the_reveal_hash(world: World) -> None:
    rid = _finalized_round(world)
    with reverts(
        "RoundLogEvidenceMismatch", round=rid, expected="0x" + REVEAL.hex(), given="0x" + "99" * 32
    ):
        world.c.round_log.slash(
            rid, world.addresses[0],
            member=world.member(rid, world.addresses[0]),
            reason=SlashReason.BAD_SHARE, evidence_hash=b"\x99" * 32,
            sender=world.aggregator,
        )  # fmt: skip


def test_slash_reverts_on_unknown_reason(world: World) -> None:
    rid = _finalized_round(world)
    with reverts("RoundLogUnknownSlashReason", reason=0):
        world.c.round_log.transact(
            "slash", rid, world.addresses[0], world.member(rid, world.addresses[0]).to_abi(), 0,
            REVEAL, sender=world.aggregator,
        )  # fmt: skip
    # Beyond the enum's last member the ABI decoder itself refuses the call (no error data).
    with pytest.raises(ChainError) as info:
        world.c.round_log.transact(
            "slash", rid, world.addresses[0], world.member(rid, world.addresses[0]).to_abi(), 3,
            REVEAL, sender=world.aggregator,
        )  # fmt: skip
    assert getattr(info.value, "name", None) != "RoundLogUnknownSlashReason"
    assert not world.c.round_log.is_slashed(rid, world.addresses[0])


def test_slash_reverts_for_an_account_that_did_not_commit(world: World) -> None:
    rid = _finalized_round(world, committers=4)
    dropout = world.addresses[4]
    with reverts("RoundLogNotCommitted", round=rid, index=world.index(rid, dropout)):
        world.c.round_log.slash(
            rid, dropout, member=world.member(rid, dropout),
            reason=SlashReason.NO_UNMASK_RESPONSE, evidence_hash=REVEAL, sender=world.aggregator,
        )  # fmt: skip


def test_slash_reverts_for_an_account_outside_the_roster(world: World) -> None:
    rid = _finalized_round(world)
    borrowed = world.member(rid, world.addresses[0])  # a member's entry does not prove another
    who = world.unregistered.address
    with reverts("RoundLogNotInRoster", round=rid, account=who, index=borrowed.index):
        world.c.round_log.slash(
            rid, who, member=borrowed, reason=SlashReason.NO_UNMASK_RESPONSE,
            evidence_hash=REVEAL, sender=world.aggregator,
        )  # fmt: skip


def test_slash_reverts_when_slashing_twice_in_a_round(world: World) -> None:
    rid = _finalized_round(world)
    a = world.addresses[0]
    world.c.round_log.slash(
        rid,
        a,
        member=world.member(rid, a),
        reason=SlashReason.BAD_SHARE,
        evidence_hash=REVEAL,
        sender=world.aggregator,
    )
    with reverts("RoundLogAlreadySlashed", round=rid, account=a):
        world.c.round_log.slash(
            rid, a,
            member=world.member(rid, a),
            reason=SlashReason.NO_UNMASK_RESPONSE, evidence_hash=REVEAL,
            sender=world.aggregator,
        )  # fmt: skip


def test_slash_reverts_after_the_slash_window(world: World) -> None:
    rid = _finalized_round(world)
    info = world.c.round_log.get_round(rid)
    deadline = info.unmask_deadline + TEST_CONFIG.unmask_window
    world.backend.advance_time(deadline - world.backend.timestamp() + 1)
    with reverts("RoundLogSlashClosed", round=rid, deadline=deadline):
        world.c.round_log.slash(
            rid, world.addresses[0],
            member=world.member(rid, world.addresses[0]),
            reason=SlashReason.BAD_SHARE, evidence_hash=REVEAL,
            sender=world.aggregator,
        )  # fmt: skip


def test_slash_burns_when_governance_names_no_recipient(world: World) -> None:
    voters = world.participants[:3]
    proposal = GovernorClient.params_proposal(
        world.c.params, TEST_CONFIG, "burn slashed stake", slash_recipient=ZERO
    )
    pass_proposal(world, proposal, voters)
    assert world.c.params.slash_recipient() == ZERO
    p = world.participants[4]
    world.stake(p, 8 * TOKEN)
    rid = _finalized_round(world)
    supply = world.c.token.total_supply()
    result = world.c.round_log.slash(
        rid, p.address,
        member=world.member(rid, p.address),
        reason=SlashReason.BAD_SHARE, evidence_hash=REVEAL,
        sender=world.aggregator,
    )  # fmt: skip
    assert result.named("ParticipantSlashed")[0].args["recipient"] == ZERO
    assert world.c.token.total_supply() == supply - 2 * TOKEN
    assert world.c.token.balance_of(TREASURY) == 0
