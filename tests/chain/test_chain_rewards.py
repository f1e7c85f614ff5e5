"""Reward rule fixed at finalize, claimed per survivor: mode 0 (fixed, capped) and mode 1 (by
committed weight, capped)."""

from __future__ import annotations

from dataclasses import replace

from fedledger.chain import RoundConfig, RoundLogClient, reward_amounts
from tests.support.chain import TEST_CONFIG, TOKEN, World, own_round_log, reverts

WEIGHTS = [100, 200, 300, 400, 500]


def _run(world: World, log: RoundLogClient, weights: list[int]) -> dict[str, int]:
    log.open_round(b"\x01" * 32, sender=world.aggregator)
    tree = world.roster_tree(world.addresses)
    log.post_roster(1, b"\x02" * 32, tree.root, tree.count, sender=world.aggregator)
    for i, (p, w) in enumerate(zip(world.participants, weights, strict=True)):
        log.commit(
            1, bytes([0x30 + i]) * 32, b"\x04" * 32, weight=w,
            member=tree.member(1, p.address), sender=p,
        )  # fmt: skip
    result = log.finalize(
        1, aggregate_hash=b"\x07" * 32, reveal_hash=b"\x08" * 32, new_model_hash=b"\x09" * 32,
        sender=world.aggregator,
    )  # fmt: skip
    assert result.named("RoundFinalized")[0].args["totalWeight"] == sum(weights)
    # What each survivor may claim (this log may not mint: the view is the reward rule).
    amounts = {a: log.claimable(1, a, tree.index_of(a)) for a in world.addresses}
    return {a: v for a, v in amounts.items() if v}


def _mode1(**change: int) -> RoundConfig:
    return replace(TEST_CONFIG, reward_mode=1, **change)


def test_mode_1_pays_reward_times_weight_over_max_weight_when_under_cap(world: World) -> None:
    # R = 10 tokens per full weight 4096; R * W = 10 * 1500 <= cap * maxWeight = 1000 * 4096.
    paid = _run(world, own_round_log(world, _mode1()), WEIGHTS)
    assert paid == {
        a: 10 * TOKEN * w // 4096 for a, w in zip(world.addresses, WEIGHTS, strict=True)
    }
    assert paid[world.addresses[0]] == 244_140_625_000_000_000  # 10e18 * 100 / 4096 exactly
    assert paid[world.addresses[2]] == 732_421_875_000_000_000


def test_mode_1_splits_the_cap_by_weight_and_rounds_down(world: World) -> None:
    # R * W = 10 * 1500 > cap * maxWeight = 7 * 1000 (token units): each gets floor(cap * w / W).
    config = _mode1(max_weight=1000, reward_cap=7 * TOKEN, reward_per_contribution=7 * TOKEN)
    paid = _run(world, own_round_log(world, config), WEIGHTS)
    expected = [7 * TOKEN * w // 1500 for w in WEIGHTS]
    assert list(paid.values()) == expected
    assert expected[0] == 466_666_666_666_666_666  # 7e18 / 15, rounded down
    # 7e18 * w / 1500 leaves fractions 2/3, 1/3, 0, 2/3, 1/3: 2 units stay unminted.
    assert sum(paid.values()) == 7 * TOKEN - 2


def test_mode_0_ignores_weights(world: World) -> None:
    paid = _run(world, own_round_log(world, TEST_CONFIG), WEIGHTS)
    assert set(paid.values()) == {10 * TOKEN}


def test_reference_reward_amounts_match_the_contract(world: World) -> None:
    config = _mode1(max_weight=600, reward_per_contribution=3 * TOKEN, reward_cap=4 * TOKEN)
    weights = [1, 599, 600, 17, 333]
    paid = _run(world, own_round_log(world, config), weights)
    assert paid == reward_amounts(config, dict(zip(world.addresses, weights, strict=True)))


def test_commit_reverts_when_weight_is_zero_or_above_max_weight(world: World) -> None:
    rid = world.rostered_round()
    p = world.participants[0]
    m = world.member(rid, p)
    for w in (0, TEST_CONFIG.max_weight + 1):
        with reverts("RoundLogWeightOutOfRange", round=rid, weight=w, maxWeight=4096):
            world.c.round_log.transact(
                "commit", rid, b"\xaa" * 32, b"\xbb" * 32, w, m.index, m.bundle_hash,
                list(m.proof), sender=p,
            )  # fmt: skip
    world.c.round_log.commit(rid, b"\xaa" * 32, b"\xbb" * 32, weight=4096, member=m, sender=p)
    assert world.c.round_log.weight_of(rid, p.address) == 4096
