"""Audit fixtures: one eth-tester deployment per session, rolled back after each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # audit_helpers, whichever way pytest is started
from audit_helpers import AuditWorld, build_world

from fedledger.store import FilesystemBlobStore


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
