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
    extra: dict[str, Any] = field(default_factory=dict)

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


@pytest.fixture
def harness(_chain: Chain, tmp_path: Path) -> Iterator[Harness]:
    snap = _chain.backend.snapshot()
    store = FilesystemBlobStore(tmp_path / "blobs", fsync=False)
    coordinator = RoundCoordinator(
        chain=_chain.backend,
        deployment=_chain.deployment,
        aggregator=_chain.aggregator,
        store=store,
        state_dir=tmp_path / "state",
        model_spec=ModelSpec("logreg", "synthetic", D, 2),
        genesis_model=model_to_bytes({"weight": np.zeros(D, dtype=np.float32)}),
        durations=StageDurations(advertise_keys=3600, share_keys=3600, unmask=3600),
        expected_participants=4,
        fsync=False,
        contracts=_chain.contracts,
    )
    app = create_app(
        coordinator,
        store=store,
        settings=ServiceSettings(max_body_bytes=MAX_BODY, max_blob_bytes=1 << 20),
        tick=False,
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Harness(_chain, coordinator, client, store)
    finally:
        coordinator.close()
        _chain.backend.revert(snap)
