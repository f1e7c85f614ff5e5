"""Node test fixtures: a deployed anvil with registered participants and a coordinator process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fedledger.chain.backend import RpcChain
from fedledger.chain.devnet import devnet_start, devnet_stop
from fedledger.sim.devnet_setup import PreparedFederation, prepare_federation
from fedledger.sim.federation import free_port
from fedledger.sim.processes import ProcessGroup


@dataclass
class Devnet:
    rpc: str
    prepared: PreparedFederation
    coordinator: str
    work: Path


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    work = tmp_path_factory.mktemp("node-devnet")
    status = devnet_start(port=free_port(), state_dir=work / "anvil")
    try:
        rpc = str(status.url)
        prepared = prepare_federation(RpcChain(rpc), work, nodes=3, dataset="wine")
        port = free_port()
        with ProcessGroup(work / "logs") as group:
            child = group.start(
                "coordinator",
                [
                    sys.executable, "-c", "from fedledger.cli.app import main; main()",
                    "coordinator", "run", "--rpc", rpc,
                    "--deployment", str(prepared.deployment_path),
                    "--state-dir", str(work / "coordinator"),
                    "--aggregator-key-file", str(prepared.aggregator_key),
                    "--port", str(port), "--dataset", "wine", "--model", "logreg",
                ],
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                assert child.proc.poll() is None, child.tail()
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                import time

                time.sleep(0.1)
            yield Devnet(rpc, prepared, url, work)
    finally:
        devnet_stop(state_dir=work / "anvil")
