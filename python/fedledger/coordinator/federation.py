"""A whole federation as real processes: anvil, deploy, coordinator and N nodes for R rounds.

Everything started here is stopped here, also when something fails (no orphan processes).
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
from fedledger.chain.devnet import devnet_start, devnet_stop
from fedledger.coordinator.devnet_setup import prepare_federation
from fedledger.coordinator.processes import ProcessGroup
from fedledger.errors import FedledgerError

__all__ = ["FederationConfig", "free_port", "run_federation"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from fedledger.cli.app import main; main()", *args]


def _wait_http(url: str, child: Any, timeout: float) -> None:
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


def run_federation(config: FederationConfig, *, log: Any = None) -> dict[str, Any]:
    """Run the federation and return the JSON summary (per round: accuracy, survivors, gas...)."""
    say = log or (lambda _m: None)
    work = config.work_dir or Path(tempfile.mkdtemp(prefix="fedledger-federation-"))
    work.mkdir(parents=True, exist_ok=True)
    anvil_dir = work / "anvil"
    timings: dict[str, float] = {}
    t_all = time.monotonic()
    status = devnet_start(port=free_port(), state_dir=anvil_dir)
    rpc = str(status.url)
    try:
        with ProcessGroup(work / "logs") as group:
            t0 = time.monotonic()
            prepared = prepare_federation(
                RpcChain(rpc),
                work,
                nodes=config.nodes,
                dataset=config.dataset,
                alpha=config.alpha,
                seed=config.seed,
            )
            timings["setup"] = time.monotonic() - t0
            say(f"deployed on {rpc}; {config.nodes} participants registered")
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            coordinator = group.start(
                "coordinator",
                _cli(
                    "coordinator", "run",
                    "--rpc", rpc,
                    "--deployment", str(prepared.deployment_path),
                    "--state-dir", str(work / "coordinator"),
                    "--aggregator-key-file", str(prepared.aggregator_key),
                    "--port", str(port),
                    "--rounds", str(config.rounds),
                    "--dataset", config.dataset,
                    "--model", config.model,
                    "--seed", str(config.seed),
                    "--expected", str(config.nodes),
                    "--stage-timeout", str(config.stage_timeout),
                    *(("--task", config.task) if config.task else ()),
                ),
            )  # fmt: skip
            _wait_http(f"{url}/healthz", coordinator, 120)
            t0 = time.monotonic()
            nodes = []
            for i in range(config.nodes):
                argv = _cli(
                    "node", "run", "--quiet",
                    "--coordinator", url,
                    "--rpc", rpc,
                    "--deployment", str(prepared.deployment_path),
                    "--partition", str(prepared.partition_files[i]),
                    "--key-file", str(prepared.key_files[i]),
                    "--rounds", str(config.rounds),
                    "--epochs", str(config.epochs),
                    "--seed", str(config.seed),
                    "--round-timeout", str(config.timeout),
                    "--participant-index", str(i), "--participants", str(config.nodes),
                )  # fmt: skip
                for who, stage, rnd in config.drops:
                    if who == i:
                        argv += ["--drop-at", stage, "--drop-round", str(rnd)]
                nodes.append(group.start(f"node-{i}", argv))
            say(f"coordinator {url} and {config.nodes} nodes started")
            deadline = time.monotonic() + config.timeout
            while any(n.proc.poll() is None for n in nodes):
                if coordinator.proc.poll() is not None:
                    raise FedledgerError(f"coordinator exited early: {coordinator.tail(3)}")
                if time.monotonic() > deadline:
                    raise FedledgerError(f"federation did not finish within {config.timeout:.0f} s")
                time.sleep(0.2)
            timings["rounds"] = time.monotonic() - t0
            failed = [n for n in nodes if n.proc.returncode != 0]
            if failed:
                n = failed[0]
                raise FedledgerError(f"{n.name} exited with {n.proc.returncode}: {n.tail(3)}")
            node_results = [
                json.loads(n.log_path.read_text().strip().splitlines()[-1]) for n in nodes
            ]
            summary = _summarize(url, rpc, prepared, config, node_results)
            group.stop(coordinator)
    finally:
        devnet_stop(state_dir=anvil_dir)
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
