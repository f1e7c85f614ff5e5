"""TxPipeline: many transactions in flight, explicit nonces, reverts named, crash recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedledger.chain import RpcChain
from fedledger.chain.accounts import derive_accounts
from fedledger.chain.pipeline import PipelinedRevert, TxPipeline, recover
from fedledger.chain.tx import sign_transaction
from fedledger.errors import ConfigError, ContractRevert
from tests.support.chain import World


def _commit(world: World, pipeline: TxPipeline, rid: int, i: int, *, gas: int | None = None):  # type: ignore[no-untyped-def]
    member = world.participants[i]
    if member.address in world.trees[rid].members:
        proof = world.member(rid, member)
    else:  # an outsider replays member 0's entry: the leaf holds msg.sender, so it fails
        proof = world.member(rid, world.trees[rid].members[0])
    return world.c.round_log.submit_commit(
        pipeline,
        rid,
        bytes([0x10 + i]) * 32,
        bytes([0x20 + i]) * 32,
        weight=7,
        member=proof,
        sender=member,
        gas=gas,
    )


def test_pipelined_commits_are_all_mined_and_counted(world: World) -> None:
    rid = world.rostered_round()
    pipeline = TxPipeline(world.backend, window=2)
    pending = [_commit(world, pipeline, rid, i) for i in range(len(world.participants))]
    pipeline.flush()
    results = [p.result() for p in pending]
    assert all(p.done for p in pending)
    assert [r.named("UpdateCommitted")[0].args["participant"] for r in results] == world.addresses
    assert world.c.round_log.get_round(rid).committed_count == len(world.participants)
    assert pipeline.in_flight == 0


def test_pipeline_never_holds_more_than_its_window(world: World) -> None:
    rid = world.rostered_round()
    pipeline = TxPipeline(world.backend, window=1)
    seen = []
    for i in range(3):
        _commit(world, pipeline, rid, i)
        seen.append(pipeline.in_flight)
    # eth-tester mines inside the send, so its receipts are collected at once.
    assert seen == ([0, 0, 0] if world.backend.mines_on_send else [1, 1, 1])


def test_estimate_once_reuses_the_first_limit_for_the_same_call(world: World) -> None:
    pipeline = TxPipeline(world.backend, estimate_once=True)
    targets = derive_accounts(b"pipeline-estimate", 3)
    pending = [
        pipeline.submit(world.deployer, to=a.address, data=b"", value=1, what="pay")
        for a in targets
    ]
    pipeline.flush()
    assert len({p.tx.gas for p in pending}) == 1
    assert all(p.result().gas_used < p.tx.gas for p in pending)
    assert [world.backend.w3.eth.get_balance(a.address) for a in targets] == [1, 1, 1]


def test_pipelined_commits_bound_their_gas_instead_of_reusing_one_estimate(world: World) -> None:
    """Commits differ in gas (proof length, a fresh ledger word): each gets the bound."""
    rid = world.rostered_round()
    pipeline = TxPipeline(world.backend, estimate_once=True)
    pending = [_commit(world, pipeline, rid, i) for i in range(3)]
    pipeline.flush()
    used = [p.result().gas_used for p in pending]
    assert all(u < p.tx.gas for u, p in zip(used, pending, strict=True))
    assert len(set(used)) > 1  # the 5-leaf roster tree has proofs of 2 and 3 steps
    assert world.c.round_log.get_round(rid).committed_count == 3


def test_one_account_sends_several_transactions_in_flight_with_consecutive_nonces(
    world: World,
) -> None:
    pipeline = TxPipeline(world.backend, window=8)
    sender = world.deployer
    start = world.backend.w3.eth.get_transaction_count(sender.address)
    targets = derive_accounts(b"pipeline-nonces", 3)
    pending = [
        pipeline.submit(sender, to=a.address, data=b"", value=1, gas=21_000) for a in targets
    ]
    pipeline.flush()
    assert [p.tx.nonce for p in pending] == [start, start + 1, start + 2]
    assert [world.backend.w3.eth.get_balance(a.address) for a in targets] == [1, 1, 1]


def test_a_reverting_transaction_inside_a_window_names_account_call_and_reason(
    world: World,
) -> None:
    rid = world.rostered_round(world.participants[:-1])
    outsider = world.participants[-1]
    pipeline = TxPipeline(world.backend, window=8)
    first = _commit(world, pipeline, rid, 0)
    # An explicit gas limit skips the estimate, so the revert happens on chain, mid-window.
    bad = _commit(world, pipeline, rid, len(world.participants) - 1, gas=200_000)
    last = _commit(world, pipeline, rid, 1)
    pipeline.flush()
    assert first.result().gas_used > 0
    assert last.result().gas_used > 0
    with pytest.raises(PipelinedRevert) as info:
        bad.result()
    err = info.value
    assert err.name == "RoundLogNotInRoster"
    assert err.args_["round"] == rid and err.args_["account"] == outsider.address
    assert err.account == outsider.address
    assert err.call == "RoundLog.commit"
    assert outsider.address in str(err) and "RoundLogNotInRoster" in str(err)


def test_a_revert_found_by_the_estimate_raises_before_sending(world: World) -> None:
    rid = world.rostered_round(world.participants[:-1])
    pipeline = TxPipeline(world.backend)
    outsider, entry = world.participants[-1], world.member(rid, world.participants[0])
    with pytest.raises(ContractRevert, match="RoundLogNotInRoster"):
        world.c.round_log.send_pipelined(  # no gas limit given: the estimate runs and reverts
            pipeline,
            "commit",
            rid,
            b"\x10" * 32,
            b"\x20" * 32,
            7,
            entry.index,
            entry.bundle_hash,
            list(entry.proof),
            sender=outsider,
        )
    assert pipeline.in_flight == 0


def test_window_must_be_positive(world: World) -> None:
    with pytest.raises(ConfigError, match="window"):
        TxPipeline(world.backend, window=0)


@pytest.mark.anvil
def test_recover_refinds_mined_resends_lost_and_reports_superseded(
    fresh_anvil, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    chain = RpcChain(fresh_anvil("--no-mining"))
    alice, bob = chain.funded_accounts()[:2]
    dest = derive_accounts(b"pipeline-recover", 4)
    journal = tmp_path / "tx.journal"
    crashed = TxPipeline(chain, journal=journal)
    mined = crashed.submit(alice, to=dest[0].address, data=b"", value=5, gas=21_000)
    chain.mine()
    lost = crashed.submit(alice, to=dest[1].address, data=b"", value=6, gas=21_000)
    replaced = crashed.submit(bob, to=dest[2].address, data=b"", value=7, gas=21_000)
    # The node restarts with an empty pool; bob's nonce goes to another transaction meanwhile.
    chain._rpc("anvil_dropAllTransactions", [])
    chain.forget_nonce(bob.address)
    other = TxPipeline(chain)
    other.submit(bob, to=dest[3].address, data=b"", value=8, gas=21_000)
    chain.mine()
    other.flush()
    del crashed  # the process died before collecting any receipt

    restarted = TxPipeline(chain, journal=journal)
    found, pendings = recover(restarted)
    assert found.mined == (mined.tx.tx_hash,)
    assert found.resent == (lost.tx.tx_hash,)
    assert found.superseded == (replaced.tx.tx_hash,)
    chain.mine()
    restarted.flush()
    assert [p.result().tx_hash for p in pendings] == [mined.tx.tx_hash, lost.tx.tx_hash]
    assert [chain.w3.eth.get_balance(a.address) for a in dest] == [5, 6, 0, 8]
    assert journal.read_text() == ""


def test_head_room_never_lifts_a_fitting_transaction_over_the_block_gas_limit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = int(world.backend.w3.eth.get_block("latest")["gasLimit"])
    estimate = limit - 1_000_000  # fits a block, but not with a quarter on top
    monkeypatch.setattr(world.backend.w3.eth, "estimate_gas", lambda call: estimate)
    tx = sign_transaction(
        world.backend, world.deployer, to=world.deployer.address, data=b"", contract="x"
    )
    world.backend.forget_nonce(world.deployer.address)
    assert tx.gas == limit
