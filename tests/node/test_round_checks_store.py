"""StoreSource: a node's blob store read for verification tells missing, altered and
unreachable apart (only unreachable means "not verified yet")."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fedledger.node.round_checks import StoreSource
from fedledger.store import FilesystemBlobStore
from fedledger.store.http import HttpBlobStore, blob_router


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FilesystemBlobStore, HttpBlobStore]]:
    fs = FilesystemBlobStore(tmp_path / "blobs", fsync=False)
    app = FastAPI()
    app.include_router(blob_router(fs))
    with TestClient(app) as client:
        yield fs, HttpBlobStore("http://testserver", client=client)


def test_a_served_blob_is_ok_and_an_unknown_one_is_missing(
    served: tuple[FilesystemBlobStore, HttpBlobStore],
) -> None:
    fs, http = served
    name = fs.put(b"model bytes")
    source = StoreSource(http)

    assert source.fetch(name).status == "ok" and source.fetch(name).data == b"model bytes"
    assert source.fetch("11" * 32).status == "missing"


def test_a_copy_altered_on_the_server_is_a_mismatch_not_unreachable(
    served: tuple[FilesystemBlobStore, HttpBlobStore],
) -> None:
    fs, http = served
    name = fs.put(b"aggregate")
    fs.path_for(name).write_bytes(b"tampered")

    assert StoreSource(http).fetch(name).status == "mismatch"


def test_a_store_that_does_not_answer_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with HttpBlobStore(f"http://127.0.0.1:{port}", timeout=2) as http:
        fetch = StoreSource(http).fetch("22" * 32)

    assert fetch.status == "unreachable" and f"127.0.0.1:{port}" in fetch.detail
