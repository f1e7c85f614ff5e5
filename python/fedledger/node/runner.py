"""`fedledger node run`: pre-flight checks, then drive a Participant through rounds over HTTP."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from fedledger.chain import derive_accounts
from fedledger.chain.backend import ChainBackend, RpcChain
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.chain.keystore import load_account
from fedledger.errors import ConfigError, FedledgerError
from fedledger.fl.partition import ParticipantData
from fedledger.fl.task import Task, TaskContext
from fedledger.fl.task_bridge import TaskRunner
from fedledger.fl.task_loader import builtin_task_string, load_task
from fedledger.fl.train import TrainConfig
from fedledger.node.http_client import CoordinatorClient, CoordinatorUnavailable
from fedledger.node.http_port import HttpCoordinatorPort, coordinator_blob_store
from fedledger.node.participant import Participant
from fedledger.node.settings import DROP_STAGES, NodeSettings
from fedledger.protocol.model import ModelSpec
from fedledger.protocol.status import RoundStatus
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.store.http import HttpBlobStore

__all__ = [
    "NodeResult",
    "check_coordinator",
    "load_key",
    "preflight",
    "read_key_file",
    "run_node",
]

# --drop-at STAGE means: go silent instead of sending that stage's message.
_DROP_POINT = {
    "advertise_keys": "before_keys",
    "share_keys": "after_keys",
    "masked_input": "after_shares",
    "unmask": "during_unmask",
    "after_commit": "after_commit",
}
_DROP_STAGE = {point: stage for stage, point in _DROP_POINT.items()}


@dataclass
class NodeResult:
    """What a node did: its address and per-round records."""

    address: str
    rounds: dict[str, Any] = field(default_factory=dict)
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON object (printed as the node's last line)."""
        return {"address": self.address, "requests": self.requests, "rounds": self.rounds}


def load_key(settings: NodeSettings) -> LocalAccount:
    """The participant account from --key-file or --key-index (exactly one)."""
    if (settings.key_file is None) == (settings.key_index is None):
        raise ConfigError("give exactly one of --key-file or --key-index")
    if settings.key_index is not None:
        # The public devnet keys (sim.devnet_setup.devnet_participants derives the same).
        return derive_accounts(settings.key_seed.encode(), settings.key_index + 1)[-1]
    return read_key_file(Path(settings.key_file or ""), password_file=settings.password_file)


def read_key_file(path: Path, *, password_file: Path | None = None) -> LocalAccount:
    """An account from a keystore v3 file or a devnet 0x-hex key; ConfigError naming the file."""
    return load_account(path, password_file=password_file)


def check_coordinator(
    client: CoordinatorClient, deployment: Deployment, where: Path
) -> dict[str, Any]:
    """GET /v1/info and insist it serves our deployment (chain id, RoundLog, every contract)."""
    try:
        info = client.get_json("/v1/info", retries=2)
    except CoordinatorUnavailable as exc:
        raise CoordinatorUnavailable(
            str(exc).replace("unreachable", "unreachable at start-up")
        ) from None
    if not isinstance(info, dict) or info.get("service") != "fedledger-coordinator":
        raise ConfigError(
            f"{client.base_url} is not a fedledger coordinator (/v1/info is not ours)"
        )
    mine = deployment.to_json()
    theirs = info.get("deployment")
    contracts = theirs.get("contracts") if isinstance(theirs, dict) else None
    if info.get("chainId") != deployment.chain_id or contracts != mine["contracts"]:
        raise ConfigError(
            f"wrong coordinator: {client.base_url} serves RoundLog {info.get('roundLog')} on chain "
            f"{info.get('chainId')}, but {where} has RoundLog "
            f"{deployment.addresses.get('RoundLog')} on chain {deployment.chain_id}"
        )
    return info


@dataclass
class Prepared:
    """Everything pre-flight established."""

    account: LocalAccount
    runner: TaskRunner
    index: int
    deployment: Deployment
    backend: ChainBackend
    contracts: Contracts
    client: CoordinatorClient
    info: dict[str, Any]


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def _task_runner(
    settings: NodeSettings, spec: ModelSpec, task: Task | None, client: CoordinatorClient, info: Any
) -> tuple[TaskRunner, int]:
    """Load the task and this node's data; refuse a model layout other than the published one."""
    name = settings.task or spec.task or builtin_task_string(spec.model, spec.dataset)
    task = task if task is not None else load_task(name)
    ctx = TaskContext(
        participant=settings.participant_index or 0,
        n_participants=settings.participants or 1,
        seed=settings.seed,
        data=settings.partition,
    )
    data = task.load_data(ctx)
    if isinstance(data, ParticipantData):  # a partition file knows whose it is
        ctx = dataclasses.replace(
            ctx,
            participant=_given(settings.participant_index, data.participant),
            n_participants=_given(settings.participants, data.n_parties),
        )
    extra = {"epochs": settings.epochs, "lr": settings.lr, "batch_size": settings.batch_size}
    runner = TaskRunner(task, name=name, ctx=ctx, data=data, extra_config=extra)
    genesis_hash = str(info.get("genesisModelHash", "")).removeprefix("0x")
    # HttpBlobStore re-hashes what it gets: a coordinator serving another model is caught.
    store = HttpBlobStore(
        client.base_url, client=client.http, retries=client.retries, backoff=client.backoff
    )
    genesis = store.get(genesis_hash)
    runner.check(genesis)
    return runner, int(ctx.participant or 0)


def preflight(settings: NodeSettings) -> Prepared:
    """Task, key, deployment, RPC, coordinator identity, registration, task data and model
    layout: first failure wins."""
    task = load_task(settings.task) if settings.task else None
    account = load_key(settings)
    deployment = Deployment.load(settings.deployment)
    backend = RpcChain(settings.rpc)  # ChainError naming the URL when nothing answers
    contracts = deployment.attach(backend)
    client = CoordinatorClient(
        settings.coordinator, timeout=settings.http_timeout, retries=settings.retries
    )
    try:
        info = check_coordinator(client, deployment, settings.deployment)
        if not contracts.registry.is_registered(account.address):
            raise ConfigError(
                f"account {account.address} is not registered in ParticipantRegistry "
                f"{contracts.registry.address} (ask the registrar)"
            )
        spec = ModelSpec.from_json(info.get("model"))
        runner, index = _task_runner(settings, spec, task, client, info)
    except BaseException:
        client.close()
        raise
    return Prepared(account, runner, index, deployment, backend, contracts, client, info)


def run_node(settings: NodeSettings, *, log: Any = None) -> NodeResult:
    """Take part in `settings.rounds` rounds (counted from the first round seen), then return."""
    if settings.drop_at is not None and settings.drop_at not in DROP_STAGES:
        raise ConfigError(f"--drop-at: {settings.drop_at!r} is not one of {', '.join(DROP_STAGES)}")
    p = preflight(settings)
    say = log or (lambda _msg: None)
    dropout = {}
    if settings.drop_at is not None:
        dropout[settings.drop_round or 1] = _DROP_POINT[settings.drop_at]
    port = HttpCoordinatorPort(
        p.client, p.account, chain_id=p.deployment.chain_id, contract=p.contracts.round_log.address
    )
    participant = Participant(
        account=p.account,
        index=p.index,
        model_spec=ModelSpec.from_json(p.info["model"]),
        train_config=TrainConfig(
            epochs=settings.epochs, lr=settings.lr, batch_size=settings.batch_size
        ),
        seed=settings.seed,
        chain=p.backend,
        contracts=p.contracts,
        store=coordinator_blob_store(port),
        dropout=dropout,
        runner=p.runner,
        verify=settings.verify,
        deployment=p.deployment,
    )
    participant.receipts_dir = settings.receipts
    say(f"node {p.account.address}: ready (task {p.runner.name}, --verify {settings.verify})")
    finished: set[int] = set()
    told: set[int] = set()
    watch = DeadlineWatch(p.backend, p.contracts, margin=settings.deadline_margin)
    try:
        while len(finished) < settings.rounds:
            acted = participant.step(port)
            _tell_refusal(participant, told, say)
            if acted:
                continue
            st = port.last
            if st is None:
                continue
            # A round is over once it is done or the coordinator has moved past it (a
            # round can open right after the last one closed, between two looks).
            over = {r for r in participant.rounds if r < st.round_id or st.done} - finished
            for r in sorted(over):
                finished.add(r)
                say(f"node {p.account.address}: round {r} over")
            if len(finished) >= settings.rounds:
                break
            watch.check(st)
            if _due(participant, st):
                time.sleep(settings.poll_interval)  # refused as too early: look again soon
                continue
            t0 = time.monotonic()
            seen = port.wait_change(st, timeout=min(settings.long_poll, settings.http_timeout / 2))
            if seen.change_key == st.change_key and time.monotonic() - t0 < settings.poll_interval:
                time.sleep(settings.poll_interval)  # the coordinator does not hold long-polls
    finally:
        p.client.close()
    rounds = json.loads(json.dumps(participant.summary(), default=str))
    for rec in rounds.values():
        # Report the drop as the user asked for it (--drop-at STAGE), not the internal point.
        rec["dropped_at"] = _DROP_STAGE.get(rec.get("dropped_at", ""), rec.get("dropped_at", ""))
    return NodeResult(address=p.account.address, rounds=rounds, requests=port.requests)


COHORT_NOTES = ("not sampled", "refused the roster of round", "the aggregator left our receipted")
"""How Participant words a round it sits out because of the cohort sample (said once a round)."""


def _tell_refusal(participant: Participant, told: set[int], say: Any) -> None:
    """Log, once per round, that the node refused the round's model and sits it out, or that
    the chain's sample left it out (it waits) or the roster is not that sample."""
    rec = participant.current
    if rec is None or rec.round_id in told:
        return
    if rec.model_check.startswith("refused"):
        told.add(rec.round_id)
        say(f"node {participant.address}: round {rec.round_id}: sits out, {rec.model_check}")
    elif rec.left_out.startswith(COHORT_NOTES):  # the chain's sample (protocol 2.3)
        told.add(rec.round_id)
        say(f"node {participant.address}: round {rec.round_id}: {rec.left_out}")


def _due(participant: Participant, st: RoundStatus) -> bool:
    """Whether the current stage wants a message from us that we have not sent (the last try
    was refused as too early, e.g. the chain had not caught up): then poll, not long-poll."""
    rec = participant.current
    if rec is None or rec.round_id != st.round_id or rec.dropped_at or rec.left_out:
        return False
    needs = {
        ADVERTISE_KEYS: "",
        SHARE_KEYS: ADVERTISE_KEYS,
        MASKED_INPUT: SHARE_KEYS,
        UNMASK: MASKED_INPUT,
    }
    if st.stage not in needs or st.stage in rec.done:
        return False
    if st.stage == SHARE_KEYS and not st.roster_posted:
        return False
    before = needs[st.stage]
    return not before or before in rec.done


class DeadlineWatch:
    """Ends a node's wait for a round only once the chain says the round cannot go on.

    The limit is the round's on-chain unmask deadline (its expiry while no roster is
    posted) plus `margin` seconds of chain time: never a fixed wall-clock number.
    """

    def __init__(self, chain: ChainBackend, contracts: Contracts, *, margin: float) -> None:
        self.chain = chain
        self.contracts = contracts
        self.margin = margin
        self._next_look = 0.0

    def check(self, st: RoundStatus) -> None:
        """FedledgerError when round `st` is still open past its last on-chain deadline."""
        if st.round_id == 0 or st.done or time.monotonic() < self._next_look:
            return
        self._next_look = time.monotonic() + 5.0  # one chain read per 5 s is plenty
        info = self.contracts.round_log.get_round(st.round_id)
        now = self.chain.timestamp()
        if now > info.unmask_deadline + self.margin:
            raise FedledgerError(
                f"round {st.round_id} is still in stage {st.stage} at the coordinator, "
                f"{now - info.unmask_deadline} s after its on-chain unmask deadline "
                f"({info.unmask_deadline}); is the coordinator stuck?"
            )
