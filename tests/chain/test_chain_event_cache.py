"""EventCache: the same events as fetch_events, new blocks fetched once, a revert noticed."""

from __future__ import annotations

from fedledger.chain import fetch_events
from fedledger.chain.event_cache import EventCache
from tests.support.chain import World


def _names(events: list) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return [(e.name, e.block_number) for e in events]


def test_event_cache_returns_what_fetch_events_returns_and_fetches_only_new_blocks(
    world: World,
) -> None:
    address = world.c.round_log.address
    rid = world.rostered_round()
    opened = world.c.round_log.get_round(rid).opened_block
    cache = EventCache(world.backend, address)
    first = cache.events(from_block=opened, names=["UpdateCommitted"])
    world.commit_all(rid, world.participants[:2])
    again = cache.events(from_block=opened, names=["UpdateCommitted"])
    twice = cache.events(from_block=opened, names=["UpdateCommitted"])
    direct = fetch_events(world.backend, address, from_block=opened, names=["UpdateCommitted"])
    assert first == []
    assert _names(again) == _names(direct) and len(direct) == 2
    assert twice == again
    assert cache.fetches == 2  # the third read found no new block


def test_event_cache_starts_over_after_the_chain_is_reverted(world: World) -> None:
    address = world.c.round_log.address
    rid = world.rostered_round()
    opened = world.c.round_log.get_round(rid).opened_block
    cache = EventCache(world.backend, address)
    snap = world.backend.snapshot()
    world.commit_all(rid, world.participants[:2])
    assert len(cache.events(from_block=opened, names=["UpdateCommitted"])) == 2
    world.backend.revert(snap)
    world.commit_all(rid, world.participants[2:3])
    [event] = cache.events(from_block=opened, names=["UpdateCommitted"])
    assert event.args["participant"] == world.participants[2].address


def test_backend_get_logs_gives_what_eth_get_logs_gives(world: World) -> None:
    rid = world.rostered_round()
    world.commit_all(rid, world.participants[:2])
    address = world.c.round_log.address
    latest = world.backend.block_number
    ours = world.backend.get_logs(address, 0, latest)
    theirs = world.backend.w3.eth.get_logs({"address": address, "fromBlock": 0, "toBlock": latest})
    keys = ("address", "topics", "data", "blockNumber", "blockHash", "transactionHash")
    keys += ("transactionIndex", "logIndex")
    assert len(ours) == len(theirs) > 2
    assert [[x[k] for k in keys] for x in ours] == [[x[k] for k in keys] for x in theirs]


def test_the_version_changes_exactly_when_the_events_held_change(world: World) -> None:
    address = world.c.round_log.address
    rid = world.rostered_round()
    opened = world.c.round_log.get_round(rid).opened_block
    cache = EventCache(world.backend, address)
    first, _ = cache.versioned_events(from_block=opened)
    same, _ = cache.versioned_events(from_block=opened)
    world.commit_all(rid, world.participants[:1])
    after, events = cache.versioned_events(from_block=opened, names=["UpdateCommitted"])

    assert same == first
    assert after != first and len(events) == 1
