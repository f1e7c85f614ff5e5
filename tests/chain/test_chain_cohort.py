"""RoundLog's cohort sample: candidates fixed first, the seed from their block, O(1) postRoster."""

from __future__ import annotations

from eth_utils import keccak

from fedledger.chain import RoundLogClient, Stage
from fedledger.chain.cohort import cohort_sample, sample_score, sample_seed
from tests.support.chain import TEST_CONFIG, World, own_round_log, reverts

H = b"\x01" * 32
CANDIDATES = b"\xca" * 32
COHORT = TEST_CONFIG.replace(cohort_size=4)  # the roster minimum of TEST_CONFIG is 4


def _open(log: RoundLogClient, world: World) -> int:
    latest = log.latest_model_hash()
    result = log.open_round(latest if latest != bytes(32) else H, sender=world.aggregator)
    return int(result.named("RoundOpened")[0].args["round"])


def test_post_candidates_fixes_hash_count_and_block(world: World) -> None:
    log = own_round_log(world, COHORT)
    rid = _open(log, world)
    result = log.post_candidates(rid, CANDIDATES, 5, sender=world.aggregator)
    [event] = result.named("CandidatesPosted")
    assert event.args == {
        "round": rid,
        "candidatesHash": CANDIDATES,
        "candidateCount": 5,
        "cohortSize": 4,
    }
    info = log.get_round(rid)
    assert (info.candidates_hash, info.candidate_count) == (CANDIDATES, 5)
    assert info.candidates_block == result.block_number
    assert info.sample_seed == bytes(32)  # fixed only by postRoster, from a later block


def test_post_roster_derives_the_sample_seed_from_the_candidates_block(world: World) -> None:
    log = own_round_log(world, COHORT)
    rid = _open(log, world)
    posted = log.post_candidates(rid, CANDIDATES, 5, sender=world.aggregator)
    sampled = cohort_sample(world.addresses, bytes(32), 4)  # any 4: the contract stores none
    tree = world.roster_tree(sampled)
    result = log.post_roster(rid, b"\x02" * 32, tree.root, 4, sender=world.aggregator)

    info = log.get_round(rid)
    anchor = bytes(world.backend.w3.eth.get_block(posted.block_number)["hash"])
    assert info.sample_seed == sample_seed(info.seed, CANDIDATES, anchor)
    [event] = result.named("CohortSampled")
    assert event.args == {
        "round": rid,
        "sampleSeed": info.sample_seed,
        "candidatesBlock": posted.block_number,
    }
    assert (info.stage, info.member_count) == (Stage.ROSTERED, 4)


def test_post_roster_reverts_without_candidates_when_the_round_has_a_cohort_size(
    world: World,
) -> None:
    log = own_round_log(world, COHORT)
    rid = _open(log, world)
    tree = world.roster_tree(world.addresses[:4])
    with reverts("RoundLogCandidatesMissing", round=rid):
        log.post_roster(rid, b"\x02" * 32, tree.root, 4, sender=world.aggregator)


def test_post_roster_reverts_when_the_member_count_is_not_the_cohort(world: World) -> None:
    log = own_round_log(world, COHORT)
    rid = _open(log, world)
    log.post_candidates(rid, CANDIDATES, 5, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)  # all five: the aggregator skips the sample
    with reverts("RoundLogCohortSizeMismatch", round=rid, memberCount=5, expected=4):
        log.post_roster(rid, b"\x02" * 32, tree.root, 5, sender=world.aggregator)


def test_post_roster_takes_every_candidate_when_they_do_not_exceed_the_cohort(
    world: World,
) -> None:
    log = own_round_log(world, TEST_CONFIG.replace(cohort_size=10))
    rid = _open(log, world)
    log.post_candidates(rid, CANDIDATES, 5, sender=world.aggregator)
    tree = world.roster_tree(world.addresses[:4])
    with reverts("RoundLogCohortSizeMismatch", round=rid, memberCount=4, expected=5):
        log.post_roster(rid, b"\x02" * 32, tree.root, 4, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)
    log.post_roster(rid, b"\x02" * 32, tree.root, 5, sender=world.aggregator)
    assert log.get_round(rid).member_count == 5


def test_post_candidates_reverts_when_the_round_has_no_cohort_size(world: World) -> None:
    log = own_round_log(world, TEST_CONFIG)
    rid = _open(log, world)
    with reverts("RoundLogNoCohortSampling", round=rid):
        log.post_candidates(rid, CANDIDATES, 5, sender=world.aggregator)


def test_post_candidates_is_refused_twice_too_few_empty_and_from_others(world: World) -> None:
    log = own_round_log(world, COHORT)
    rid = _open(log, world)
    with reverts("RoundLogUnauthorizedAggregator", caller=world.outsider.address):
        log.post_candidates(rid, CANDIDATES, 5, sender=world.outsider)
    with reverts("RoundLogEmptyCandidates", round=rid):
        log.post_candidates(rid, bytes(32), 5, sender=world.aggregator)
    with reverts("RoundLogTooFewMembers", round=rid, count=3, required=4):
        log.post_candidates(rid, CANDIDATES, 3, sender=world.aggregator)
    log.post_candidates(rid, CANDIDATES, 5, sender=world.aggregator)
    with reverts("RoundLogCandidatesAlreadyPosted", round=rid):
        log.post_candidates(rid, keccak(b"other"), 6, sender=world.aggregator)


def test_post_candidates_reverts_after_the_roster_deadline(world: World) -> None:
    log = own_round_log(world, COHORT)
    rid = _open(log, world)
    deadline = log.get_round(rid).commit_deadline
    world.backend.advance_time(COHORT.commit_window + 5)
    with reverts("RoundLogRosterClosed", round=rid, deadline=deadline):
        log.post_candidates(rid, CANDIDATES, 5, sender=world.aggregator)


def test_sampled_post_roster_costs_the_same_for_ten_and_ten_thousand_candidates(
    world: World,
) -> None:
    log = own_round_log(world, TEST_CONFIG.replace(cohort_size=5_000))
    gas = []
    for n in (10, 10_000):
        rid = _open(log, world)
        log.post_candidates(rid, keccak(n.to_bytes(4, "big")), n, sender=world.aggregator)
        members = min(n, 5_000)
        tx = log.post_roster(rid, b"\x02" * 32, keccak(b"root"), members, sender=world.aggregator)
        gas.append(tx.gas_used)
        log.fail_round(rid, "gas", sender=world.aggregator)
    # No per-candidate cost: one storage write per candidate would add >= 20,000 * 9,990 gas.
    # What differs is slot history between the two rounds (a warm or already-dirty slot on
    # anvil's one-second blocks: 2,812 gas seen), never the candidate count.
    assert abs(gas[1] - gas[0]) <= 5_000, gas


def test_sample_takes_the_lowest_scores_and_lists_them_by_address() -> None:
    seed = keccak(b"seed")
    people = [f"0x{i:040x}" for i in range(1, 21)]
    chosen = cohort_sample(people, seed, 5)
    by_score = sorted(people, key=lambda a: sample_score(seed, a))
    assert {c.lower() for c in chosen} == set(by_score[:5])
    assert chosen == sorted(chosen, key=lambda a: bytes.fromhex(a[2:]))
    assert len(cohort_sample(people, seed, 0)) == 20  # 0: everyone
    assert len(cohort_sample(people, seed, 30)) == 20  # fewer candidates than the cohort
    assert set(cohort_sample(people, keccak(b"other"), 5)) != set(chosen)
