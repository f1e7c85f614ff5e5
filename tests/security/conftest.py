"""Security fixtures: real rounds (RoundCoordinator + Participants, eth-tester) and both HTTP apps.

`world` runs two rounds once per session (one honest, one with a dropout) and leaves a
third round open in the key stage, so the coordinator and the auditor have real data to
serve. The apps built on it are read-only for anyone without a registered key, which is
what the fuzzers are: they never change the world.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from fedledger.audit.api import create_app as create_audit_app
from fedledger.audit.service import AuditService
from fedledger.coordinator.api.app import create_app as create_coordinator_app
from fedledger.coordinator.settings import ServiceSettings
from fedledger.sim.simulation import Simulation
from fedledger.store import FilesystemBlobStore
from tests.support.security import MAX_BLOB, MAX_BODY, small_sim


@dataclass
class World:
    """Two finished rounds and an open third one, with the apps that serve them."""

    sim: Simulation
    coordinator_app: FastAPI
    audit_app: FastAPI
    audit: AuditService


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("security-world")
    sim = small_sim(root / "sim")
    sim.participants[1].dropout = {2: "after_shares"}
    first, second = sim.run_round(), sim.run_round()
    assert (first.outcome, second.outcome) == ("finalized", "finalized")
    sim.coordinator.open_round()  # round 3 stays in the key stage
    coordinator_app = create_coordinator_app(
        sim.coordinator,
        store=sim.store,
        settings=ServiceSettings(max_body_bytes=MAX_BODY, max_blob_bytes=MAX_BLOB),
        tick=False,
    )
    assert isinstance(sim.store, FilesystemBlobStore)
    reports = {rid: name for rid, name in sim.coordinator.reports.all().items()}
    audit = AuditService(
        sim.chain, sim.deployment, str(sim.store.root), root / "audit.db", reports=reports
    )
    audit.refresh()
    try:
        yield World(sim, coordinator_app, create_audit_app(audit), audit)
    finally:
        audit.close()
        sim.close()
