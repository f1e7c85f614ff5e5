"""Ray engine for simulations: participants in Ray actors, the coordinator in one actor.

The protocol code is the in-process simulation's: every participant is a `Participant`
stepping against a `CoordinatorPort`, here a port that calls the coordinator's actor; the
coordinator is a `RoundCoordinator`. What changes is where they run. Participants are
spread over a few host actors (one per CPU by default, each stepping its share of the
participants), so 10,000 members do not need 10,000 processes. All of them reach the chain
over JSON-RPC (an anvil devnet; the in-process chain cannot be shared between processes)
and the blob store through its folder (a local Ray, or a cluster with a shared filesystem).

A host steps its participants in passes, and a pass costs a handful of actor calls, not
several per participant (`_PassPort`): the round's status is read once, the reads every
participant makes (its shares, the unmask request, the dropout reports) are fetched for the
whole host in calls of `PER_CALL` participants, and the writes (key bundles, shares, masked
inputs, unmask shares) go to the coordinator at the end of the pass in calls of `PER_CALL`,
receipts handed back to each participant's record. (Bounded calls keep the coordinator
actor's memory independent of n: one call's messages are k shares per participant.) This
is the in-process simulation's order: the coordinator changes stage only in `tick`, between
passes. Chain reads are shared the same way: `getRound` once
per pass and host, the round's events through one EventCache, and commits through one
TxPipeline per host (explicit nonces, no wait for each receipt), as in-process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import resource
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from eth_account import Account

from fedledger.chain.backend import ChainBackend, RpcChain
from fedledger.chain.datatypes import DecodedEvent, RoundInfo
from fedledger.chain.event_cache import EventCache
from fedledger.chain.pipeline import TxPipeline
from fedledger.chain.registry import RegistryClient
from fedledger.chain.round_log import RoundLogClient
from fedledger.coordinator.round import RoundCoordinator
from fedledger.errors import ConfigError, FedledgerError
from fedledger.fl.task_bridge import TaskRunner, make_task_evaluator
from fedledger.node.participant import Participant, ParticipantRound
from fedledger.protocol.receipts import Receipt
from fedledger.protocol.status import RoundStatus
from fedledger.secagg.engine import Engine, import_ray, make_engine, start_ray
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)
from fedledger.sim.simulation import BLOB_CACHE_BYTES, SimClock, Simulation, SimulationConfig
from fedledger.store.filesystem import FilesystemBlobStore

__all__ = ["PER_CALL", "ActorPort", "RaySimulation"]

PER_CALL = 64
"""Participants' reads or writes per actor call to the coordinator."""


class ActorPort:
    """CoordinatorPort over the coordinator's actor: each call is one actor method call."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def _call(self, name: str, *args: Any) -> Any:
        ray = import_ray()
        return ray.get(self.handle.call.remote(name, *args))

    def status(self) -> RoundStatus:
        return self._call("status")

    def submit_keys(self, bundle: KeyBundle) -> Receipt | None:
        return self._call("submit_keys", bundle)

    def submit_shares(self, message: ShareKeysMessage) -> Receipt | None:
        return self._call("submit_shares", message)

    def shares_for(self, address: str) -> list[EncryptedShare]:
        return self._call("shares_for", address)

    def submit_masked(
        self,
        address: str,
        masked_hash: bytes,
        seed_commitment: bytes,
        dropouts: LocalDropouts | None = None,
    ) -> Receipt | None:
        return self._call("submit_masked", address, masked_hash, seed_commitment, dropouts)

    def unmask_request_for(self, address: str) -> UnmaskRequest:
        return self._call("unmask_request_for", address)

    def dropout_reports(self) -> list[LocalDropouts]:
        return self._call("dropout_reports")

    def submit_unmask(self, response: UnmaskResponse) -> Receipt | None:
        return self._call("submit_unmask", response)


@dataclasses.dataclass(frozen=True)
class _Site:
    """What every actor needs to reach the deployment: chain URL, contracts, store folder."""

    rpc_url: str
    deployment: Any
    store_dir: str
    fsync: bool

    def chain(self) -> ChainBackend:
        return RpcChain(self.rpc_url)

    def store(self) -> FilesystemBlobStore:
        # A host's participants read the same neighbours' blobs: keep them, checked against
        # their names, instead of one file read per reader (as the in-process simulation).
        return FilesystemBlobStore(
            Path(self.store_dir), fsync=self.fsync, cache_bytes=BLOB_CACHE_BYTES
        )


class _CoordinatorHost:
    """Actor body: one RoundCoordinator, its simulated clock, and the port's entry point."""

    def __init__(self, site: _Site, spec: dict[str, Any]) -> None:
        chain = site.chain()
        self.clock = SimClock()
        self.engine: Engine | None = (
            make_engine(spec["regen_engine"], workers=spec["regen_workers"])
            if spec["regen_engine"] != "inline"
            else None
        )
        task, test_data = spec["task"], spec["test_data"]
        self.coordinator = RoundCoordinator(
            chain=chain,
            deployment=site.deployment,
            aggregator=Account.from_key(spec["aggregator_key"]),
            store=site.store(),
            state_dir=spec["state_dir"],
            model_spec=spec["model_spec"],
            genesis_model=spec["genesis"],
            durations=spec["durations"],
            clock=self.clock,
            evaluate=make_task_evaluator(task, test_data, name=spec["task_name"]),
            expected_participants=spec["expected"],
            fsync=site.fsync,
            engine=self.engine,
        )

    def call(self, name: str, *args: Any) -> Any:
        """RoundCoordinator.<name>(*args): the port's and the driver's one entry point."""
        return getattr(self.coordinator, name)(*args)

    def call_many(self, calls: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[bool, Any]]:
        """Each call in turn: (True, result) or (False, the refusal as text) per call."""
        out: list[tuple[bool, Any]] = []
        for name, args in calls:
            try:
                out.append((True, getattr(self.coordinator, name)(*args)))
            except FedledgerError as exc:  # refused: the caller records it, the batch goes on
                out.append((False, f"{type(exc).__name__}: {exc}"))
        return out

    def call_each(self, name: str, addresses: list[str]) -> dict[str, Any]:
        """RoundCoordinator.<name>(a) for each address it answers (refused ones left out)."""
        out: dict[str, Any] = {}
        for address in addresses:
            with contextlib.suppress(FedledgerError):
                out[address] = getattr(self.coordinator, name)(address)
        return out

    def timings(self) -> dict[str, float]:
        return dict(self.coordinator.timings)

    def advance_to(self, when: float) -> None:
        self.clock.advance_to(when)

    def peak_rss_mib(self) -> float:
        """This actor process's peak RSS (the coordinator's own memory)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def close(self) -> None:
        self.coordinator.close()
        if self.engine is not None:
            self.engine.close()


class _PassRoundLog(RoundLogClient):
    """RoundLog client whose `get_round` is read once per pass for all of a host's participants.

    Safe because only the coordinator moves a round's stage on chain, in `tick`, between
    passes; the counts it also carries are not what participants read it for.
    """

    def __init__(self, backend: ChainBackend, address: str) -> None:
        super().__init__(backend, address)
        self._rounds: dict[int, RoundInfo] = {}

    def get_round(self, round_id: int) -> RoundInfo:
        info = self._rounds.get(round_id)
        if info is None:
            info = self._rounds[round_id] = super().get_round(round_id)
        return info

    def new_pass(self) -> None:
        """Forget what was read: the next pass reads the chain again."""
        self._rounds.clear()


class _PassRegistry(RegistryClient):
    """Registry client whose weight caps are read for all of a host's participants at once.

    The first `weight_cap_of` of a pass fetches every host address's cap in JSON-RPC batches
    (one HTTP request per `_BATCH` addresses instead of one per participant); caps change
    only by governance, never inside a round's pass.
    """

    _BATCH = 500

    def __init__(self, backend: ChainBackend, address: str, accounts: list[str]) -> None:
        super().__init__(backend, address)
        self.accounts = accounts
        self._caps: dict[str, int] = {}

    def _fetch_caps(self) -> None:
        w3 = self.backend.w3
        for i in range(0, len(self.accounts), self._BATCH):
            chunk = self.accounts[i : i + self._BATCH]
            try:
                with w3.batch_requests() as batch:
                    for a in chunk:
                        batch.add(self.contract.functions.weightCapOf(a))
                    caps = batch.execute()
            except Exception:  # a node without batches: each cap is read on its own, below
                return
            self._caps.update(zip(chunk, (int(cast(Any, c)) for c in caps), strict=True))

    def weight_cap_of(self, account: str) -> int:
        if not self._caps:
            self._fetch_caps()
        cap = self._caps.get(account)
        return cap if cap is not None else super().weight_cap_of(account)

    def new_pass(self) -> None:
        """Forget the caps read: the next pass reads them again."""
        self._caps.clear()


class _PassEvents(EventCache):
    """EventCache brought up to date at most once per pass (the events a pass reads, the
    round's commits, are all mined before the pass that reads them)."""

    def __init__(self, backend: ChainBackend, address: str) -> None:
        super().__init__(backend, address)
        self._seen: dict[tuple[int, frozenset[str] | None], list[DecodedEvent]] = {}

    def events(
        self, *, from_block: int = 0, names: Iterable[str] | None = None
    ) -> list[DecodedEvent]:
        key = (from_block, frozenset(names) if names is not None else None)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = super().events(from_block=from_block, names=names)
        return list(found)

    def new_pass(self) -> None:
        """The next read brings the cache up to date again."""
        self._seen.clear()


class _PassPort:
    """CoordinatorPort for one pass of a host's participants (see the module docstring).

    Writes are queued and sent in one actor call by `flush`; a write the coordinator refuses
    leaves that participant out of the round, with the refusal as its `left_out` reason (a
    participant the in-process simulation would have seen refused too).
    """

    def __init__(self, handle: Any, addresses: list[str]) -> None:
        self.handle = handle
        self.addresses = addresses
        self._status: RoundStatus = import_ray().get(handle.call.remote("status"))
        self._each: dict[str, dict[str, Any]] = {}
        self._reports: list[LocalDropouts] | None = None
        self._writes: list[tuple[ParticipantRound, str, tuple[Any, ...]]] = []
        self.stepping: Participant | None = None
        """The participant stepping now (its writes' receipts go to its current record)."""

    def _call(self, name: str, *args: Any) -> Any:
        return import_ray().get(self.handle.call.remote(name, *args))

    def _read(self, name: str, address: str) -> Any:
        """`name(address)`, fetched for every address of the host on first use."""
        each = self._each.get(name)
        if each is None:
            each = self._each[name] = {}
            for start in range(0, len(self.addresses), PER_CALL):
                chunk = self.addresses[start : start + PER_CALL]
                each.update(import_ray().get(self.handle.call_each.remote(name, chunk)))
        if address in each:
            return each[address]
        return self._call(name, address)  # refused in bulk: ask again, to raise the refusal

    def _write(self, name: str, *args: Any) -> None:
        rec = self.stepping.current if self.stepping is not None else None
        assert rec is not None, "set the stepping participant first"
        self._writes.append((rec, name, args))

    def status(self) -> RoundStatus:
        return self._status

    def submit_keys(self, bundle: KeyBundle) -> Receipt | None:
        self._write("submit_keys", bundle)
        return None

    def submit_shares(self, message: ShareKeysMessage) -> Receipt | None:
        self._write("submit_shares", message)
        return None

    def shares_for(self, address: str) -> list[EncryptedShare]:
        return list(self._read("shares_for", address))

    def submit_masked(
        self,
        address: str,
        masked_hash: bytes,
        seed_commitment: bytes,
        dropouts: LocalDropouts | None = None,
    ) -> Receipt | None:
        self._write("submit_masked", address, masked_hash, seed_commitment, dropouts)
        return None

    def unmask_request_for(self, address: str) -> UnmaskRequest:
        return self._read("unmask_request_for", address)

    def dropout_reports(self) -> list[LocalDropouts]:
        if self._reports is None:
            self._reports = list(self._call("dropout_reports"))
        return self._reports

    def submit_unmask(self, response: UnmaskResponse) -> Receipt | None:
        self._write("submit_unmask", response)
        return None

    def flush(self) -> int:
        """Send the queued writes in one call; receipts to their records. Refusals counted."""
        if not self._writes:
            return 0
        calls = [(name, args) for _, name, args in self._writes]
        results: list[tuple[bool, Any]] = []
        for start in range(0, len(calls), PER_CALL):
            chunk = calls[start : start + PER_CALL]
            results += import_ray().get(self.handle.call_many.remote(chunk))
        refused = 0
        for (rec, name, _), (ok, value) in zip(self._writes, results, strict=True):
            if ok:
                if value is not None:
                    rec.receipts.append(value)
            else:
                refused += 1
                rec.left_out = f"the coordinator refused {name}: {value}"
        self._writes = []
        return refused


class _ParticipantHost:
    """Actor body: a share of the participants, each the same `Participant` as in-process."""

    def __init__(self, site: _Site, members: list[dict[str, Any]], tx_window: int) -> None:
        chain = site.chain()
        contracts = site.deployment.attach(chain)
        self.round_log = _PassRoundLog(chain, contracts.round_log.address)
        addresses = [Account.from_key(m["key"]).address for m in members]
        self.registry = _PassRegistry(chain, contracts.registry.address, addresses)
        contracts = dataclasses.replace(contracts, round_log=self.round_log, registry=self.registry)
        store = site.store()
        # One pipeline and one event cache per host, as the in-process simulation has one.
        self.pipeline = (
            TxPipeline(chain, window=tx_window, estimate_once=True) if tx_window else None
        )
        self.events = events = _PassEvents(chain, contracts.round_log.address)
        self.refused = 0
        """Writes the coordinator refused (each left its participant out of the round)."""
        self.participants = [
            Participant(
                account=Account.from_key(m["key"]),
                X=getattr(m["data"], "X", None),
                y=getattr(m["data"], "y", None),
                index=m["index"],
                model_spec=m["model_spec"],
                train_config=m["train"],
                seed=m["seed"],
                chain=chain,
                contracts=contracts,
                store=store,
                dropout=m["dropout"],
                runner=TaskRunner(m["task"], name=m["task_name"], ctx=m["ctx"], data=m["data"]),
            )
            for m in members
        ]
        for p in self.participants:
            p.commit_pipeline = self.pipeline
            p.event_cache = events

    def step_all(self, coordinator: Any) -> bool:
        """One pass over this host's participants against the coordinator's actor."""
        for shared in (self.round_log, self.registry, self.events):
            shared.new_pass()
        port = _PassPort(coordinator, [p.address for p in self.participants])
        acted = False
        for p in self.participants:
            port.stepping = p
            acted = p.step(port) or acted
        if self.pipeline is not None:
            self.pipeline.flush()  # the pass's commits, mined before anyone reports them
        self.refused += port.flush()
        return acted

    def records(self, round_id: int) -> dict[str, ParticipantRound]:
        """Each participant's record of `round_id` (for the round's timings and gas)."""
        return {
            p.address: rec for p in self.participants if (rec := p.rounds.get(round_id)) is not None
        }


class _CoordinatorProxy:
    """The driver's handle on the coordinator actor, shaped like the RoundCoordinator it uses."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def _call(self, name: str, *args: Any) -> Any:
        return import_ray().get(self.handle.call.remote(name, *args))

    def open_round(self) -> RoundStatus:
        return self._call("open_round")

    def tick(self) -> RoundStatus:
        return self._call("tick")

    def report(self, round_id: int) -> Any:
        return self._call("report", round_id)

    @property
    def timings(self) -> dict[str, float]:
        return import_ray().get(self.handle.timings.remote())

    def close(self) -> None:
        import_ray().get(self.handle.close.remote())


class _RemoteClock(SimClock):
    """The driver's clock jumps are forwarded to the coordinator actor's clock."""

    def __init__(self, handle: Any) -> None:
        super().__init__()
        self.handle = handle

    def advance_to(self, when: float) -> None:
        super().advance_to(when)
        import_ray().get(self.handle.advance_to.remote(when))


@dataclasses.dataclass
class _RemoteParticipant:
    """The driver's view of one participant: its address and its round records."""

    address: str
    rounds: dict[int, ParticipantRound] = dataclasses.field(default_factory=dict)


class RaySimulation(Simulation):
    """`Simulation` with participants and coordinator in Ray actors (see the module docstring).

    Needs `chain` to be an RpcChain (a devnet URL every actor can reach). Ray is started
    locally (at most `hosts` CPUs, no dashboard, loopback only) unless `ray_address` names
    a cluster; `close()` shuts down a Ray it started. `regen_engine` is where the
    coordinator's mask regeneration runs ("inline", "process" or "ray").
    """

    def __init__(
        self,
        config: SimulationConfig,
        *,
        chain: ChainBackend,
        ray_address: str | None = None,
        hosts: int | None = None,
        regen_engine: str = "inline",
        **kwargs: Any,
    ) -> None:
        if not isinstance(chain, RpcChain):
            raise ConfigError(
                "the Ray engine needs a JSON-RPC chain (e.g. an anvil devnet) that every "
                "actor can reach: pass chain=RpcChain(url)"
            )
        self._ray_started = start_ray(ray_address, num_cpus=hosts)
        ray = import_ray()
        self._hosts_wanted = hosts or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._regen_engine = regen_engine
        self._actors: list[Any] = []
        try:
            super().__init__(config, chain=chain, **kwargs)
        except BaseException:
            self._shutdown()
            raise

    def _site(self) -> _Site:
        url = self.chain.rpc_url
        assert isinstance(self.chain, RpcChain) and url is not None
        store_dir = getattr(self.store, "root", None)
        if store_dir is None:
            raise ConfigError("the Ray engine needs a filesystem blob store")
        return _Site(url, self.deployment, str(store_dir), self.config.fsync)

    def _new_coordinator(self) -> RoundCoordinator:
        ray = import_ray()
        cfg = self.config
        spec = {
            "aggregator_key": bytes(self.aggregator.key),
            "state_dir": str(self.state_dir / "coordinator"),
            "model_spec": self.spec,
            "genesis": self.genesis,
            "durations": cfg.durations,
            "task": self.task,
            "task_name": self.task_name,
            "test_data": self._test_data,
            "expected": cfg.participants,
            "regen_engine": self._regen_engine,
            "regen_workers": None,
        }
        # num_cpus=0: the coordinator waits on the participants most of the time.
        handle = ray.remote(_CoordinatorHost).options(num_cpus=0).remote(self._site(), spec)
        self._actors.append(handle)
        self._coordinator_handle = handle
        self.clock = _RemoteClock(handle)
        return _CoordinatorProxy(handle)  # type: ignore[return-value]

    def _new_participants(self, shards: list[Any]) -> list[Participant]:
        ray = import_ray()
        cfg = self.config
        members = [
            {
                "key": bytes(acct.key),
                "data": data,
                "index": i,
                "model_spec": self.spec,
                "train": cfg.train,
                "seed": cfg.seed,
                "dropout": {r: d[i] for r, d in cfg.dropouts.items() if i in d},
                "task": self.task,
                "task_name": self.task_name,
                "ctx": dataclasses.replace(self.task_context, participant=i),
            }
            for i, (acct, data) in enumerate(zip(self.accounts, shards, strict=True))
        ]
        n_hosts = max(1, min(self._hosts_wanted, len(members)))
        host_cls = ray.remote(_ParticipantHost).options(num_cpus=0)
        site = self._site()
        self._hosts = [
            host_cls.remote(site, members[h::n_hosts], cfg.tx_window) for h in range(n_hosts)
        ]
        self._actors.extend(self._hosts)
        self._remote = [_RemoteParticipant(a.address) for a in self.accounts]
        return self._remote  # type: ignore[return-value]

    def _load_task(self, dataset: Any, partition: Any) -> tuple[list[Any], Any]:
        shards, test_data = super()._load_task(dataset, partition)
        self._test_data = test_data
        return shards, test_data

    def _step_participants(self, coord: RoundCoordinator) -> bool:
        ray = import_ray()
        handle = self._coordinator_handle
        return any(ray.get([h.step_all.remote(handle) for h in self._hosts]))

    def _drive(self, restart_every_step: bool) -> int:
        if restart_every_step:
            raise ConfigError("the Ray engine does not simulate coordinator restarts")
        round_id = super()._drive(False)
        ray = import_ray()
        records: dict[str, ParticipantRound] = {}
        for part in ray.get([h.records.remote(round_id) for h in self._hosts]):
            records.update(part)
        for p in self._remote:
            if p.address in records:
                p.rounds[round_id] = records[p.address]
        return round_id

    def coordinator_peak_rss_mib(self) -> float:
        """Peak RSS of the coordinator's actor process, in MiB."""
        return float(import_ray().get(self._coordinator_handle.peak_rss_mib.remote()))

    def restart_coordinator(self) -> RoundCoordinator:
        raise ConfigError("the Ray engine does not simulate coordinator restarts")

    def _shutdown(self) -> None:
        ray = import_ray()
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._ray_started:
            ray.shutdown()
            self._ray_started = False

    def close(self) -> None:
        """Stop the actors (and a Ray started here), then release files."""
        try:
            if self._actors:
                # The actor may be gone already: shut down anyway.
                with contextlib.suppress(Exception):
                    self.coordinator.close()
        finally:
            self._shutdown()
            if self._tmp is not None:
                self._tmp.cleanup()
