"""Coordinator service test fixtures: a real RoundCoordinator on eth-tester behind TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from fedledger.chain import DEFAULT_ROUND_CONFIG, EmbeddedChain, deploy_all, derive_accounts, fund
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.coordinator.api.app import create_app
from fedledger.coordinator.round import RoundCoordinator
from fedledger.coordinator.settings import ServiceSettings
from fedledger.coordinator.spec import StageDurations
from fedledger.fl.serialization import model_to_bytes
from fedledger.protocol.envelope import UPLOAD_BLOB, sign_envelope
from fedledger.protocol.model import ModelSpec
from fedledger.store import FilesystemBlobStore

CONFIG = DEFAULT_ROUND_CONFIG.replace(neighbours=3, threshold=2, slash_bps=0)
MAX_BODY = 64 * 1024
D = 8  # model parameters


@dataclass
class Chain:
    backend: EmbeddedChain
    deployment: Deployment
    contracts: Contracts
    aggregator: LocalAccount
    participants: list[LocalAccount]
    outsider: LocalAccount  # funded, never registered


@pytest.fixture(scope="session")
def _chain() -> Chain:
    backend = EmbeddedChain()
    funded = backend.funded_accounts()
    deployer, aggregator = funded[0], funded[1]
    deployment = deploy_all(
        backend, deployer=deployer, aggregator=aggregator.address, params=CONFIG
    )
    contracts = deployment.attach(backend)
    people = derive_accounts(b"coordinator-service-tests", 5)
    fund(backend, deployer, [p.address for p in people], 10**18)
    for p in people[:4]:
        contracts.registry.register(p.address, sender=deployer)
    return Chain(backend, deployment, contracts, aggregator, people[:4], people[4])


@dataclass
class Harness:
    """A coordinator service and the participants that talk to it."""

    chain: Chain
    coordinator: RoundCoordinator
    client: TestClient
    store: FilesystemBlobStore
    state_dir: Path = Path()
    extra: dict[str, Any] = field(default_factory=dict)

    def restart(self) -> None:
        """Stop the coordinator and its app; start new ones on the same state dir and store."""
        self.client.__exit__(None, None, None)
        self.coordinator.close()
        self.coordinator = _service(self.chain, self.store, self.state_dir)
        self.client = _client(self.coordinator, self.store).__enter__()

    @property
    def chain_id(self) -> int:
        return self.coordinator.chain_id

    @property
    def contract(self) -> str:
        return self.coordinator.contract

    def envelope(
        self,
        account: LocalAccount,
        payload: Any,
        *,
        stage: str,
        round_id: int | None = None,
        chain_id: int | None = None,
        contract: str | None = None,
    ) -> dict[str, Any]:
        return sign_envelope(
            account,
            payload,
            chain_id=self.chain_id if chain_id is None else chain_id,
            contract=contract or self.contract,
            round_id=self.coordinator.round_id if round_id is None else round_id,
            stage=stage,
        ).to_json()

    def upload(self, account: LocalAccount, name: str, data: bytes) -> Any:
        env = self.envelope(
            account, {"blob": name, "participant": account.address}, stage=UPLOAD_BLOB
        )
        import json

        return self.client.put(
            f"/blobs/{name}",
            content=data,
            headers={"x-fedledger-envelope": json.dumps(env)},
        )


def _service(chain: Chain, store: FilesystemBlobStore, state_dir: Path) -> RoundCoordinator:
    return RoundCoordinator(
        chain=chain.backend,
        deployment=chain.deployment,
        aggregator=chain.aggregator,
        store=store,
        state_dir=state_dir,
        model_spec=ModelSpec("logreg", "synthetic", D, 2),
        genesis_model=model_to_bytes({"weight": np.zeros(D, dtype=np.float32)}),
        durations=StageDurations(advertise_keys=3600, share_keys=3600, unmask=3600),
        expected_participants=4,
        fsync=False,
        contracts=chain.contracts,
    )


def _client(coordinator: RoundCoordinator, store: FilesystemBlobStore) -> TestClient:
    app = create_app(
        coordinator,
        store=store,
        settings=ServiceSettings(max_body_bytes=MAX_BODY, max_blob_bytes=1 << 20),
        tick=False,
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def harness(_chain: Chain, tmp_path: Path) -> Iterator[Harness]:
    snap = _chain.backend.snapshot()
    store = FilesystemBlobStore(tmp_path / "blobs", fsync=False)
    coordinator = _service(_chain, store, tmp_path / "state")
    h = Harness(
        _chain, coordinator, _client(coordinator, store).__enter__(), store, tmp_path / "state"
    )
    try:
        yield h
    finally:
        h.client.__exit__(None, None, None)
        h.coordinator.close()
        _chain.backend.revert(snap)
