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
    assert cache.fetches == 3  # the head block is read once more, nothing older


class _LateLogs:
    """A backend whose head block's logs are not readable yet on the first ask (as a node
    may serve eth_blockNumber before the block's logs are indexed)."""

    def __init__(self, backend: object) -> None:
        self._backend, self.hidden = backend, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._backend, name)

    def get_logs(self, address: object, start: int, end: int, *rest: object) -> list:  # type: ignore[type-arg]
        logs = self._backend.get_logs(address, start, end, *rest)  # type: ignore[attr-defined]
        head = self._backend.block_number  # type: ignore[attr-defined]
        if not self.hidden and any(int(x["blockNumber"]) == head for x in logs):
            self.hidden += 1
            return [x for x in logs if int(x["blockNumber"]) != head]
        return logs


def test_a_head_block_read_before_its_logs_were_indexed_is_read_again(world: World) -> None:
    address = world.c.round_log.address
    rid = world.rostered_round()
    opened = world.c.round_log.get_round(rid).opened_block
    late = _LateLogs(world.backend)
    cache = EventCache(late, address)  # type: ignore[arg-type]
    world.commit_all(rid, world.participants[:2])

    early = cache.events(from_block=opened, names=["UpdateCommitted"])
    later = cache.events(from_block=opened, names=["UpdateCommitted"])

    assert late.hidden == 1 and len(early) == 1  # the head block's commit was not readable
    assert [e.args["participant"] for e in later] == [p.address for p in world.participants[:2]]


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
