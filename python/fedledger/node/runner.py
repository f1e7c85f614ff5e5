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
    theirs = info.get("deployment") or {}
    if info.get("chainId") != deployment.chain_id or theirs.get("contracts") != mine["contracts"]:
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
    )
    participant.receipts_dir = settings.receipts
    say(f"node {p.account.address}: ready (task {p.runner.name})")
    finished: set[int] = set()
    round_started = time.monotonic()
    current = -1
    try:
        while len(finished) < settings.rounds:
            sent = participant.step(port)
            st = port.status() if not sent else None
            if st is not None and st.round_id != current:
                current, round_started = st.round_id, time.monotonic()
            if st is not None:
                # A round is over once it is done or the coordinator has moved past it (a
                # round can open right after the last one closed, between two polls).
                over = {r for r in participant.rounds if r < st.round_id or st.done} - finished
                for r in sorted(over):
                    finished.add(r)
                    say(f"node {p.account.address}: round {r} over")
            if time.monotonic() - round_started > settings.round_timeout:
                raise FedledgerError(
                    f"round {current} did not finish within {settings.round_timeout:.0f} s "
                    f"(stage {st.stage if st else '?'})"
                )
            if not sent:
                time.sleep(settings.poll_interval)
    finally:
        p.client.close()
    return NodeResult(
        address=p.account.address,
        rounds=json.loads(json.dumps(participant.summary(), default=str)),
        requests=port.requests,
    )
