"""Chain test helpers: the test configuration, World, reverts(), governance in one call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from fedledger.chain import (
    DEFAULT_ROUND_CONFIG,
    ChainBackend,
    Contracts,
    Deployment,
    MemberProof,
    Proposal,
    RosterTree,
    RoundConfig,
    RoundLogClient,
    VoteType,
    deploy_all,
    derive_accounts,
    fund,
)
from fedledger.errors import ContractRevert

TOKEN = 10**18

TEST_CONFIG = DEFAULT_ROUND_CONFIG.replace(
    neighbours=4, threshold=3, slash_bps=2500, unstake_delay=3600
)
TREASURY = to_checksum_address("0x" + "7e" * 20)  # receives slashed stake in the test deployment
GENESIS = 100 * TOKEN  # minted to each participant at deploy (stake and votes before any reward)


@contextmanager
def rolled_back(world: World) -> Iterator[World]:
    """`world` for one test; its chain is reverted to the snapshot taken here afterwards."""
    snap = world.backend.snapshot()
    try:
        yield world
    finally:
        world.backend.revert(snap)


@dataclass
class World:
    """A deployed fedledger with funded, registered participants."""

    backend: ChainBackend
    deployment: Deployment
    c: Contracts
    deployer: LocalAccount
    aggregator: LocalAccount
    outsider: LocalAccount
    participants: list[LocalAccount]  # registered; sorted by address; GENESIS tokens each
    unregistered: LocalAccount
    treasury: str = TREASURY
    trees: dict[int, RosterTree] = field(default_factory=dict)  # roster tree per round posted here

    @property
    def addresses(self) -> list[str]:
        return [p.address for p in self.participants]

    def open_round(self, model_hash: bytes = b"\x01" * 32) -> int:
        result = self.c.round_log.open_round(model_hash, sender=self.aggregator)
        return int(result.named("RoundOpened")[0].args["round"])

    def roster_tree(self, addresses: list[str]) -> RosterTree:
        """The roster tree of `addresses` (bundle hash = keccak256 of the address, for tests)."""
        return RosterTree.build([(a, keccak(text=a)) for a in addresses])

    def post_roster(self, rid: int, addresses: list[str]) -> RosterTree:
        """postRoster of the tree of `addresses` (kept in `trees`)."""
        tree = self.trees[rid] = self.roster_tree(addresses)
        self.c.round_log.post_roster(
            rid, b"\x02" * 32, tree.root, tree.count, sender=self.aggregator
        )
        return tree

    def rostered_round(self, members: list[LocalAccount] | None = None) -> int:
        rid = self.open_round(self.c.round_log.latest_model_hash() or b"\x01" * 32)
        chosen = members or self.participants
        self.post_roster(rid, [m.address for m in chosen])
        return rid

    def member(self, rid: int, account: LocalAccount | str) -> MemberProof:
        """`account`'s roster entry and proof in round `rid`."""
        address = account if isinstance(account, str) else account.address
        return self.trees[rid].member(rid, address)

    def index(self, rid: int, account: LocalAccount | str) -> int:
        """`account`'s roster index in round `rid`."""
        return self.member(rid, account).index

    def commit_all(
        self, rid: int, members: list[LocalAccount], weights: list[int] | None = None
    ) -> None:
        """Commit synthetic hashes for `members`; weights default to 100, 200, ..."""
        for i, m in enumerate(members):
            w = weights[i] if weights is not None else 100 * (i + 1)
            self.c.round_log.commit(
                rid,
                bytes([0x10 + i]) * 32,
                bytes([0x20 + i]) * 32,
                weight=w,
                member=self.member(rid, m),
                sender=m,
            )

    def stake(self, member: LocalAccount, amount: int) -> None:
        """Approve the registry and stake `amount` from `member`."""
        self.c.token.approve(self.c.registry.address, amount, sender=member)
        self.c.registry.stake(amount, sender=member)


@contextmanager
def reverts(name: str, **args: object) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """Expect a ContractRevert with exactly this custom error name and these arguments."""
    with pytest.raises(ContractRevert) as info:
        yield info
    assert info.value.name == name, str(info.value)
    assert info.value.args_ == args, str(info.value)


def build_world(backend: ChainBackend) -> World:
    """Deploy with TEST_CONFIG, a treasury, GENESIS tokens for six accounts; register five."""
    funded = backend.funded_accounts()
    deployer, aggregator, outsider = funded[0], funded[1], funded[2]
    people = sorted(derive_accounts(b"fedledger-tests", 6), key=lambda a: int(a.address, 16))
    deployment = deploy_all(
        backend,
        deployer=deployer,
        aggregator=aggregator.address,
        params=TEST_CONFIG,
        slash_recipient=TREASURY,
        genesis={p.address: GENESIS for p in people},
    )
    contracts = deployment.attach(backend)
    fund(backend, deployer, [p.address for p in people], 10**18)
    participants, unregistered = people[:5], people[5]
    for p in participants:
        contracts.registry.register(p.address, sender=deployer)
    return World(
        backend, deployment, contracts, deployer, aggregator, outsider, participants, unregistered
    )


def own_round_log(world: World, config: RoundConfig) -> RoundLogClient:
    """A RoundLog on the world's registry and token but with its own, deployer-owned RoundParams.

    It may not mint or slash (no roles), which is enough to test roster eligibility and the
    reward rule under any configuration without a governance vote.
    """
    from fedledger.chain.deploy import _creation_code
    from fedledger.chain.tx import deploy_contract

    code = _creation_code("RoundParams", world.deployer.address, config.as_tuple(), TREASURY)
    params = deploy_contract(world.backend, world.deployer, bytecode=code, name="RoundParams")
    code = _creation_code(
        "RoundLog",
        world.deployer.address,
        world.aggregator.address,
        world.c.registry.address,
        params.contract_address,
        world.c.token.address,
    )
    log = deploy_contract(world.backend, world.deployer, bytecode=code, name="RoundLog")
    return RoundLogClient(world.backend, log.contract_address or "")


def pass_proposal(world: World, proposal: Proposal, voters: list[LocalAccount]) -> int:
    """Delegate, propose, vote for, queue and execute `proposal`, advancing blocks and time."""
    gov = world.c.governor
    for v in voters:
        world.c.token.delegate(v.address, sender=v)
    pid, _ = gov.submit(proposal, sender=voters[0])
    world.backend.mine(gov.voting_delay() + 1)
    for v in voters:
        gov.vote(pid, VoteType.FOR, sender=v)
    world.backend.mine(gov.voting_period() + 1)
    gov.queue_proposal(proposal, sender=world.outsider)
    world.backend.advance_time(world.c.timelock.min_delay() + 1)
    gov.execute_proposal(proposal, sender=world.outsider)
    return pid
