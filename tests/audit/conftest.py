"""Audit fixtures: one eth-tester deployment per session, rolled back after each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from fedledger.secagg import decode_vector, encode_vector
from fedledger.store import FilesystemBlobStore
from tests.support.audit import (
    AuditWorld,
    Publication,
    RoundRun,
    build_world,
    govern,
    publish_report,
    run_round,
)


@pytest.fixture(scope="session")
def _session_world() -> AuditWorld:
    return build_world()


@pytest.fixture
def world(_session_world: AuditWorld) -> Iterator[AuditWorld]:
    """The session's deployment (no rounds yet), rolled back after the test."""
    snap = _session_world.backend.snapshot()
    models = dict(_session_world.models)
    try:
        yield _session_world
    finally:
        _session_world.backend.revert(snap)
        _session_world.models = models


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    """A fresh filesystem blob store."""
    return FilesystemBlobStore(tmp_path / "blobs", fsync=False)


@dataclass
class Populated:
    """A chain with four rounds (honest, dropout, tampered aggregate, after a governance vote)."""

    world: AuditWorld
    store_dir: Path
    runs: list[RoundRun]
    reports: dict[int, str]
    proposal_id: int


@pytest.fixture(scope="session")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Populated:
    """Built once per session on its own chain; tests must not change it."""
    world = build_world()
    root = tmp_path_factory.mktemp("populated")
    store = FilesystemBlobStore(root / "blobs", fsync=False)

    def bump(pub: Publication) -> Publication:
        agg = np.array(decode_vector(pub.aggregate_blob))
        agg[1] += np.uint32(1)
        pub.aggregate_blob = encode_vector(agg)
        return pub

    runs = [
        run_round(world, store, seed=1),
        run_round(world, store, drop_before_commit=(2,), seed=2),
    ]
    runs.append(run_round(world, store, tamper=bump, seed=3))
    new_config = replace(world.c.params.config(), reward_per_contribution=7 * 10**18)
    pid = govern(world, world.participants[0], new_config, "Lower the reward to 7 FLR", store)
    runs.append(run_round(world, store, seed=4))
    reports = {
        r.round_id: publish_report(store, r.round_id, 0.70 + 0.05 * i) for i, r in enumerate(runs)
    }
    return Populated(world, store.root, runs, reports, pid)
