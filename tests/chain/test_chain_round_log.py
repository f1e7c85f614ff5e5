"""RoundLog: every external function's success path, custom error and event."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from fedledger.chain import Stage, commitment_slot, fetch_events
from fedledger.chain.round_log import roster_marker
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
        survivors=world.addresses,
        sender=world.aggregator,
    )
    with reverts("RoundLogModelMismatch", expected=_hex(new_model), given=_hex(H)):
        world.c.round_log.open_round(H, sender=world.aggregator)
    assert world.open_round(new_model) == 2


def test_open_round_reverts_when_sender_is_not_aggregator(world: World) -> None:
    with reverts("RoundLogUnauthorizedAggregator", caller=world.outsider.address):
        world.c.round_log.open_round(H, sender=world.outsider)


# ---- postRoster -------------------------------------------------------------------------------


def test_post_roster_sets_deadlines_and_marks_members(world: World) -> None:
    rid = world.open_round()
    result = world.c.round_log.post_roster(
        rid, b"\x02" * 32, world.addresses, sender=world.aggregator
    )
    now = world.backend.w3.eth.get_block(result.block_number)["timestamp"]
    [event] = result.named("RosterPosted")
    assert event.args == {
        "round": rid,
        "rosterHash": b"\x02" * 32,
        "members": world.addresses,
        "commitDeadline": now + TEST_CONFIG.commit_window,
        "unmaskDeadline": now + TEST_CONFIG.commit_window + TEST_CONFIG.unmask_window,
    }
    info = world.c.round_log.get_round(rid)
    assert (info.stage, info.member_count, info.roster_hash) == (Stage.ROSTERED, 5, b"\x02" * 32)
    # The roster marker carries the member's weight cap: min(maxWeight, its own cap).
    marker = roster_marker(TEST_CONFIG.max_weight)
    assert world.c.round_log.commitment_of(rid, world.addresses[0]) == marker
    assert world.c.round_log.commitment_of(rid, world.unregistered.address) == bytes(32)


def test_post_roster_reverts_when_members_not_ascending(world: World) -> None:
    rid = world.open_round()
    a = world.addresses
    members = [a[1], a[0], a[2], a[3]]
    with reverts("RoundLogNotAscending", index=1, account=a[0]):
        world.c.round_log.transact(
            "postRoster", rid, b"\x02" * 32, members, sender=world.aggregator
        )


def test_post_roster_reverts_on_duplicate_member(world: World) -> None:
    rid = world.open_round()
    a = world.addresses
    with reverts("RoundLogNotAscending", index=2, account=a[1]):
        world.c.round_log.transact(
            "postRoster", rid, b"\x02" * 32, [a[0], a[1], a[1], a[2]], sender=world.aggregator
        )


def test_post_roster_reverts_when_too_few_members(world: World) -> None:
    rid = world.open_round()
    # needs max(minParticipants=3, threshold+1=4) = 4
    with reverts("RoundLogTooFewMembers", round=rid, count=3, required=4):
        world.c.round_log.post_roster(
            rid, b"\x02" * 32, world.addresses[:3], sender=world.aggregator
        )


def test_post_roster_reverts_when_member_not_registered(world: World) -> None:
    rid = world.open_round()
    members = [*world.addresses[:4], world.unregistered.address]
    with reverts("RoundLogNotRegistered", account=world.unregistered.address):
        world.c.round_log.post_roster(rid, b"\x02" * 32, members, sender=world.aggregator)


def test_post_roster_reverts_after_roster_deadline(world: World) -> None:
    rid = world.open_round()
    deadline = world.c.round_log.get_round(rid).commit_deadline
    world.backend.advance_time(TEST_CONFIG.commit_window + 5)
    with reverts("RoundLogRosterClosed", round=rid, deadline=deadline):
        world.c.round_log.post_roster(rid, b"\x02" * 32, world.addresses, sender=world.aggregator)


def test_post_roster_reverts_when_already_rostered(world: World) -> None:
    rid = world.rostered_round()
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.ROSTERED), expected=int(Stage.OPENED)
    ):
        world.c.round_log.post_roster(rid, b"\x02" * 32, world.addresses, sender=world.aggregator)


def test_post_roster_reverts_for_unknown_round(world: World) -> None:
    with reverts("RoundLogUnknownRound", round=9):
        world.c.round_log.post_roster(9, b"\x02" * 32, world.addresses, sender=world.aggregator)


# ---- commit -----------------------------------------------------------------------------------


def test_commit_stores_one_slot_and_emits_both_hashes_under_50k_gas(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[2]
    result = world.c.round_log.commit(rid, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=p)
    [event] = result.named("UpdateCommitted")
    assert event.args == {
        "round": rid,
        "participant": p.address,
        "maskedUpdateHash": b"\xaa" * 32,
        "seedCommitment": b"\xbb" * 32,
        "weight": 7,
    }
    # The keccak digest with its last 4 bytes replaced by the big-endian weight.
    expected = keccak(b"\xaa" * 32 + b"\xbb" * 32)[:28] + (7).to_bytes(4, "big")
    assert world.c.round_log.commitment_of(rid, p.address) == expected
    assert commitment_slot(b"\xaa" * 32, b"\xbb" * 32, weight=7) == expected
    assert world.c.round_log.weight_of(rid, p.address) == 7
    assert world.c.round_log.get_round(rid).committed_count == 1
    assert result.gas_used <= 50_000


def test_commit_reverts_when_committing_twice(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[0]
    world.c.round_log.commit(rid, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=p)
    with reverts("RoundLogAlreadyCommitted", round=rid, account=p.address):
        world.c.round_log.commit(rid, b"\xcc" * 32, b"\xdd" * 32, weight=7, sender=p)


def test_commit_reverts_when_late(world: World) -> None:
    rid = world.rostered_round()
    deadline = world.c.round_log.get_round(rid).commit_deadline
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    with reverts("RoundLogCommitClosed", round=rid, deadline=deadline):
        world.c.round_log.commit(
            rid, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=world.participants[0]
        )


def test_commit_reverts_when_not_registered(world: World) -> None:
    rid = world.rostered_round()
    with reverts("RoundLogNotRegistered", account=world.unregistered.address):
        world.c.round_log.commit(
            rid, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=world.unregistered
        )


def test_commit_reverts_when_registered_but_not_in_roster(world: World) -> None:
    rid = world.rostered_round(world.participants[:4])
    outsider = world.participants[4]
    with reverts("RoundLogNotInRoster", round=rid, account=outsider.address):
        world.c.round_log.commit(rid, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=outsider)


def test_commit_reverts_for_a_future_round(world: World) -> None:
    rid = world.rostered_round()
    with reverts("RoundLogUnknownRound", round=rid + 1):
        world.c.round_log.commit(
            rid + 1, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=world.participants[0]
        )


def test_commit_reverts_before_the_roster(world: World) -> None:
    rid = world.open_round()
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.OPENED), expected=int(Stage.ROSTERED)
    ):
        world.c.round_log.commit(
            rid, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=world.participants[0]
        )


def test_commit_reverts_for_an_earlier_finished_round(world: World) -> None:
    rid = world.rostered_round()
    world.c.round_log.fail_round(rid, "test", sender=world.aggregator)
    world.rostered_round()
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.FAILED), expected=int(Stage.ROSTERED)
    ):
        world.c.round_log.commit(
            rid, b"\xaa" * 32, b"\xbb" * 32, weight=7, sender=world.participants[0]
        )


# ---- finalize ---------------------------------------------------------------------------------


def _finalize(world: World, rid: int, survivors: list[str], new_model: bytes = b"\x09" * 32):  # type: ignore[no-untyped-def]
    return world.c.round_log.finalize(
        rid,
        aggregate_hash=b"\x07" * 32,
        reveal_hash=b"\x08" * 32,
        new_model_hash=new_model,
        survivors=survivors,
        sender=world.aggregator,
    )


def test_finalize_records_hashes_and_credits_each_survivor(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    result = _finalize(world, rid, world.addresses)
    [event] = result.named("RoundFinalized")
    assert event.args == {
        "round": rid,
        "aggregateHash": b"\x07" * 32,
        "revealHash": b"\x08" * 32,
        "newModelHash": b"\x09" * 32,
        "survivors": world.addresses,
        "totalWeight": 100 + 200 + 300 + 400 + 500,
    }
    accrued = [e.args for e in result.named("RewardAccrued")]
    assert accrued == [
        {"participant": a, "round": rid, "amount": TEST_CONFIG.reward_per_contribution}
        for a in world.addresses
    ]
    info = world.c.round_log.get_round(rid)
    assert info.stage is Stage.FINALIZED
    assert (info.aggregate_hash, info.reveal_hash, info.new_model_hash) == (
        b"\x07" * 32,
        b"\x08" * 32,
        b"\x09" * 32,
    )
    assert world.c.round_log.latest_model_hash() == b"\x09" * 32
    assert world.c.round_log.accrued_rewards(world.addresses[0]) == 10 * TOKEN


def test_finalize_after_commit_deadline_accepts_a_dropout(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:4])
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    result = _finalize(world, rid, world.addresses[:4])
    assert len(result.named("RewardAccrued")) == 4
    assert world.c.round_log.accrued_rewards(world.addresses[4]) == 0


def test_finalize_reverts_while_commits_are_pending(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:4])
    deadline = world.c.round_log.get_round(rid).commit_deadline
    with reverts("RoundLogCommitsPending", round=rid, committed=4, members=5, deadline=deadline):
        _finalize(world, rid, world.addresses[:4])


def test_finalize_reverts_after_unmask_deadline(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    deadline = world.c.round_log.get_round(rid).unmask_deadline
    world.backend.advance_time(TEST_CONFIG.commit_window + TEST_CONFIG.unmask_window + 1)
    with reverts("RoundLogUnmaskClosed", round=rid, deadline=deadline):
        _finalize(world, rid, world.addresses)


def test_finalize_reverts_when_survivor_did_not_commit(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:4])
    world.backend.advance_time(TEST_CONFIG.commit_window + 1)
    with reverts("RoundLogNotCommitted", round=rid, account=world.addresses[4]):
        _finalize(world, rid, world.addresses)


def test_finalize_reverts_when_too_few_survivors(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    # needs max(minParticipants=3, threshold=3) = 3
    with reverts("RoundLogTooFewSurvivors", round=rid, count=2, required=3):
        _finalize(world, rid, world.addresses[:2])


def test_finalize_reverts_when_survivors_not_ascending(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    a = world.addresses
    with reverts("RoundLogNotAscending", index=1, account=a[0]):
        world.c.round_log.transact(
            "finalize", rid, b"\x07" * 32, b"\x08" * 32, b"\x09" * 32, [a[1], a[0], a[2]],
            sender=world.aggregator,
        )  # fmt: skip


def test_finalize_reverts_on_zero_model_hash(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    with reverts("RoundLogZeroModelHash"):
        _finalize(world, rid, world.addresses, new_model=bytes(32))


def test_finalize_reverts_before_roster(world: World) -> None:
    rid = world.open_round()
    with reverts(
        "RoundLogWrongStage", round=rid, current=int(Stage.OPENED), expected=int(Stage.ROSTERED)
    ):
        _finalize(world, rid, world.addresses)


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
    log.post_roster(1, b"\x02" * 32, world.addresses, sender=world.aggregator)
    for p in world.participants:
        log.commit(1, b"\x03" * 32, b"\x04" * 32, weight=7, sender=p)
    result = log.finalize(
        1, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32, new_model_hash=b"\x09" * 32,
        survivors=world.addresses, sender=world.aggregator,
    )  # fmt: skip
    amounts = {e.args["amount"] for e in result.named("RewardAccrued")}
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
    _finalize(world, rid, world.addresses)
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


# ---- rewards, views, events -------------------------------------------------------------------


def test_claim_rewards_mints_accrued_tokens_once(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    _finalize(world, rid, world.addresses)
    p = world.participants[1]
    result = world.c.round_log.claim_rewards(sender=p)
    assert [e.args for e in result.named("RewardsClaimed")] == [
        {"participant": p.address, "amount": 10 * TOKEN}
    ]
    [transfer] = result.named("Transfer")
    assert transfer.args == {"from": "0x" + "00" * 20, "to": p.address, "value": 10 * TOKEN}
    assert world.c.token.balance_of(p.address) == GENESIS + 10 * TOKEN
    assert world.c.round_log.accrued_rewards(p.address) == 0
    with reverts("RoundLogNothingToClaim", account=p.address):
        world.c.round_log.claim_rewards(sender=p)


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
    _finalize(world, rid, world.addresses)
    events = fetch_events(world.backend, world.c.round_log.address, from_block=start)
    names = [e.name for e in events]
    assert (
        names
        == ["RoundOpened", "RosterPosted"]
        + ["UpdateCommitted"] * 5
        + ["RoundFinalized"]
        + ["RewardAccrued"] * 5
    )
    commits = fetch_events(
        world.backend,
        world.c.round_log.address,
        from_block=start,
        names=["UpdateCommitted"],
        chunk=2,
    )
    assert [e.args["participant"] for e in commits] == world.addresses
