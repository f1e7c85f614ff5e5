"""RoundLog: every external function's success path, custom error and event."""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from fedledger.chain import MemberProof, Stage, fetch_events
from fedledger.chain.merkle import process_proof, roster_leaf
from tests.support.chain import GENESIS, TEST_CONFIG, TOKEN, TREASURY, World, reverts

H = b"\x01" * 32  # initial model hash used by World.open_round


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


# ---- openRound -------------------------------------------------------------------------------


def test_open_round_snapshots_config_and_derives_seed_from_parent_block(world: World) -> None:
    result = world.c.round_log.open_round(H, sender=world.aggregator)
    [event] = result.named("RoundOpened")
    parent = world.backend.w3.eth.get_block(result.block_number - 1)["hash"]
    expected_seed = keccak(
        encode(
            ["bytes32", "uint256", "address", "uint256"],
            [bytes(parent), world.backend.chain_id, world.c.round_log.address, 1],
        )
    )
    assert event.args["round"] == 1
    assert event.args["modelHash"] == H
    assert event.args["seed"] == expected_seed
    assert event.args["config"]["neighbours"] == TEST_CONFIG.neighbours
    assert event.args["config"]["rewardCap"] == TEST_CONFIG.reward_cap
    info = world.c.round_log.get_round(1)
    assert info.stage is Stage.OPENED
    assert info.seed == expected_seed
    assert info.config == TEST_CONFIG
    assert info.opened_block == result.block_number
    assert world.c.round_log.current_round() == 1


def test_open_round_reverts_when_a_round_is_in_progress(world: World) -> None:
    world.open_round()
    with reverts("RoundLogRoundInProgress", round=1):
        world.c.round_log.open_round(H, sender=world.aggregator)


def test_open_round_reverts_when_model_hash_does_not_continue_the_chain(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    new_model = b"\x77" * 32
    world.c.round_log.finalize(
        rid,
        aggregate_hash=b"\x05" * 32,
        reveal_hash=b"\x06" * 32,
        new_model_hash=new_model,
        sender=world.aggregator,
    )
    with reverts("RoundLogModelMismatch", expected=_hex(new_model), given=_hex(H)):
        world.c.round_log.open_round(H, sender=world.aggregator)
    assert world.open_round(new_model) == 2


def test_open_round_reverts_when_sender_is_not_aggregator(world: World) -> None:
    with reverts("RoundLogUnauthorizedAggregator", caller=world.outsider.address):
        world.c.round_log.open_round(H, sender=world.outsider)


# ---- postRoster -------------------------------------------------------------------------------


def test_post_roster_stores_root_and_count_and_sets_deadlines(world: World) -> None:
    rid = world.open_round()
    tree = world.roster_tree(world.addresses)
    result = world.c.round_log.post_roster(
        rid, b"\x02" * 32, tree.root, tree.count, sender=world.aggregator
    )
    now = world.backend.w3.eth.get_block(result.block_number)["timestamp"]
    [event] = result.named("RosterPosted")
    assert event.args == {
        "round": rid,
        "rosterHash": b"\x02" * 32,
        "rosterRoot": tree.root,
        "memberCount": 5,
        "commitDeadline": now + TEST_CONFIG.commit_window,
        "unmaskDeadline": now + TEST_CONFIG.commit_window + TEST_CONFIG.unmask_window,
    }
    info = world.c.round_log.get_round(rid)
    assert (info.stage, info.member_count, info.roster_hash) == (Stage.ROSTERED, 5, b"\x02" * 32)
    assert info.roster_root == tree.root


def test_post_roster_costs_the_same_for_ten_and_ten_thousand_members(world: World) -> None:
    gas = []
    for n in (10, 10_000):
        rid = world.open_round(world.c.round_log.latest_model_hash() or H)
        root = keccak(n.to_bytes(4, "big"))
        tx = world.c.round_log.post_roster(rid, b"\x02" * 32, root, n, sender=world.aggregator)
        gas.append(tx.gas_used)
        world.c.round_log.fail_round(rid, "gas", sender=world.aggregator)
    assert abs(gas[1] - gas[0]) <= 64  # calldata bytes of the count only


def test_post_roster_reverts_when_too_few_members(world: World) -> None:
    rid = world.open_round()
    # needs max(minParticipants=3, threshold+1=4) = 4
    tree = world.roster_tree(world.addresses[:3])
    with reverts("RoundLogTooFewMembers", round=rid, count=3, required=4):
        world.c.round_log.post_roster(rid, b"\x02" * 32, tree.root, 3, sender=world.aggregator)


def test_post_roster_reverts_on_a_zero_root(world: World) -> None:
    rid = world.open_round()
    with reverts("RoundLogEmptyRoster", round=rid):
        world.c.round_log.post_roster(rid, b"\x02" * 32, bytes(32), 5, sender=world.aggregator)


def test_post_roster_reverts_after_roster_deadline(world: World) -> None:
    rid = world.open_round()
    deadline = world.c.round_log.get_round(rid).commit_deadline
    world.backend.advance_time(TEST_CONFIG.commit_window + 5)
    with reverts("RoundLogRosterClosed", round=rid, deadline=deadline):
        world.post_roster(rid, world.addresses)


def test_post_roster_reverts_when_already_rostered(world: World) -> None:
    rid = world.rostered_round()
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.ROSTERED), expected=int(Stage.OPENED)
    ):
        world.post_roster(rid, world.addresses)


def test_post_roster_reverts_for_unknown_round(world: World) -> None:
    with reverts("RoundLogUnknownRound", round=9):
        world.post_roster(9, world.addresses)


def test_post_roster_reverts_when_sender_is_not_aggregator(world: World) -> None:
    rid = world.open_round()
    with reverts("RoundLogUnauthorizedAggregator", caller=world.outsider.address):
        world.c.round_log.post_roster(rid, b"\x02" * 32, b"\x03" * 32, 5, sender=world.outsider)


# ---- commit -----------------------------------------------------------------------------------


def _commit(world: World, rid: int, p, member: MemberProof | None = None, weight: int = 7):  # type: ignore[no-untyped-def]
    return world.c.round_log.commit(
        rid,
        b"\xaa" * 32,
        b"\xbb" * 32,
        weight=weight,
        member=member or world.member(rid, p),
        sender=p,
    )


def test_commit_proves_membership_records_the_weight_and_emits_both_hashes(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[2]
    result = _commit(world, rid, p)
    [event] = result.named("UpdateCommitted")
    assert event.args == {
        "round": rid,
        "participant": p.address,
        "maskedUpdateHash": b"\xaa" * 32,
        "seedCommitment": b"\xbb" * 32,
        "weight": 7,
    }
    assert world.c.round_log.weight_of(rid, p.address) == 7
    assert world.c.round_log.weight_of(rid, world.participants[1].address) == 0
    info = world.c.round_log.get_round(rid)
    assert (info.committed_count, info.committed_weight) == (1, 7)
    assert world.c.round_log.commitment(rid, p.address) == (b"\xaa" * 32, b"\xbb" * 32, 7)
    assert world.c.round_log.commitment(rid, world.participants[1].address) is None


def test_commit_checks_the_same_leaf_and_proof_as_the_python_tree(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[3]
    m = world.member(rid, p)
    leaf = roster_leaf(m.index, p.address, m.bundle_hash)
    assert process_proof(leaf, m.proof) == world.c.round_log.get_round(rid).roster_root
    _commit(world, rid, p, m)
    assert world.c.round_log.weight_of(rid, p.address) == 7


def test_commit_reverts_when_committing_twice(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[0]
    _commit(world, rid, p)
    with reverts("RoundLogAlreadyCommitted", round=rid, account=p.address):
        _commit(world, rid, p)


def test_commit_reverts_when_late(world: World) -> None:
    rid = world.rostered_round()
    deadline = world.c.round_log.get_round(rid).commit_deadline
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    with reverts("RoundLogCommitClosed", round=rid, deadline=deadline):
        _commit(world, rid, world.participants[0])


def test_commit_reverts_when_a_rostered_member_is_not_registered(world: World) -> None:
    rid = world.open_round()
    world.post_roster(rid, [*world.addresses[:4], world.unregistered.address])
    with reverts("RoundLogNotRegistered", account=world.unregistered.address):
        _commit(world, rid, world.unregistered)


def test_commit_reverts_when_registered_but_not_in_roster(world: World) -> None:
    rid = world.rostered_round(world.participants[:4])
    outsider = world.participants[4]
    # Borrowing a member's index, bundle hash and proof does not prove another address.
    borrowed = world.member(rid, world.participants[0])
    with reverts("RoundLogNotInRoster", round=rid, account=outsider.address, index=borrowed.index):
        _commit(world, rid, outsider, borrowed)


def test_commit_reverts_on_a_wrong_bundle_hash(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[1]
    m = world.member(rid, p)
    forged = MemberProof(rid, m.index, b"\x66" * 32, m.proof)
    with reverts("RoundLogNotInRoster", round=rid, account=p.address, index=m.index):
        _commit(world, rid, p, forged)


def test_commit_reverts_on_an_index_outside_the_roster(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[1]
    m = world.member(rid, p)
    with reverts("RoundLogIndexOutOfRange", round=rid, index=5, memberCount=5):
        _commit(world, rid, p, MemberProof(rid, 5, m.bundle_hash, m.proof))


def test_commit_reverts_when_the_weight_exceeds_the_cap(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[1]
    cap = TEST_CONFIG.max_weight
    with reverts("RoundLogWeightOutOfRange", round=rid, weight=cap + 1, maxWeight=cap):
        _commit(world, rid, p, weight=cap + 1)
    with reverts("RoundLogWeightOutOfRange", round=rid, weight=0, maxWeight=cap):
        world.c.round_log.transact(
            "commit", rid, b"\xaa" * 32, b"\xbb" * 32, 0, world.index(rid, p),
            world.member(rid, p).bundle_hash, list(world.member(rid, p).proof), sender=p,
        )  # fmt: skip


def test_commit_reverts_for_a_future_round(world: World) -> None:
    rid = world.rostered_round()
    with reverts("RoundLogUnknownRound", round=rid + 1):
        world.c.round_log.commit(
            rid + 1, b"\xaa" * 32, b"\xbb" * 32, weight=7,
            member=world.member(rid, world.participants[0]), sender=world.participants[0],
        )  # fmt: skip


def test_commit_reverts_before_the_roster(world: World) -> None:
    rid = world.open_round()
    world.trees[rid] = world.roster_tree(world.addresses)
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.OPENED), expected=int(Stage.ROSTERED)
    ):
        _commit(world, rid, world.participants[0])


def test_commit_reverts_for_an_earlier_finished_round(world: World) -> None:
    rid = world.rostered_round()
    world.c.round_log.fail_round(rid, "test", sender=world.aggregator)
    world.rostered_round()
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.FAILED), expected=int(Stage.ROSTERED)
    ):
        _commit(world, rid, world.participants[0])


# ---- finalize ---------------------------------------------------------------------------------


def _finalize(
    world: World,
    rid: int,
    excluded: list[LocalAccount] | None = None,
    new_model: bytes = b"\x09" * 32,
):  # type: ignore[no-untyped-def]
    return world.c.round_log.finalize(
        rid,
        aggregate_hash=b"\x07" * 32,
        reveal_hash=b"\x08" * 32,
        new_model_hash=new_model,
        excluded=[(p.address, world.member(rid, p)) for p in excluded or []],
        sender=world.aggregator,
    )


def _raw_excluded(world: World, rid: int, p: LocalAccount) -> tuple[Any, ...]:
    """`p`'s RosterMember tuple as finalize's ABI takes it."""
    m = world.member(rid, p)
    return (p.address, m.index, m.bundle_hash, list(m.proof))


def test_finalize_records_hashes_and_the_survivors_count_and_weight(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    result = _finalize(world, rid)
    [event] = result.named("RoundFinalized")
    assert event.args == {
        "round": rid,
        "aggregateHash": b"\x07" * 32,
        "revealHash": b"\x08" * 32,
        "newModelHash": b"\x09" * 32,
        "excluded": [],
        "survivorCount": 5,
        "totalWeight": 100 + 200 + 300 + 400 + 500,
    }
    assert result.named("RewardClaimed") == []  # rewards are pulled, not credited
    info = world.c.round_log.get_round(rid)
    assert info.stage is Stage.FINALIZED
    assert (info.survivor_count, info.total_weight) == (5, 1500)
    assert (info.aggregate_hash, info.reveal_hash, info.new_model_hash) == (
        b"\x07" * 32,
        b"\x08" * 32,
        b"\x09" * 32,
    )
    assert world.c.round_log.latest_model_hash() == b"\x09" * 32


def test_finalize_subtracts_the_excluded_committers(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    gone = sorted(world.index(rid, p) for p in world.participants[1:3])
    result = _finalize(world, rid, world.participants[1:3])
    [event] = result.named("RoundFinalized")
    assert (event.args["excluded"], event.args["survivorCount"]) == (gone, 3)
    assert event.args["totalWeight"] == 100 + 400 + 500
    assert all(world.c.round_log.is_excluded(rid, i) for i in gone)
    assert not world.c.round_log.is_excluded(rid, world.index(rid, world.participants[0]))


def test_finalize_after_commit_deadline_accepts_a_dropout(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:4])
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    result = _finalize(world, rid)
    assert result.named("RoundFinalized")[0].args["survivorCount"] == 4
    p = world.participants[4]
    assert world.c.round_log.claimable(rid, p.address, world.index(rid, p)) == 0


def test_finalize_reverts_while_commits_are_pending(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:4])
    deadline = world.c.round_log.get_round(rid).commit_deadline
    with reverts("RoundLogCommitsPending", round=rid, committed=4, members=5, deadline=deadline):
        _finalize(world, rid)


def test_finalize_reverts_after_unmask_deadline(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    deadline = world.c.round_log.get_round(rid).unmask_deadline
    world.backend.advance_time(TEST_CONFIG.commit_window + TEST_CONFIG.unmask_window + 1)
    with reverts("RoundLogUnmaskClosed", round=rid, deadline=deadline):
        _finalize(world, rid)


def test_finalize_reverts_when_an_excluded_member_did_not_commit(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:4])
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    silent = world.index(rid, world.participants[4])
    with reverts("RoundLogNotCommitted", round=rid, index=silent):
        _finalize(world, rid, [world.participants[4]])


def test_finalize_reverts_when_excluded_not_ascending(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    twice = [_raw_excluded(world, rid, world.participants[1])] * 2
    with reverts("RoundLogIndexNotAscending", position=1, index=twice[0][1]):
        world.c.round_log.transact(
            "finalize", rid, b"\x07" * 32, b"\x08" * 32, b"\x09" * 32, twice,
            sender=world.aggregator,
        )  # fmt: skip


def test_finalize_reverts_when_more_than_the_bound_are_excluded(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    many = [_raw_excluded(world, rid, world.participants[0])] * 257
    with reverts("RoundLogTooManyExcluded", count=257, limit=256):
        world.c.round_log.transact(
            "finalize", rid, b"\x07" * 32, b"\x08" * 32, b"\x09" * 32, many,
            sender=world.aggregator,
        )  # fmt: skip


def test_finalize_reverts_when_too_few_survivors(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    # needs max(minParticipants=3, threshold=3) = 3
    with reverts("RoundLogTooFewSurvivors", round=rid, count=2, required=3):
        _finalize(world, rid, world.participants[:3])


def test_finalize_reverts_on_zero_model_hash(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    with reverts("RoundLogZeroModelHash"):
        _finalize(world, rid, new_model=bytes(32))


def test_finalize_reverts_before_roster(world: World) -> None:
    rid = world.open_round()
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.OPENED), expected=int(Stage.ROSTERED)
    ):
        _finalize(world, rid)


def test_finalize_caps_total_reward_per_round(world: World) -> None:
    from dataclasses import replace

    from fedledger.chain import RoundParamsClient
    from fedledger.chain.deploy import _creation_code
    from fedledger.chain.tx import deploy_contract

    # A RoundLog wired to a params store whose cap is below 5 x reward: each gets cap / 5.
    capped = replace(TEST_CONFIG, reward_per_contribution=10 * TOKEN, reward_cap=25 * TOKEN)
    code = _creation_code("RoundParams", world.deployer.address, capped.as_tuple(), TREASURY)
    created = deploy_contract(world.backend, world.deployer, bytecode=code, name="RoundParams")
    params = RoundParamsClient(world.backend, created.contract_address or "")
    code = _creation_code(
        "RoundLog", world.deployer.address, world.aggregator.address,
        world.c.registry.address, params.address, world.c.token.address,
    )  # fmt: skip
    log_address = deploy_contract(
        world.backend, world.deployer, bytecode=code, name="RoundLog"
    ).contract_address
    from fedledger.chain import RoundLogClient

    log = RoundLogClient(world.backend, log_address or "")
    log.open_round(H, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)
    log.post_roster(1, b"\x02" * 32, tree.root, tree.count, sender=world.aggregator)
    for p in world.participants:
        log.commit(
            1, b"\x03" * 32, b"\x04" * 32, weight=7, member=tree.member(1, p.address), sender=p
        )
    log.finalize(
        1, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    amounts = {log.claimable(1, a, tree.index_of(a)) for a in world.addresses}
    assert amounts == {5 * TOKEN}


# ---- failRound / expireRound ------------------------------------------------------------------


def test_fail_round_marks_failed_with_reason(world: World) -> None:
    rid = world.rostered_round()
    result = world.c.round_log.fail_round(rid, "fewer than t shares", sender=world.aggregator)
    assert [e.args for e in result.named("RoundFailed")] == [
        {"round": rid, "reason": "fewer than t shares"}
    ]
    assert world.c.round_log.get_round(rid).stage is Stage.FAILED
    assert world.open_round() == rid + 1  # a failed round does not block the next one


def test_fail_round_reverts_when_round_finalized(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    _finalize(world, rid)
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.FINALIZED), expected=int(Stage.ROSTERED)
    ):
        world.c.round_log.fail_round(rid, "late", sender=world.aggregator)


def test_fail_round_reverts_when_sender_is_not_aggregator(world: World) -> None:
    rid = world.open_round()
    with reverts("RoundLogUnauthorizedAggregator", caller=world.outsider.address):
        world.c.round_log.fail_round(rid, "x", sender=world.outsider)


def test_expire_round_reverts_before_unmask_deadline(world: World) -> None:
    rid = world.rostered_round()
    deadline = world.c.round_log.get_round(rid).unmask_deadline
    with reverts("RoundLogNotExpired", round=rid, deadline=deadline):
        world.c.round_log.expire_round(rid, sender=world.outsider)


def test_expire_round_lets_anyone_fail_a_round_after_unmask_deadline(world: World) -> None:
    rid = world.rostered_round()
    world.backend.advance_time(TEST_CONFIG.commit_window + TEST_CONFIG.unmask_window + 1)
    result = world.c.round_log.expire_round(rid, sender=world.outsider)
    assert [e.args for e in result.named("RoundFailed")] == [{"round": rid, "reason": "expired"}]
    assert world.c.round_log.get_round(rid).stage is Stage.FAILED


def test_expire_round_fails_a_round_never_rostered(world: World) -> None:
    rid = world.open_round()
    world.backend.advance_time(TEST_CONFIG.commit_window + TEST_CONFIG.unmask_window + 1)
    world.c.round_log.expire_round(rid, sender=world.outsider)
    assert world.c.round_log.get_round(rid).stage is Stage.FAILED


def test_expire_round_reverts_for_unknown_round(world: World) -> None:
    with reverts("RoundLogUnknownRound", round=3):
        world.c.round_log.expire_round(3, sender=world.outsider)


# ---- claims -----------------------------------------------------------------------------------


def test_claim_mints_a_survivors_reward_once(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    _finalize(world, rid)
    p = world.participants[1]
    m = world.member(rid, p)
    assert world.c.round_log.claimable(rid, p.address, m.index) == 10 * TOKEN
    result = world.c.round_log.claim([m], sender=p)
    assert [e.args for e in result.named("RewardClaimed")] == [
        {"participant": p.address, "round": rid, "index": m.index, "amount": 10 * TOKEN}
    ]
    [transfer] = result.named("Transfer")
    assert transfer.args == {"from": "0x" + "00" * 20, "to": p.address, "value": 10 * TOKEN}
    assert world.c.token.balance_of(p.address) == GENESIS + 10 * TOKEN
    assert world.c.round_log.is_claimed(rid, p.address)
    assert world.c.round_log.claimable(rid, p.address, m.index) == 0
    with reverts("RoundLogAlreadyClaimed", round=rid, index=m.index):
        world.c.round_log.claim([m], sender=p)


def test_claim_takes_several_rounds_in_one_mint(world: World) -> None:
    p = world.participants[0]
    members = []
    for k in range(2):
        rid = world.rostered_round()
        world.commit_all(rid, world.participants)
        _finalize(world, rid, new_model=bytes([0x30 + k]) * 32)
        members.append(world.member(rid, p))
    result = world.c.round_log.claim(members, sender=p)
    assert [e.args["round"] for e in result.named("RewardClaimed")] == [1, 2]
    [transfer] = result.named("Transfer")
    assert transfer.args["value"] == 20 * TOKEN


def test_claim_pays_by_weight_and_rounds_down_in_mode_1(world: World) -> None:
    from dataclasses import replace

    from fedledger.chain import deploy_all

    config = replace(
        TEST_CONFIG, reward_mode=1, reward_per_contribution=10, reward_cap=10**30, max_weight=3
    )
    c = deploy_all(
        world.backend, deployer=world.deployer, aggregator=world.aggregator.address,
        params=config, slash_recipient=TREASURY,
    ).attach(world.backend)  # fmt: skip
    for p in world.participants:
        c.registry.register(p.address, sender=world.deployer)
    c.round_log.open_round(H, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)
    c.round_log.post_roster(1, b"\x02" * 32, tree.root, tree.count, sender=world.aggregator)
    weights = [1, 2, 3, 3, 2]
    for p, w in zip(world.participants, weights, strict=True):
        c.round_log.commit(
            1, b"\x03" * 32, b"\x04" * 32, weight=w, member=tree.member(1, p.address), sender=p
        )
    c.round_log.finalize(
        1, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    # floor(R * w / maxWeight): 10 * 1 / 3 = 3, 10 * 2 / 3 = 6, 10 * 3 / 3 = 10.
    got = [c.round_log.claimable(1, a, tree.index_of(a)) for a in world.addresses]
    assert got == [3, 6, 10, 10, 6]


def test_claim_reverts_for_an_excluded_committer(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    p = world.participants[2]
    _finalize(world, rid, [p])
    with reverts("RoundLogExcluded", round=rid, index=world.index(rid, p)):
        world.c.round_log.claim([world.member(rid, p)], sender=p)


def test_claim_reverts_for_a_member_that_did_not_commit(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:4])
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    _finalize(world, rid)
    p = world.participants[4]
    with reverts("RoundLogNotCommitted", round=rid, index=world.index(rid, p)):
        world.c.round_log.claim([world.member(rid, p)], sender=p)


def test_claim_reverts_for_another_members_entry(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    _finalize(world, rid)
    thief, victim = world.participants[0], world.member(rid, world.participants[1])
    with reverts("RoundLogNotInRoster", round=rid, account=thief.address, index=victim.index):
        world.c.round_log.claim([victim], sender=thief)


def test_claim_reverts_before_finalize(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    p = world.participants[0]
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.ROSTERED), expected=int(Stage.FINALIZED)
    ):
        world.c.round_log.claim([world.member(rid, p)], sender=p)


def test_claim_reverts_on_an_empty_list(world: World) -> None:
    p = world.participants[0]
    with reverts("RoundLogNothingToClaim", account=p.address):
        world.c.round_log.claim([], sender=p)


# ---- views, events ----------------------------------------------------------------------------


def test_get_round_reverts_for_unknown_round(world: World) -> None:
    with reverts("RoundLogUnknownRound", round=0):
        world.c.round_log.get_round(0)


def test_wiring_points_at_the_deployment(world: World) -> None:
    assert world.c.round_log.wiring() == (
        world.c.registry.address,
        world.c.params.address,
        world.c.token.address,
    )


def test_fetch_events_returns_a_round_in_chain_order(world: World) -> None:
    start = world.backend.block_number + 1
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    _finalize(world, rid)
    events = fetch_events(world.backend, world.c.round_log.address, from_block=start)
    names = [e.name for e in events]
    assert names == ["RoundOpened", "RosterPosted"] + ["UpdateCommitted"] * 5 + ["RoundFinalized"]
    commits = fetch_events(
        world.backend,
        world.c.round_log.address,
        from_block=start,
        names=["UpdateCommitted"],
        chunk=2,
    )
    assert [e.args["participant"] for e in commits] == world.addresses
