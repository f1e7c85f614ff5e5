"""ParticipantRegistry: register/deregister, events, errors, access control."""

from __future__ import annotations

from eth_utils import keccak

from tests.support.chain import World, reverts


def test_register_marks_account_and_emits_participant_registered(world: World) -> None:
    result = world.c.registry.register(world.unregistered.address, sender=world.deployer)
    [event] = result.named("ParticipantRegistered")
    assert event.args == {"account": world.unregistered.address}
    assert world.c.registry.is_registered(world.unregistered.address)
    assert world.c.registry.registered_at(world.unregistered.address) > 0
    assert world.c.registry.participant_count() == len(world.participants) + 1


def test_register_reverts_when_already_registered(world: World) -> None:
    who = world.participants[0].address
    with reverts("ParticipantRegistryAlreadyRegistered", account=who):
        world.c.registry.register(who, sender=world.deployer)


def test_register_reverts_for_zero_address(world: World) -> None:
    with reverts("ParticipantRegistryZeroAddress"):
        world.c.registry.register("0x" + "00" * 20, sender=world.deployer)


def test_register_reverts_when_sender_lacks_registrar_role(world: World) -> None:
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=world.outsider.address,
        neededRole="0x" + keccak(text="REGISTRAR_ROLE").hex(),
    ):
        world.c.registry.register(world.unregistered.address, sender=world.outsider)


def test_deregister_clears_account_and_emits_participant_deregistered(world: World) -> None:
    who = world.participants[0].address
    result = world.c.registry.deregister(who, sender=world.deployer)
    assert [e.args for e in result.named("ParticipantDeregistered")] == [{"account": who}]
    assert not world.c.registry.is_registered(who)
    assert world.c.registry.registered_at(who) == 0
    assert world.c.registry.participant_count() == len(world.participants) - 1


def test_deregister_reverts_when_not_registered(world: World) -> None:
    with reverts("ParticipantRegistryNotRegistered", account=world.unregistered.address):
        world.c.registry.deregister(world.unregistered.address, sender=world.deployer)
