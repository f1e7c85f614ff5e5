"""A whole federation as real processes: anvil, deploy, coordinator and N nodes for R rounds.

`ProcessFederation` starts each piece (the fault tests drive it step by step, killing and
restarting); `run_federation` runs one federation to the end and summarizes it. Everything
started here is stopped here, also when something fails (no orphan processes).
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fedledger.chain.backend import RpcChain
from fedledger.chain.datatypes import RoundConfig
from fedledger.chain.devnet import devnet_start, devnet_stop
from fedledger.errors import FedledgerError
from fedledger.sim.devnet_setup import PreparedFederation, prepare_federation
from fedledger.sim.processes import ProcessGroup, Started

__all__ = [
    "FederationConfig",
    "ProcessFederation",
    "cli_argv",
    "free_port",
    "run_federation",
    "wait_http",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_argv(*args: str) -> list[str]:
    """argv running `fedledger <args>` with this interpreter."""
    return [sys.executable, "-c", "from fedledger.cli.app import main; main()", *args]


def _flags(options: dict[str, Any]) -> list[str]:
    """--name value pairs for every option that is not None (underscores become dashes)."""
    out: list[str] = []
    for name, value in options.items():
        if value is not None:
            out += [f"--{name.replace('_', '-')}", str(value)]
    return out


def wait_http(url: str, child: Started, timeout: float) -> None:
    """Wait until `url` answers 200; FedledgerError if `child` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise FedledgerError(
                f"{child.name} exited with {child.proc.returncode}: {child.tail(3)}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise FedledgerError(f"{child.name} did not answer at {url} within {timeout:.0f} s")


@dataclass
class ProcessFederation:
    """anvil (with --state), contracts, coordinator and node processes under one ProcessGroup."""

    work: Path
    nodes: int
    anvil_port: int = field(default_factory=free_port)
    group: ProcessGroup = field(init=False)
    rpc: str = field(init=False, default="")
    prepared: PreparedFederation = field(init=False)

    def __post_init__(self) -> None:
        self.anvil_dir = self.work / "anvil"
        self.group = ProcessGroup(self.work / "logs")

    def start_chain(self) -> str:
        """anvil on its fixed port, loading (and later dumping) anvil/state.json; the RPC URL."""
        # devnet_start mines an empty block every second besides automining, so chain time
        # (the coordinator's on-chain deadlines) moves even when nobody transacts.
        self.rpc = str(devnet_start(port=self.anvil_port, state_dir=self.anvil_dir).url)
        return self.rpc

    def stop_chain(self) -> None:
        """Stop anvil (it dumps its state)."""
        devnet_stop(state_dir=self.anvil_dir)

    def deploy(
        self,
        *,
        dataset: str = "digits",
        alpha: float = 0.5,
        seed: int = 0,
        round_config: RoundConfig | None = None,
    ) -> PreparedFederation:
        """Deploy, register the participants, write their keys and partitions."""
        self.prepared = prepare_federation(
            RpcChain(self.rpc),
            self.work,
            nodes=self.nodes,
            dataset=dataset,
            alpha=alpha,
            seed=seed,
            round_config=round_config,
        )
        return self.prepared

    def start_coordinator(self, name: str, *, port: int, rounds: int, **options: Any) -> Started:
        """`fedledger coordinator run` on `port` (state in work/coordinator); `options` are
        further CLI options (model, dataset, seed, expected, stage_timeout, tick_interval)."""
        argv = cli_argv(
            "coordinator", "run",
            "--rpc", self.rpc,
            "--deployment", str(self.prepared.deployment_path),
            "--state-dir", str(self.work / "coordinator"),
            "--aggregator-key-file", str(self.prepared.aggregator_key),
            "--port", str(port),
            "--rounds", str(rounds),
            *_flags(options),
        )  # fmt: skip
        return self.group.start(name, argv)

    def start_node(
        self,
        name: str,
        i: int,
        *,
        coordinator: str,
        rounds: int,
        drop: tuple[str, int] | None = None,
        **options: Any,
    ) -> Started:
        """`fedledger node run` as participant `i` against `coordinator`, optionally told to
        drop at (stage, round); `options` are further CLI options (epochs, seed, retries...)."""
        argv = cli_argv(
            "node", "run", "--quiet",
            "--coordinator", coordinator,
            "--rpc", self.rpc,
            "--deployment", str(self.prepared.deployment_path),
            "--partition", str(self.prepared.partition_files[i]),
            "--key-file", str(self.prepared.key_files[i]),
            "--rounds", str(rounds),
            *_flags(options),
        )  # fmt: skip
        if drop is not None:
            argv += ["--drop-at", drop[0], "--drop-round", str(drop[1])]
        return self.group.start(name, argv)


@dataclass(frozen=True)
class FederationConfig:
    """What to run."""

    nodes: int = 5
    rounds: int = 2
    dataset: str = "digits"
    model: str = "mlp"
    alpha: float = 0.5
    seed: int = 0
    epochs: int = 1
    stage_timeout: float = 120.0
    timeout: float = 900.0
    """Give up (and stop everything) after this many seconds."""
    drops: tuple[tuple[int, str, int], ...] = ()
    """(node index, stage, round id): that node goes silent at that stage of that round."""
    work_dir: Path | None = None
    """Keep keys, partitions, logs and state here (default: a temporary folder, removed)."""
    extra: dict[str, Any] = field(default_factory=dict)
    task: str | None = None
    """Task import string for the coordinator and every node (default: `model` on `dataset`)."""
    verify: str = "full"
    """Every node's `--verify` mode (full|own|off): how it verifies a model's rounds."""


def _start_nodes(fed: ProcessFederation, config: FederationConfig, url: str) -> list[Started]:
    nodes = []
    drops = {who: (stage, rnd) for who, stage, rnd in config.drops}  # the last one counts
    for i in range(config.nodes):
        drop = drops.get(i)
        nodes.append(
            fed.start_node(
                f"node-{i}",
                i,
                coordinator=url,
                rounds=config.rounds,
                drop=drop,
                epochs=config.epochs,
                seed=config.seed,
                participant_index=i,
                participants=config.nodes,
                verify=config.verify,
            )
        )
    return nodes


def _wait_nodes(nodes: list[Started], coordinator: Started, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(n.proc.poll() is None for n in nodes):
        if coordinator.proc.poll() is not None:
            raise FedledgerError(f"coordinator exited early: {coordinator.tail(3)}")
        if time.monotonic() > deadline:
            raise FedledgerError(f"federation did not finish within {timeout:.0f} s")
        time.sleep(0.2)
    failed = [n for n in nodes if n.proc.returncode != 0]
    if failed:
        n = failed[0]
        raise FedledgerError(f"{n.name} exited with {n.proc.returncode}: {n.tail(3)}")


def _run(
    fed: ProcessFederation, config: FederationConfig, timings: dict[str, float], say: Any
) -> dict[str, Any]:
    t0 = time.monotonic()
    prepared = fed.deploy(dataset=config.dataset, alpha=config.alpha, seed=config.seed)
    timings["setup"] = time.monotonic() - t0
    say(f"deployed on {fed.rpc}; {config.nodes} participants registered")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    coordinator = fed.start_coordinator(
        "coordinator",
        port=port,
        rounds=config.rounds,
        dataset=config.dataset,
        model=config.model,
        seed=config.seed,
        expected=config.nodes,
        stage_timeout=config.stage_timeout,
        task=config.task,
    )
    wait_http(f"{url}/healthz", coordinator, 120)
    t0 = time.monotonic()
    nodes = _start_nodes(fed, config, url)
    say(f"coordinator {url} and {config.nodes} nodes started")
    _wait_nodes(nodes, coordinator, config.timeout)
    timings["rounds"] = time.monotonic() - t0
    results = [json.loads(n.log_path.read_text().strip().splitlines()[-1]) for n in nodes]
    summary = _summarize(url, fed.rpc, prepared, config, results)
    fed.group.stop(coordinator)
    return summary


def run_federation(config: FederationConfig, *, log: Any = None) -> dict[str, Any]:
    """Run the federation and return the JSON summary (per round: accuracy, survivors, gas...)."""
    say = log or (lambda _m: None)
    work = config.work_dir or Path(tempfile.mkdtemp(prefix="fedledger-federation-"))
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t_all = time.monotonic()
    fed = ProcessFederation(work, nodes=config.nodes)
    fed.start_chain()
    try:
        with fed.group:
            summary = _run(fed, config, timings, say)
    finally:
        fed.stop_chain()
        if config.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    timings["total"] = time.monotonic() - t_all
    summary["timings"] = {k: round(v, 3) for k, v in timings.items()}
    return summary


def _summarize(
    url: str, rpc: str, prepared: Any, config: FederationConfig, nodes: list[dict[str, Any]]
) -> dict[str, Any]:
    from fedledger.audit.verify import verify_round_from_chain
    from fedledger.chain.deploy import Deployment

    backend = RpcChain(rpc)
    deployment = Deployment.load(prepared.deployment_path)
    contracts = deployment.attach(backend)
    rounds = []
    with httpx.Client(base_url=url, timeout=30) as client:
        last = client.get("/v1/round").json()["round"]
        for rid in range(1, last + 1):
            resp = client.get(f"/v1/rounds/{rid}/report")
            report = resp.json() if resp.status_code == 200 else {}
            audit = verify_round_from_chain(backend, deployment, url, rid, contracts=contracts)
            verdict = {"ok": audit.ok, "failed": audit.failed, "checks": len(audit.checks)}
            rounds.append(
                {
                    "round": rid,
                    "outcome": report.get("outcome"),
                    "accuracy": report.get("accuracy"),
                    "survivors": len(report.get("survivors", [])),
                    "dropped": report.get("dropped", {}),
                    "gas": report.get("gas", {}),
                    "verification": verdict,
                    "times": report.get("times", {}),
                }
            )
    commit_gas = [
        rec.get("commit_gas")
        for n in nodes
        for rec in n["rounds"].values()
        if rec.get("commit_gas")
    ]
    node_timings: dict[str, float] = {}
    for n in nodes:
        for rec in n["rounds"].values():
            for k, v in rec.get("timings", {}).items():
                node_timings[k] = node_timings.get(k, 0.0) + float(v)
    return {
        "nodes": config.nodes,
        "rounds": rounds,
        "commitGasMean": (sum(commit_gas) / len(commit_gas)) if commit_gas else None,
        "setupGas": prepared.setup_gas,
        "nodeTimeTotals": {k: round(v, 3) for k, v in node_timings.items()},
        "verified": all(r["verification"].get("ok") for r in rounds),
    }
