"""End to end: stakes, rounds with dropouts, a slash, a governance change of k and the reward rule.

Rounds are driven through the contract clients with synthetic hashes: balances need no SecAgg.
"""

from __future__ import annotations

from dataclasses import replace

from fedledger.chain import GovernorClient, ProposalState, SlashReason, Stage, VoteType
from tests.support.chain import GENESIS, TEST_CONFIG, TOKEN, TREASURY, World, reverts

STAKE = 20 * TOKEN
NEW = replace(
    TEST_CONFIG,
    neighbours=3,
    threshold=2,
    min_participants=2,
    reward_mode=1,
    reward_per_contribution=40 * TOKEN,  # per full weight (maxWeight 4096)
    reward_cap=50 * TOKEN,
    min_stake=STAKE,
)


COMMITTED: dict[int, list[int]] = {}  # round -> participants (by list index) that committed


def _commit(world: World, rid: int, who: dict[int, int]) -> None:
    """Participants (by index) commit synthetic hashes with the given weights."""
    COMMITTED[rid] = list(who)
    for i, w in who.items():
        world.c.round_log.commit(
            rid, bytes([0x40 + i, rid]) * 16, bytes([0x60 + i, rid]) * 16, weight=w,
            member=world.member(rid, world.participants[i]), sender=world.participants[i],
        )  # fmt: skip


def _finalize(world: World, rid: int, survivors: list[int], reveal: bytes) -> dict[str, int]:
    """Finalize excluding the committers not in `survivors`; what each survivor may claim."""
    excluded = [
        (world.addresses[i], world.member(rid, world.addresses[i]))
        for i in COMMITTED[rid]
        if i not in survivors
    ]
    world.c.round_log.finalize(
        rid, aggregate_hash=bytes([0x70, rid]) * 16, reveal_hash=reveal,
        new_model_hash=bytes([0x80, rid]) * 16, excluded=excluded, sender=world.aggregator,
    )  # fmt: skip
    log = world.c.round_log
    paid = {
        world.addresses[i]: log.claimable(
            rid, world.addresses[i], world.index(rid, world.addresses[i])
        )
        for i in survivors
    }
    return {a: v for a, v in paid.items() if v}


def test_proposal_changes_k_and_reward_rule_from_the_next_round_with_exact_balances(
    world: World,
) -> None:
    c, a, gov = world.c, world.addresses, world.c.governor
    for p in world.participants:
        world.stake(p, STAKE)

    # Round 1 (deploy-time rule: mode 0, 10 FLR each): participant 4 drops out before committing.
    r1 = world.rostered_round()
    _commit(world, r1, {0: 1000, 1: 2000, 2: 3000, 3: 4000})
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    assert _finalize(world, r1, [0, 1, 2, 3], b"\x51" * 32) == {a[i]: 10 * TOKEN for i in range(4)}

    # Governance: three participants vote with their unstaked genesis tokens.
    voters = world.participants[:3]
    for v in voters:
        c.token.delegate(v.address, sender=v)
    proposal = GovernorClient.params_proposal(c.params, NEW, "k=3 t=2, pay by weight, stake 20")
    pid, _ = gov.submit(proposal, sender=voters[0])
    world.backend.mine(gov.voting_delay() + 1)
    for v in voters:
        gov.vote(pid, VoteType.FOR, sender=v)
    assert gov.proposal_votes(pid) == (0, 3 * (GENESIS - STAKE), 0)

    # Round 2 opens while the proposal is still being voted: it snapshots the old rule.
    r2 = world.rostered_round()
    world.backend.mine(gov.voting_period() + 1)
    assert gov.state(pid) is ProposalState.SUCCEEDED
    gov.queue_proposal(proposal, sender=world.outsider)
    world.backend.advance_time(c.timelock.min_delay() + 1)
    gov.execute_proposal(proposal, sender=world.outsider)
    assert gov.state(pid) is ProposalState.EXECUTED
    assert c.params.config() == NEW
    assert c.round_log.get_round(r2).config == TEST_CONFIG  # the running round keeps its snapshot

    # Round 2: participant 1 drops; the snapshot still needs 3 survivors and pays mode 0.
    _commit(world, r2, {0: 4096, 2: 1, 3: 50, 4: 700})
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    with reverts("RoundLogTooFewSurvivors", round=r2, count=2, required=3):
        _finalize(world, r2, [0, 2], b"\x52" * 32)
    assert _finalize(world, r2, [0, 2, 3, 4], b"\x52" * 32) == {
        a[i]: 10 * TOKEN for i in (0, 2, 3, 4)
    }
    # Participant 3 never answered the unmask stage: slashed by the round's 25 % to the treasury.
    slashed = c.round_log.slash(
        r2, a[3], member=world.member(r2, a[3]), reason=SlashReason.NO_UNMASK_RESPONSE,
        evidence_hash=b"\x52" * 32, sender=world.aggregator,
    )  # fmt: skip
    assert slashed.named("ParticipantSlashed")[0].args["amount"] == 5 * TOKEN
    assert c.registry.stake_of(a[3]) == (15 * TOKEN, 0)

    # Round 3 takes the new snapshot: k=3, t=2, min 2, mode 1, stake >= 20 (3 now falls short).
    r3 = world.open_round(c.round_log.latest_model_hash())
    assert c.round_log.get_round(r3).config == NEW
    world.post_roster(r3, a)
    with reverts("RoundLogNotRegistered", account=a[3]):  # rostered, but short of stake
        _commit(world, r3, {3: 1})
    _commit(world, r3, {0: 4096, 1: 2048})  # 2 and 4 drop; two survivors now suffice (t = 2)
    world.backend.advance_time(NEW.commit_window + 1)
    paid = _finalize(world, r3, [0, 1], b"\x53" * 32)
    # 40 * 6144 > 50 * 4096: the cap binds, split by weight, rounded down.
    assert paid == {a[0]: 50 * TOKEN * 4096 // 6144, a[1]: 50 * TOKEN * 2048 // 6144}
    assert paid[a[0]] == 33_333_333_333_333_333_333

    # Claims, then 3 and 4 leave: unstake, wait the delay, withdraw what is left.
    for i, p in enumerate(world.participants):
        rounds = [r for r in (r1, r2, r3) if i in COMMITTED[r]]
        c.round_log.claim([world.member(r, p) for r in rounds], sender=p)
    for i in (3, 4):
        c.registry.request_unstake(sender=world.participants[i])
    world.backend.advance_time(NEW.unstake_delay)
    for i in (3, 4):
        c.registry.withdraw_stake(sender=world.participants[i])

    base = GENESIS - STAKE
    assert [c.token.balance_of(x) for x in a] == [
        base + 10 * TOKEN + 10 * TOKEN + 33_333_333_333_333_333_333,
        base + 10 * TOKEN + 16_666_666_666_666_666_666,
        base + 10 * TOKEN + 10 * TOKEN,
        GENESIS + 20 * TOKEN - 5 * TOKEN,
        GENESIS + 10 * TOKEN,
    ]
    assert c.token.balance_of(TREASURY) == 5 * TOKEN
    assert c.token.balance_of(c.registry.address) == 3 * STAKE
    minted = 8 * 10 * TOKEN + 33_333_333_333_333_333_333 + 16_666_666_666_666_666_666
    assert c.token.total_supply() == 6 * GENESIS + minted
    assert [c.round_log.get_round(r).stage for r in (r1, r2, r3)] == [Stage.FINALIZED] * 3
    [record] = gov.proposals(from_block=world.deployment.deploy_block)
    assert (record.proposal_id, record.state) == (pid, ProposalState.EXECUTED)
