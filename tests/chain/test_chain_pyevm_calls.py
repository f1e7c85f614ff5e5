"""The embedded chain's eth_call on a kept block state answers as a fresh state would."""

from __future__ import annotations

import pytest

from fedledger.chain import EmbeddedChain
from fedledger.chain.pyevm_calls import WarmCallBackend
from fedledger.errors import ContractRevert
from tests.support.chain import World, build_world, rolled_back


@pytest.fixture(scope="module")
def _embedded() -> World:
    return build_world(EmbeddedChain())


@pytest.fixture
def embedded(_embedded: World) -> World:
    with rolled_back(_embedded) as w:
        yield w


def _backend(world: World) -> WarmCallBackend:
    assert isinstance(world.backend, EmbeddedChain)
    backend = world.backend.tester.backend
    assert isinstance(backend, WarmCallBackend)
    return backend


def test_calls_at_one_block_share_one_state(embedded: World) -> None:
    backend = _backend(embedded)
    embedded.c.registry.is_registered(embedded.participants[0].address)
    built = backend.states_built

    answers = [embedded.c.registry.is_registered(p.address) for p in embedded.participants]
    answers.append(embedded.c.registry.is_registered(embedded.unregistered.address))

    assert answers == [True] * 5 + [False]
    assert backend.states_built == built


def test_a_call_after_a_transaction_reads_the_new_block(embedded: World) -> None:
    registry, someone = embedded.c.registry, embedded.participants[0].address
    assert registry.is_registered(someone) is True
    registry.deregister(someone, sender=embedded.deployer)

    assert registry.is_registered(someone) is False


def test_a_call_after_a_revert_reads_the_block_reverted_to(embedded: World) -> None:
    registry, someone = embedded.c.registry, embedded.participants[0].address
    snap = embedded.backend.snapshot()
    registry.deregister(someone, sender=embedded.deployer)
    assert registry.is_registered(someone) is False
    embedded.backend.revert(snap)

    assert registry.is_registered(someone) is True


def test_a_reverting_call_still_raises_the_decoded_custom_error(embedded: World) -> None:
    with pytest.raises(ContractRevert, match="RoundLogUnknownRound"):
        embedded.c.round_log.get_round(999)


def test_the_kept_state_is_left_as_found_by_a_call_that_writes(embedded: World) -> None:
    rid = embedded.rostered_round()
    before = embedded.c.round_log.get_round(rid)
    member = embedded.member(rid, embedded.participants[0])
    # A commit run as an eth_call executes its writes on the kept state, then reverts them.
    data = embedded.c.round_log.encode(
        "commit", rid, b"\x01" * 32, b"\x02" * 32, 5, *member.to_abi()[1:]
    )
    embedded.backend.w3.eth.call(
        {"from": embedded.participants[0].address, "to": embedded.c.round_log.address, "data": data}
    )

    assert embedded.c.round_log.get_round(rid) == before


def test_block_hash_reads_the_canonical_chain_and_forgets_reverted_blocks(embedded: World) -> None:
    backend = embedded.backend
    head = backend.block_number
    snap = backend.snapshot()
    backend.mine(2)
    mined = backend.block_hash(head + 2)
    assert mined == bytes(backend.w3.eth.get_block(head + 2)["hash"])
    backend.revert(snap)

    assert backend.block_hash(head) == bytes(backend.w3.eth.get_block(head)["hash"])
    assert backend.block_hash(head + 2) is None
    assert backend.block_hash(-1) is None
