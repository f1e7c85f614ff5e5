"""ViewCache: view results shared within one head block, never carried to another block."""

from __future__ import annotations

import pytest

from fedledger.chain.view_cache import ViewCache
from tests.support.chain import World


@pytest.fixture
def cache(world: World, monkeypatch: pytest.MonkeyPatch) -> ViewCache:
    fresh = ViewCache()
    monkeypatch.setattr(world.backend, "view_cache", fresh)
    return fresh


def test_a_repeated_view_in_the_same_block_is_answered_from_the_cache(
    world: World, cache: ViewCache
) -> None:
    rid = world.rostered_round()
    misses, hits = cache.misses, cache.hits
    first = world.c.round_log.get_round(rid)
    again = world.c.round_log.get_round(rid)

    assert again == first
    assert (cache.misses - misses, cache.hits - hits) == (1, 1)


def test_a_view_after_a_new_block_reads_the_new_state(world: World, cache: ViewCache) -> None:
    rid = world.rostered_round()
    before = world.c.round_log.get_round(rid)
    world.commit_all(rid, world.participants[:1])
    after = world.c.round_log.get_round(rid)

    assert (before.committed_count, after.committed_count) == (0, 1)


def test_a_block_of_the_same_height_after_a_revert_is_not_mistaken_for_the_cached_one(
    world: World, cache: ViewCache
) -> None:
    rid = world.rostered_round()
    snap = world.backend.snapshot()
    world.commit_all(rid, world.participants[:2], weights=[100, 200])
    height = world.backend.block_number
    assert world.c.round_log.get_round(rid).committed_weight == 300
    world.backend.revert(snap)
    world.commit_all(rid, world.participants[:2], weights=[1, 2])

    assert world.backend.block_number == height  # same number, another block
    assert world.c.round_log.get_round(rid).committed_weight == 3


def test_different_arguments_and_senders_are_different_entries(
    world: World, cache: ViewCache
) -> None:
    registered, outsider = world.participants[0].address, world.unregistered.address

    assert world.c.registry.is_registered(registered) is True
    assert world.c.registry.is_registered(outsider) is False
    assert cache.misses == 2


def test_the_cache_forgets_everything_when_the_head_moves() -> None:
    cache = ViewCache()
    old, new = (5, b"\x01" * 32), (6, b"\x02" * 32)
    assert cache.get(old, "k") is ViewCache.MISS
    cache.put(old, "k", [1, 2])

    assert cache.get(new, "k") is ViewCache.MISS
    assert cache.get(old, "k") is ViewCache.MISS  # back to an old head: nothing kept from before
    cache.put(new, "k", [3])  # read at a head that is no longer the cache's: not kept
    assert cache.get(old, "k") is ViewCache.MISS


def test_a_cached_value_is_a_copy_a_caller_cannot_change_for_others() -> None:
    cache = ViewCache()
    head = (1, b"\x01" * 32)
    cache.get(head, "k")
    cache.put(head, "k", [1, 2])
    mine = cache.get(head, "k")
    mine.append(3)

    assert cache.get(head, "k") == [1, 2]
