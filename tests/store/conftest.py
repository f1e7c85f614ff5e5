"""Shared fixtures for store tests: a filesystem store and an HTTP app serving it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fedledger.store import FilesystemBlobStore
from fedledger.store.http import HttpBlobStore, blob_router

MAX_BYTES = 4096  # test_store_http.py relies on this limit


@pytest.fixture
def fs_store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def client(fs_store: FilesystemBlobStore) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(blob_router(fs_store, max_bytes=MAX_BYTES))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def http_store(client: TestClient) -> HttpBlobStore:
    return HttpBlobStore("http://testserver", client=client)
