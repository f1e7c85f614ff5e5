"""RoundLog's per-account weight ledger: ring words, the archive, priming, the 31-bit limit."""

from __future__ import annotations

from dataclasses import replace

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from fedledger.chain import MemberProof, Stage
from fedledger.chain.merkle import ROSTER_LEAF_TYPES, StandardMerkleTree
from fedledger.chain.round_log import (
    LEDGER_WORDS,
    MAX_LEDGER_WEIGHT,
    PRIMED_TAG,
    LedgerEntry,
)
from tests.support.chain import TEST_CONFIG, TOKEN, World, own_round_log, reverts

MODEL = b"\x09" * 32  # the new model of every finalized round here
RING_ROUNDS = 7 * LEDGER_WORDS  # round r and r + 56 share a ring word


def _finalize(world: World, rid: int) -> None:
    world.c.round_log.finalize(
        rid, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32, new_model_hash=MODEL,
        sender=world.aggregator,
    )  # fmt: skip


def _fail_rounds_until(world: World, last: int) -> None:
    """Open and fail rounds until `last` was the latest opened."""
    log = world.c.round_log
    while log.current_round() < last:
        rid = world.open_round(log.latest_model_hash())
        log.fail_round(rid, "skip", sender=world.aggregator)


def _commit(world: World, rid: int, p: LocalAccount, weight: int = 5) -> int:
    """Commit `p` in `rid`; its gas."""
    m = world.member(rid, p)
    tx = world.c.round_log.commit(
        rid, b"\xaa" * 32, b"\xbb" * 32, weight=weight, member=m, sender=p
    )
    return tx.gas_used


def _wrapped_world(world: World) -> tuple[int, int]:
    """Round 1 finalized with every participant committed (weights 100..500); rounds up to 56
    failed; round 57 (round 1's ring word) rostered. Returns (1, 57)."""
    first = world.rostered_round()
    world.commit_all(first, world.participants)
    _finalize(world, first)
    _fail_rounds_until(world, first + RING_ROUNDS - 1)
    later = world.rostered_round()
    assert later == first + RING_ROUNDS
    return first, later


def test_registration_primes_every_ring_word(world: World) -> None:
    log = world.c.round_log
    p = world.participants[0]
    for slot in range(LEDGER_WORDS):
        ring, archive = log.view("ledgerWords", 7 * slot, p.address)
        assert (ring, archive) == (PRIMED_TAG << 224, 0)
    ring, _ = log.view("ledgerWords", 0, world.unregistered.address)
    assert ring == 0


def test_commit_by_a_primed_account_pays_no_fresh_slot_and_prime_keeps_written_words(
    world: World,
) -> None:
    log = own_round_log(world, TEST_CONFIG)  # its ledger is not the registry's: nobody primed
    fresh, primed = world.participants[0], world.participants[1]
    log.prime([primed.address], sender=world.outsider)
    log.open_round(b"\x01" * 32, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)
    log.post_roster(1, b"\x02" * 32, tree.root, tree.count, sender=world.aggregator)
    gas = {}
    for p in (fresh, primed):
        m = tree.member(1, p.address)
        tx = log.commit(1, b"\x03" * 32, b"\x04" * 32, weight=9, member=m, sender=p)
        gas[p.address] = tx.gas_used
    # A zero -> non-zero SSTORE costs 17,100 more than a non-zero rewrite; proofs differ by a step.
    assert gas[fresh.address] - gas[primed.address] > 15_000
    log.prime([fresh.address, primed.address], sender=world.outsider)
    assert (log.weight_of(1, fresh.address), log.weight_of(1, primed.address)) == (9, 9)


def test_commit_reverts_for_the_same_account_at_a_second_roster_index(world: World) -> None:
    p, others = world.participants[0], world.participants[1:]
    entries = [(p.address, keccak(b"first")), (p.address, keccak(b"second"))]
    entries += [(o.address, keccak(text=o.address)) for o in others]
    values = [(i, a, h) for i, (a, h) in enumerate(entries)]
    tree = StandardMerkleTree.of(values, ROSTER_LEAF_TYPES)
    log = world.c.round_log
    rid = world.open_round()
    log.post_roster(rid, b"\x02" * 32, tree.root, len(values), sender=world.aggregator)
    members = [MemberProof(rid, i, entries[i][1], tuple(tree.proof(i))) for i in (0, 1)]
    log.commit(rid, b"\x03" * 32, b"\x04" * 32, weight=5, member=members[0], sender=p)
    with reverts("RoundLogAlreadyCommitted", round=rid, account=p.address):
        log.commit(rid, b"\x03" * 32, b"\x04" * 32, weight=5, member=members[1], sender=p)
    assert log.get_round(rid).committed_count == 1


def test_commit_reverts_by_name_for_a_weight_of_2_to_the_31(world: World) -> None:
    log = own_round_log(world, replace(TEST_CONFIG, max_weight=2**32 - 1))
    log.open_round(b"\x01" * 32, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)
    log.post_roster(1, b"\x02" * 32, tree.root, tree.count, sender=world.aggregator)
    p = world.participants[0]
    m = tree.member(1, p.address)
    with reverts("RoundLogWeightOutOfRange", round=1, weight=2**31, maxWeight=MAX_LEDGER_WEIGHT):
        log.commit(1, b"\x03" * 32, b"\x04" * 32, weight=2**31, member=m, sender=p)
    log.commit(1, b"\x03" * 32, b"\x04" * 32, weight=MAX_LEDGER_WEIGHT, member=m, sender=p)
    assert log.weight_of(1, p.address) == MAX_LEDGER_WEIGHT
    assert not log.is_claimed(1, p.address)  # the 31 weight bits did not reach the flag


def test_claim_after_the_ring_word_was_reused_comes_from_the_archive_once(world: World) -> None:
    first, later = _wrapped_world(world)
    log = world.c.round_log
    p = world.participants[2]
    _commit(world, later, p)
    entry = log.ledger_entry(first, p.address)
    assert entry == LedgerEntry(weight=300, claimed=False, archived=True, dropped=False)
    assert log.weight_of(first, p.address) == 300
    assert log.weight_of(later, p.address) == 5
    before = world.c.token.balance_of(p.address)
    m = world.trees[first].member(first, p.address)
    assert log.claimable(first, p.address, m.index) == 10 * TOKEN
    log.claim([m], sender=p)
    assert world.c.token.balance_of(p.address) == before + 10 * TOKEN
    assert log.is_claimed(first, p.address) and log.claimable(first, p.address, m.index) == 0
    with reverts("RoundLogAlreadyClaimed", round=first, index=m.index):
        log.claim([m], sender=p)
    assert log.ledger_entry(later, p.address).weight == 5  # the ring word kept the new round


def test_a_reused_word_whose_weights_were_all_claimed_is_not_archived(world: World) -> None:
    first, later = _wrapped_world(world)
    log = world.c.round_log
    claimer, keeper = world.participants[0], world.participants[1]
    log.claim([world.trees[first].member(first, claimer.address)], sender=claimer)
    gas = {p.address: _commit(world, later, p) for p in (claimer, keeper)}
    assert log.ledger_entry(first, claimer.address) == LedgerEntry(0, False, False, dropped=True)
    assert log.ledger_entry(first, keeper.address).archived
    # The keeper's commit also wrote a fresh archive slot (22,100 gas).
    assert gas[keeper.address] - gas[claimer.address] > 15_000


def test_finalize_reverts_for_an_excluded_account_paired_with_another_members_index(
    world: World,
) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)
    liar, victim = world.participants[0], world.member(rid, world.participants[3])
    forged = (liar.address, victim.index, victim.bundle_hash, list(victim.proof))
    with reverts("RoundLogNotInRoster", round=rid, account=liar.address, index=victim.index):
        world.c.round_log.transact(
            "finalize", rid, b"\x07" * 32, b"\x08" * 32, MODEL, [forged], sender=world.aggregator
        )
    assert world.c.round_log.get_round(rid).stage is Stage.ROSTERED


def test_finalize_subtracts_the_excluded_weight_read_by_account(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants)  # weights 100 .. 500
    gone = world.participants[4]
    tx = world.c.round_log.finalize(
        rid, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32, new_model_hash=MODEL,
        excluded=[(gone.address, world.member(rid, gone))], sender=world.aggregator,
    )  # fmt: skip
    [event] = tx.named("RoundFinalized")
    assert event.args["excluded"] == [world.index(rid, gone)]
    assert event.args["totalWeight"] == 100 + 200 + 300 + 400


def test_ledger_entry_decodes_ring_archive_and_dropped_words() -> None:
    tag = (8 << 224) | (0x80000000 | 42) << 32  # round 50 = 7 * 7 + 1: tag 8, entry 1, claimed
    assert LedgerEntry.decode(50, tag, 0) == LedgerEntry(42, True, False, False)
    newer = 16 << 224
    assert LedgerEntry.decode(50, newer, (8 << 224) | 42 << 32) == LedgerEntry(
        42, False, True, False
    )
    assert LedgerEntry.decode(50, newer, 0) == LedgerEntry(0, False, False, True)
    assert LedgerEntry.decode(50, PRIMED_TAG << 224, 0) == LedgerEntry(0, False, False, False)
    assert LedgerEntry.decode(50, 0, 0) == LedgerEntry(0, False, False, False)
