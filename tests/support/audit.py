"""Drive real rounds for the audit tests on a real chain and blob store, honest or tampered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from eth_account.signers.local import LocalAccount

from fedledger.chain import (
    DEFAULT_ROUND_CONFIG,
    ChainBackend,
    Contracts,
    Deployment,
    EmbeddedChain,
    RoundConfig,
    Stage,
    VoteType,
    deploy_all,
    derive_accounts,
    fund,
)
from fedledger.chain.merkle import MemberProof
from fedledger.chain.round_log import RoundLogClient
from fedledger.encoding import sha256
from fedledger.fl.serialization import apply_aggregate, model_to_bytes
from fedledger.secagg import SecAggClient, SecAggServer, quantize
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.encoding import encode_input
from fedledger.secagg.messages import Roster
from fedledger.secagg.params import RoundContext
from fedledger.store import FilesystemBlobStore
from fedledger.store.base import BlobStore

D = 6  # model parameters

AUDIT_CONFIG = DEFAULT_ROUND_CONFIG.replace(neighbours=4, threshold=2, slash_bps=0)


@dataclass
class AuditWorld:
    """A deployment with registered participants and the blobs of every model so far."""

    backend: ChainBackend
    deployment: Deployment
    c: Contracts
    deployer: LocalAccount
    aggregator: LocalAccount
    participants: list[LocalAccount]
    models: dict[bytes, bytes] = field(default_factory=dict)
    """model hash -> model bytes (every model any round started from or produced)."""


def build_world(n: int = 5, backend: ChainBackend | None = None) -> AuditWorld:
    """Deploy (on a fresh eth-tester chain by default) and register `n` funded participants."""
    backend = backend or EmbeddedChain()
    funded = backend.funded_accounts()
    deployer, aggregator = funded[0], funded[1]
    deployment = deploy_all(
        backend, deployer=deployer, aggregator=aggregator.address, params=AUDIT_CONFIG
    )
    contracts = deployment.attach(backend)
    people = sorted(derive_accounts(b"fedledger-audit-tests", n), key=lambda a: int(a.address, 16))
    fund(backend, deployer, [p.address for p in people], 10**18)
    for p in people:
        contracts.registry.register(p.address, sender=deployer)
    genesis = model_to_bytes(
        {"bias": np.zeros(2, np.float32), "weight": np.zeros(D - 2, np.float32)}
    )
    return AuditWorld(
        backend, deployment, contracts, deployer, aggregator, people, {sha256(genesis): genesis}
    )


@dataclass
class Publication:
    """What the aggregator publishes at finalize; a tamper hook may change any of it."""

    aggregate_blob: bytes
    reveal_blob: bytes
    new_model: bytes
    survivors: list[str]


@dataclass
class RoundRun:
    """A finished round: its id, what was published, and the honest values for comparison."""

    round_id: int
    store: FilesystemBlobStore
    publication: Publication
    honest: Publication
    survivors: list[str]
    dropped: list[str]
    commitments: dict[str, Commitment]
    finalize_gas: int


def run_round(
    world: AuditWorld,
    store: FilesystemBlobStore,
    *,
    drop_before_commit: tuple[int, ...] = (),
    hide_from_aggregate: tuple[int, ...] = (),
    tamper: Callable[[Publication], Publication] | None = None,
    seed: int = 0,
) -> RoundRun:
    """One full round on chain: open, roster, shares, commits, unmask, finalize.

    `drop_before_commit` participants share keys but never commit. `hide_from_aggregate`
    participants commit and upload their blob, but the aggregator acts as if it never got it
    (so it asks for their mask keys and leaves them out of the survivors). `tamper` edits the
    publication before it is uploaded and finalized on chain.
    """
    log = world.c.round_log
    latest = log.latest_model_hash()
    old_model = world.models[latest] if latest != bytes(32) else next(iter(world.models.values()))
    store.put(old_model)
    rid = int(
        log.open_round(sha256(old_model), sender=world.aggregator)
        .named("RoundOpened")[0]
        .args["round"]
    )
    info = log.get_round(rid)
    cfg = info.config
    params = cfg.secagg_params()  # in a dpMode 2 round it carries the distributed-DP encoding
    ctx = RoundContext(world.backend.chain_id, log.address, rid)
    length = D + 1
    server = SecAggServer(
        ctx, params, seed=info.seed, vector_length=length, min_survivors=cfg.min_participants
    )
    clients = [SecAggClient(ctx, params, p, vector_length=length) for p in world.participants]
    for c in clients:
        server.add_bundle(c.advertise_keys())
    roster = server.close_advertise_keys()
    store.put(roster.to_bytes())
    tree = roster.tree()
    log.post_roster(rid, roster.hash(), tree.root, tree.count, sender=world.aggregator)
    for c in clients:
        server.add_shares(c.share_keys(roster, info.seed))
    inbox = server.close_share_keys()

    rng = np.random.default_rng(seed)
    commitments: dict[str, Commitment] = {}
    for i, (c, p) in enumerate(zip(clients, world.participants, strict=True)):
        if i in drop_before_commit:
            continue
        delta = rng.normal(0.0, 0.05, D)
        if params.ddp is None:
            x = quantize(delta, 100 + 10 * i, params, rng=rng)
        else:
            x = encode_input(delta, 100 + 10 * i, params, ctx=ctx, participants=len(roster))
        msg = c.masked_input(x, inbox[c.address])
        store.put(msg.vector)
        log.commit(
            rid, msg.masked_hash, msg.seed_commitment, weight=int(x[0]),
            member=tree.member(rid, p.address), sender=p,
        )  # fmt: skip
        commitments[c.address] = Commitment(msg.masked_hash, msg.seed_commitment, int(x[0]))
        if i not in hide_from_aggregate:
            server.add_masked_input(
                c.address, msg.vector, commitments[c.address], dropouts=msg.dropouts
            )
    request = server.close_masked_input()
    by_address = {c.address: c for c in clients}
    for a in request.survivors:
        server.add_unmask(by_address[a].unmask(request))
    result = server.close_unmask()

    new_model = apply_aggregate(old_model, result.decoded)
    honest = Publication(
        result.aggregate_blob, result.reveal_blob, new_model, list(result.survivors)
    )
    pub = tamper(replace(honest, survivors=list(honest.survivors))) if tamper else honest
    for blob in (pub.aggregate_blob, pub.reveal_blob, pub.new_model):
        store.put(blob)
    if len(commitments) < len(clients):
        # finalize waits for every member until the commit deadline has passed.
        world.backend.advance_time(cfg.commit_window + 1)
    tx = log.finalize(
        rid,
        aggregate_hash=sha256(pub.aggregate_blob),
        reveal_hash=sha256(pub.reveal_blob),
        new_model_hash=sha256(pub.new_model),
        # Survivors on chain are the committers minus the excluded.
        excluded=[(a, tree.member(rid, a)) for a in commitments if a not in pub.survivors],
        sender=world.aggregator,
    )
    world.models[sha256(pub.new_model)] = pub.new_model
    return RoundRun(
        rid,
        store,
        pub,
        honest,
        list(result.survivors),
        list(result.dropped),
        commitments,
        tx.gas_used,
    )


def roster_member(log: RoundLogClient, store: BlobStore, rid: int, address: str) -> MemberProof:
    """`address`'s roster entry in round `rid`, from the roster blob the chain names."""
    blob = store.get(log.get_round(rid).roster_hash.hex())
    return Roster.from_bytes(blob).tree().member(rid, address)


def govern(
    world: AuditWorld,
    voter: LocalAccount,
    new_config: RoundConfig,
    description: str,
    store: BlobStore,
) -> int:
    """Claim rewards (proofs from the rosters in `store`), delegate, propose a parameter change,
    vote for it, queue and execute it."""
    c, backend = world.c, world.backend
    claims = []
    for rid in range(1, c.round_log.current_round() + 1):
        info = c.round_log.get_round(rid)
        if info.stage == Stage.FINALIZED:
            m = roster_member(c.round_log, store, rid, voter.address)
            if c.round_log.claimable(rid, voter.address, m.index):
                claims.append(m)
    if claims:
        c.round_log.claim(claims, sender=voter)
    c.token.delegate(voter.address, sender=voter)
    backend.mine(1)
    target, data = c.params.address, c.params.set_config_calldata(new_config)
    c.governor.propose([target], [0], [data], description, sender=voter)
    pid = c.governor.proposal_id([target], [0], [data], description)
    backend.mine(c.governor.voting_delay() + 1)
    c.governor.cast_vote(pid, VoteType.FOR, sender=voter)
    backend.mine(c.governor.voting_period() + 1)
    c.governor.queue([target], [0], [data], description, sender=voter)
    backend.advance_time(c.timelock.min_delay() + 1)
    c.governor.execute([target], [0], [data], description, sender=voter)
    return pid


def publish_report(store: FilesystemBlobStore, round_id: int, accuracy: float) -> str:
    """A coordinator-style per-round report blob (the auditor plots it, labelled as reported)."""
    from fedledger.encoding import canonical_json

    return store.put(
        canonical_json({"round": round_id, "accuracy": accuracy, "loss": 1.0 - accuracy})
    )


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1:`port` in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
