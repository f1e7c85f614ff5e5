"""In-process simulation: N participants and one RoundCoordinator on a real chain, no HTTP.

The same protocol code as the service and the node processes runs here; only the
transport (direct method calls) and the clock (simulated, jumped forward when everybody
is idle) differ. Chain time is moved forward with the backend's test-chain controls when
the round waits for an on-chain deadline.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fedledger.audit.transcript import build_transcript
from fedledger.chain.accounts import derive_accounts
from fedledger.chain.backend import ChainBackend, EmbeddedChain
from fedledger.chain.datatypes import DEFAULT_ROUND_CONFIG, RoundConfig
from fedledger.chain.deploy import ZERO_ADDRESS, Contracts, Deployment, deploy_all
from fedledger.chain.event_cache import EventCache
from fedledger.chain.pipeline import DEFAULT_WINDOW, TxPipeline
from fedledger.chain.tx import fund
from fedledger.coordinator.round import RoundCoordinator
from fedledger.coordinator.spec import StageDurations
from fedledger.errors import ConfigError
from fedledger.fl.builtin import BuiltinTask
from fedledger.fl.datasets import Dataset, load_dataset
from fedledger.fl.models import build_model, load_model_bytes
from fedledger.fl.partition import (
    Partition,
    dirichlet_partition,
    iid_partition,
    participant_data,
)
from fedledger.fl.task import TaskContext
from fedledger.fl.task_bridge import TaskRunner, initial_model, make_task_evaluator
from fedledger.fl.task_loader import builtin_task_string, load_task
from fedledger.fl.train import TrainConfig, evaluate
from fedledger.node.model_verify import check_mode
from fedledger.node.participant import DROP_POINTS, Participant
from fedledger.protocol.model import ModelSpec
from fedledger.protocol.status import RoundStatus
from fedledger.secagg.constants import FINALIZE, MASKED_INPUT
from fedledger.secagg.engine import Engine
from fedledger.store.base import BlobStore
from fedledger.store.filesystem import FilesystemBlobStore

__all__ = [
    "SimClock",
    "Simulation",
    "SimulationConfig",
    "SimulationRound",
    "make_evaluator",
    "run_simulation",
]

_PARTICIPANT_FUNDS = 10**18  # 1 ether: plenty for a few hundred commits at devnet gas prices
BLOB_CACHE_BYTES = 64 << 20
"""Verified blobs kept in memory per process (the in-process simulation, each Ray host):
its members read the same neighbours' masked vectors."""


class SimClock:
    """The coordinator's clock in a simulation: real time plus jumps made when everyone is idle."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance_to(self, when: float) -> None:
        """Jump forward so that now > `when`."""
        gap = when - self() + 0.001
        if gap > 0:
            self.offset += gap


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate (defaults are the `fedledger demo` defaults)."""

    participants: int = 10
    rounds: int = 5
    dataset: str = "digits"
    model: str = "mlp"
    partition: str = "dirichlet"
    alpha: float = 0.5
    min_size: int = 10
    seed: int = 0
    train: TrainConfig = field(default_factory=TrainConfig)
    round_config: RoundConfig = DEFAULT_ROUND_CONFIG
    dropouts: Mapping[int, Mapping[int, str]] = field(default_factory=dict)
    """round id -> participant index -> drop point (see node.participant.DROP_POINTS)."""
    durations: StageDurations = field(
        default_factory=lambda: StageDurations(advertise_keys=60, share_keys=60, unmask=60)
    )
    verify: bool = True
    node_verify: str = "off"
    """Each participant's `--verify` mode (full|own|off: node.model_verify). Off by default
    here: the simulation audits every finalized round itself (`verify`), and n nodes each
    verifying every round cost n audits per round; `fedledger demo` runs with full."""
    fsync: bool = False
    stake: int = 0
    """Token units each participant stakes at enrolment (minted to the deployer as a genesis
    allocation and handed out); needed when `round_config.min_stake > 0`."""
    slash_recipient: str = ZERO_ADDRESS
    """Where slashed stake goes (zero address: burned)."""
    tx_window: int = DEFAULT_WINDOW
    """Participants' commits (and enrolment transactions) in flight at once before the
    simulation waits for receipts (chain.pipeline); 0: each waits for its own receipt."""
    task: str | None = None
    """Task import string `package.module:attribute` (fl.task_loader); None: the built-in
    `model` trained on `dataset` with `train`."""

    def __post_init__(self) -> None:
        if self.participants < 2:
            raise ConfigError(f"simulation: participants must be >= 2, got {self.participants}")
        if self.rounds < 1:
            raise ConfigError(f"simulation: rounds must be >= 1, got {self.rounds}")
        if self.tx_window < 0:
            raise ConfigError(f"simulation: tx_window must be >= 0, got {self.tx_window}")
        if self.stake < 0:
            raise ConfigError(f"simulation: stake must be >= 0, got {self.stake}")
        if self.stake < self.round_config.min_stake:
            raise ConfigError(
                f"simulation: stake {self.stake} is below the round config's minStake "
                f"{self.round_config.min_stake}; participants could not be rostered"
            )
        check_mode(self.node_verify)
        if self.partition not in ("dirichlet", "iid"):
            raise ConfigError(
                f"simulation: partition must be 'dirichlet' or 'iid', got {self.partition!r}"
            )
        for r, drops in self.dropouts.items():
            for i, point in drops.items():
                if not 0 <= i < self.participants:
                    raise ConfigError(
                        f"simulation: dropout of round {r} names participant {i}, out of range"
                    )
                if point not in DROP_POINTS:
                    raise ConfigError(
                        f"simulation: dropout point {point!r} is not one of "
                        f"{', '.join(DROP_POINTS)}"
                    )


@dataclass
class SimulationRound:
    """One simulated round's outcome."""

    round_id: int
    outcome: str
    reason: str
    accuracy: float | None
    loss: float | None
    survivors: int
    dropped: dict[str, str]
    """participant address -> the stage it went silent in."""
    gas: dict[str, Any]
    timings: dict[str, float]
    verified: bool | None
    failed_checks: list[str]
    model_hash: str
    new_model_hash: str
    slashes: list[dict[str, Any]] = field(default_factory=list)
    """Each slash the aggregator settled: {account, reason, status, amount, hash, error}."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON object."""
        return dataclasses.asdict(self)


def make_evaluator(
    dataset: Dataset, spec: ModelSpec, *, seed: int = 0
) -> Callable[[bytes], tuple[float, float]]:
    """evaluate(model_bytes) -> (accuracy, loss) on the dataset's held-out test split."""
    module = build_model(
        spec.model, n_features=spec.n_features, n_classes=spec.n_classes, seed=seed
    )

    def run(model: bytes) -> tuple[float, float]:
        load_model_bytes(module, model)
        return evaluate(module, dataset.test.X, dataset.test.y, num_threads=1)

    return run


def _partition(cfg: SimulationConfig, ds: Dataset) -> Partition:
    if cfg.partition == "dirichlet":
        return dirichlet_partition(
            ds.train.y, cfg.participants, alpha=cfg.alpha, seed=cfg.seed, min_size=cfg.min_size
        )
    return iid_partition(len(ds.train), cfg.participants, seed=cfg.seed, min_size=cfg.min_size)


def _model_spec(cfg: SimulationConfig, task_name: str, data: Any) -> ModelSpec:
    """The published spec: built-in model/dataset names and shape, or the task string."""
    if cfg.task is None:
        X = data.X
        n_classes = int(getattr(data, "n_classes", 0))
        return ModelSpec(cfg.model, cfg.dataset, int(X.shape[1]), n_classes, task=task_name)
    return ModelSpec(task_name, "", 0, 0, task=task_name)


class Simulation:
    """Deployment, accounts, data and participants; then `run_round()` as often as wanted."""

    def __init__(
        self,
        config: SimulationConfig,
        *,
        chain: ChainBackend | None = None,
        deployment: Deployment | None = None,
        state_dir: str | Path | None = None,
        store: BlobStore | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        dataset: Dataset | None = None,
        partition: Partition | None = None,
        engine: Engine | None = None,
    ) -> None:
        """Deploys on `chain` (default: a fresh embedded chain) unless `deployment` is given.

        `engine` runs the coordinator's mask regeneration (default: inline; secagg.engine).

        `dataset` and `partition` override the ones the config describes (benchmarks pass
        the very objects their plain-FedAvg baseline used).
        """
        self.config = cfg = config
        self.regen_engine = engine
        self.on_event = on_event or (lambda kind, data: None)
        torch.set_num_threads(1)
        self._tmp = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fedledger-sim-")
            state_dir = self._tmp.name
        self.state_dir = Path(state_dir)
        self.chain = chain if chain is not None else EmbeddedChain()
        # n participants read the same facts at the same block: one eth_call per block.
        self.chain.enable_view_cache()
        funded = self.chain.funded_accounts()
        self.deployer, self.aggregator = funded[0], funded[1]
        self._event("setup", {"step": "deploy"})
        self.deployment = deployment if deployment is not None else self._deploy()
        self.contracts: Contracts = self.deployment.attach(self.chain)
        self.store = (
            store
            if store is not None
            else FilesystemBlobStore(
                self.state_dir / "blobs", fsync=cfg.fsync, cache_bytes=BLOB_CACHE_BYTES
            )
        )
        self.dataset, self.partition = dataset, partition
        shards, test_data = self._load_task(dataset, partition)
        self.genesis = initial_model(self.task, self.task_context, name=self.task_name)
        self.spec = _model_spec(cfg, self.task_name, shards[0])
        self._event("setup", {"step": "accounts"})
        self.tx_pipeline = (
            TxPipeline(self.chain, window=cfg.tx_window, estimate_once=True)
            if cfg.tx_window
            else None
        )
        label = f"sim-{cfg.seed}-{self.deployment.addresses['RoundLog']}".encode()
        self.accounts = derive_accounts(label, cfg.participants)
        self._enrol()
        self.clock = SimClock()
        self.evaluator = make_task_evaluator(self.task, test_data, name=self.task_name)
        self.coordinator = self._new_coordinator()
        self.participants = self._new_participants(shards)
        self.results: list[SimulationRound] = []

    def _deploy(self) -> Deployment:
        cfg = self.config
        return deploy_all(
            self.chain,
            deployer=self.deployer,
            aggregator=self.aggregator.address,
            params=cfg.round_config,
            slash_recipient=cfg.slash_recipient,
            genesis=({self.deployer.address: cfg.stake * cfg.participants} if cfg.stake else None),
        )

    def _load_task(
        self, dataset: Dataset | None, partition: Partition | None
    ) -> tuple[list[Any], Any]:
        """Resolve the task; each participant's data and the coordinator's test data.

        Without `config.task` the task is the built-in `model` on `dataset` (with the
        config's training settings), its data split as the task itself would, or as the
        `dataset`/`partition` objects given (benchmarks compare against a plain run on the
        very same objects).
        """
        cfg = self.config
        self.task_context = TaskContext(
            n_participants=cfg.participants,
            seed=cfg.seed,
            partition=cfg.partition,
            alpha=cfg.alpha,
            min_size=cfg.min_size,
        )
        if cfg.task is not None:
            if dataset is not None or partition is not None:
                raise ConfigError("simulation: dataset/partition objects need a built-in task")
            self.task_name, self.task = cfg.task, load_task(cfg.task)
            shards = [
                self.task.load_data(dataclasses.replace(self.task_context, participant=i))
                for i in range(cfg.participants)
            ]
            return shards, self.task.load_test_data(self.task_context)
        self.task_name = builtin_task_string(cfg.model, cfg.dataset)
        self.task = BuiltinTask(cfg.model, cfg.dataset, train=cfg.train)
        ds = dataset if dataset is not None else load_dataset(cfg.dataset, seed=cfg.seed)
        part = partition if partition is not None else _partition(cfg, ds)
        if part.n_parties != cfg.participants:
            raise ConfigError(
                f"simulation: partition has {part.n_parties} parts "
                f"for {cfg.participants} participants"
            )
        self.dataset, self.partition = ds, part
        return [participant_data(ds, part, i) for i in range(cfg.participants)], ds.test

    def _new_participants(self, shards: list[Any]) -> list[Participant]:
        cfg = self.config
        participants = [
            Participant(
                account=acct,
                X=getattr(data, "X", None),
                y=getattr(data, "y", None),
                index=i,
                model_spec=self.spec,
                train_config=cfg.train,
                seed=cfg.seed,
                chain=self.chain,
                contracts=self.contracts,
                store=self.store,
                dropout={r: d[i] for r, d in cfg.dropouts.items() if i in d},
                runner=TaskRunner(
                    self.task,
                    name=self.task_name,
                    ctx=dataclasses.replace(self.task_context, participant=i),
                    data=data,
                ),
                verify=cfg.node_verify,
                deployment=self.deployment,
            )
            for i, (acct, data) in enumerate(zip(self.accounts, shards, strict=True))
        ]
        events = EventCache(self.chain, self.contracts.round_log.address)
        for p in participants:
            p.commit_pipeline = self.tx_pipeline
            p.event_cache = events  # every participant reads the same commits: fetch them once
        return participants

    def _new_coordinator(self) -> RoundCoordinator:
        cfg = self.config
        return RoundCoordinator(
            chain=self.chain,
            deployment=self.deployment,
            contracts=self.contracts,
            aggregator=self.aggregator,
            store=self.store,
            state_dir=self.state_dir / "coordinator",
            model_spec=self.spec,
            genesis_model=self.genesis,
            durations=cfg.durations,
            clock=self.clock,
            evaluate=self.evaluator,
            expected_participants=cfg.participants,
            fsync=cfg.fsync,
            engine=self.regen_engine,
        )

    def restart_coordinator(self) -> RoundCoordinator:
        """Drop the coordinator and build a new one from its state dir (a crash and restart)."""
        self.coordinator.close()
        self.coordinator = self._new_coordinator()
        return self.coordinator

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self.on_event(kind, data)

    def _enrol(self) -> None:
        """Fund, register and stake every participant account not already (reruns on a devnet)."""
        registry = self.contracts.registry
        todo = [a for a in self.accounts if not registry.is_approved(a.address)]
        poor = [
            a.address
            for a in self.accounts
            if self.chain.w3.eth.get_balance(a.address) < _PARTICIPANT_FUNDS // 10
        ]
        pipeline = self.tx_pipeline
        if pipeline is None:
            if poor:
                fund(self.chain, self.deployer, poor, _PARTICIPANT_FUNDS)
            for i, a in enumerate(todo):
                registry.register(a.address, sender=self.deployer)
                self._event("enrol", {"done": i + 1, "total": len(todo)})
        else:
            # One sender, consecutive nonces, receipts afterwards: a devnet mines them in bulk.
            sent = [
                pipeline.submit(self.deployer, to=a, data=b"", value=_PARTICIPANT_FUNDS, gas=21_000)
                for a in poor
            ]
            sent += [
                registry.send_pipelined(pipeline, "register", a.address, sender=self.deployer)
                for a in todo
            ]
            pipeline.flush()
            for tx in sent:
                tx.result()  # a revert raises PipelinedRevert naming the call
            self._event("enrol", {"done": len(todo), "total": len(todo)})
        if self.config.stake:
            self._stake()

    def _stake(self) -> None:
        """Bring every participant's stake up to `config.stake` with the deployer's tokens."""
        token, registry = self.contracts.token, self.contracts.registry
        for a in self.accounts:
            staked, unlock_at = registry.stake_of(a.address)
            missing = self.config.stake - staked
            if missing <= 0 or unlock_at:
                continue
            if token.balance_of(self.deployer.address) < missing:
                raise ConfigError(
                    f"simulation: the deployer holds too few tokens to stake {missing} units "
                    f"for {a.address}"
                )
            token.transfer(a.address, missing, sender=self.deployer)
            token.approve(registry.address, missing, sender=a)
            registry.stake(missing, sender=a)

    def _advance_time(self, status: RoundStatus) -> bool:
        """Everyone is idle: jump the clock (or chain time) past the deadline the round awaits."""
        if status.stage_deadline is not None:
            self.clock.advance_to(status.stage_deadline)
            return True
        if status.stage == MASKED_INPUT or (
            status.stage == FINALIZE and status.waiting_for == "commit_deadline"
        ):
            self.chain.advance_time(max(1, status.commit_deadline - self.chain.timestamp() + 1))
            return True
        return False

    def run_round(self, *, restart_every_step: bool = False) -> SimulationRound:
        """Open, drive and close one round; verify it from chain + store when it finalized.

        With `restart_every_step`, the coordinator is rebuilt from its state dir after every
        pass of the participants and after every tick (crash-recovery testing).
        """
        coord = self.coordinator
        before = dict(coord.timings)
        t_start = time.perf_counter()
        round_id = self._drive(restart_every_step)
        coord = self.coordinator
        wall = time.perf_counter() - t_start
        report = coord.report(round_id)
        assert report is not None
        verified, failed, t_verify = self._verify(round_id, report.outcome)
        timings = {
            k: max(0.0, coord.timings.get(k, 0.0) - before.get(k, 0.0))
            for k in ("chain", "store", "secagg")
        }
        timings = {f"coordinator_{k}": round(v, 4) for k, v in timings.items()}
        parts = {"training": 0.0, "secagg": 0.0, "chain": 0.0, "store": 0.0, "verify": 0.0}
        commit_gas: list[int] = []
        dropped = dict(report.dropped)
        for p in self.participants:
            rec = p.rounds.get(round_id)
            if rec is None:
                continue
            for k in parts:
                parts[k] += rec.timings[k]
            if rec.commit_gas is not None:
                commit_gas.append(rec.commit_gas)
            if rec.dropped_at == "before_keys":
                dropped[p.address] = "advertise_keys"
        timings.update({f"participants_{k}": round(v, 4) for k, v in parts.items()})
        timings["verify"] = round(t_verify, 4)
        timings["wall"] = round(wall, 4)
        gas: dict[str, Any] = dict(report.gas)
        gas["commit_total"] = sum(commit_gas)
        gas["commit_each"] = round(sum(commit_gas) / len(commit_gas)) if commit_gas else None
        gas["total"] = sum(v for v in report.gas.values() if v) + sum(commit_gas)
        out = SimulationRound(
            round_id=round_id,
            outcome=report.outcome,
            reason=str(report.doc.get("reason", "")),
            accuracy=report.accuracy,
            loss=report.doc.get("loss"),
            survivors=len(report.survivors),
            dropped=dropped,
            gas=gas,
            timings=timings,
            verified=verified,
            failed_checks=failed,
            model_hash=str(report.doc["modelHash"]),
            new_model_hash=str(report.doc.get("newModelHash") or ""),
            slashes=report.slashes,
        )
        self.results.append(out)
        self._event("done", out.to_json())
        return out

    def _drive(self, restart_every_step: bool) -> int:
        """Open a round and step participants and coordinator until it is over; its id."""
        coord = self.coordinator
        status = coord.open_round()
        round_id = status.round_id
        self._event("round", {"round": round_id, "stage": status.stage})
        for _ in range(10_000):
            acted = self._step_participants(coord)
            if restart_every_step:
                coord = self.restart_coordinator()
            new = coord.tick()
            if restart_every_step:
                coord = self.restart_coordinator()
            moved = (new.stage, new.counts) != (status.stage, status.counts)
            if new.stage != status.stage:
                self._event("round", {"round": round_id, "stage": new.stage})
            status = new
            if status.done:
                break
            if not acted and not moved and not self._advance_time(status):
                raise ConfigError(f"round {round_id} is stuck in stage {status.stage}")
        else:
            raise ConfigError(f"round {round_id} did not finish")
        coord.tick()  # publish the report
        return round_id

    def _step_participants(self, coord: RoundCoordinator) -> bool:
        """One pass: every participant takes the steps it can; whether any acted."""
        acted = False
        for p in self.participants:
            acted = p.step(coord) or acted
        if self.tx_pipeline is not None:
            self.tx_pipeline.flush()  # the pass's commits, mined before anyone reports them
        return acted

    def _verify(self, round_id: int, outcome: str) -> tuple[bool | None, list[str], float]:
        """Verify a finalized round from chain + store: (ok, failed checks, seconds)."""
        if outcome != "finalized" or not self.config.verify:
            return None, [], 0.0
        from fedledger.secagg.verify import verify_round

        t0 = time.perf_counter()
        result = verify_round(build_transcript(self.chain, self.contracts, self.store, round_id))
        return result.ok, result.failed, time.perf_counter() - t0

    def run(self) -> list[SimulationRound]:
        """All configured rounds."""
        for _ in range(self.config.rounds):
            self.run_round()
        return self.results

    def close(self) -> None:
        """Release files (and the temporary state dir, if one was made)."""
        self.coordinator.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def run_simulation(config: SimulationConfig, **kwargs: Any) -> list[SimulationRound]:
    """Set up a Simulation, run every round, clean up; see `Simulation` for the keyword options."""
    sim = Simulation(config, **kwargs)
    try:
        return sim.run()
    finally:
        sim.close()
