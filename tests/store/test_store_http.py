"""Tests for fedledger.store.http: the FastAPI router and the httpx client."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fedledger.errors import StoreError
from fedledger.store import (
    BlobIntegrityError,
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    FilesystemBlobStore,
)
from fedledger.store.http import HttpBlobStore, blob_router

MAX_BYTES = 4096  # must match the `client` fixture in conftest.py


def _name(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_then_get_over_http(client: TestClient, fs_store: FilesystemBlobStore) -> None:
    data = b"\x00\x01model"
    resp = client.put(f"/blobs/{_name(data)}", content=data)
    assert resp.status_code == 201
    assert resp.json() == {"name": _name(data), "size": len(data), "created": True}
    assert fs_store.get(_name(data)) == data
    got = client.get(f"/blobs/{_name(data)}")
    assert got.status_code == 200 and got.content == data


def test_second_put_of_same_blob_is_200(client: TestClient) -> None:
    data = b"again"
    assert client.put(f"/blobs/{_name(data)}", content=data).status_code == 201
    resp = client.put(f"/blobs/{_name(data)}", content=data)
    assert resp.status_code == 200
    assert resp.json()["created"] is False


def test_put_with_mismatching_body_is_422_with_detail(
    client: TestClient, fs_store: FilesystemBlobStore
) -> None:
    claimed = _name(b"what I promised")
    resp = client.put(f"/blobs/{claimed}", content=b"what I sent")
    assert resp.status_code == 422
    assert f"hashes to {_name(b'what I sent')}" in resp.json()["detail"]
    assert not fs_store.has(claimed)


def test_oversize_put_is_413(client: TestClient, fs_store: FilesystemBlobStore) -> None:
    data = b"x" * (MAX_BYTES + 1)
    resp = client.put(f"/blobs/{_name(data)}", content=data)
    assert resp.status_code == 413
    assert str(MAX_BYTES) in resp.json()["detail"]
    assert not fs_store.has(_name(data))


def test_oversize_chunked_put_without_length_is_413(client: TestClient) -> None:
    data = b"y" * (MAX_BYTES + 10)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    resp = client.put(f"/blobs/{_name(data)}", content=chunks())
    assert resp.status_code == 413


def test_get_unknown_blob_is_404_with_detail(client: TestClient) -> None:
    name = "cd" * 32
    resp = client.get(f"/blobs/{name}")
    assert resp.status_code == 404
    assert resp.json()["detail"] == f"blob {name}: not found"


def test_malformed_name_is_400(client: TestClient) -> None:
    resp = client.get("/blobs/not-a-hash")
    assert resp.status_code == 400
    assert "64 lowercase hex" in resp.json()["detail"]
    assert client.put("/blobs/ABCD", content=b"x").status_code == 400


def test_head_reports_presence_and_size(client: TestClient) -> None:
    data = b"sized"
    client.put(f"/blobs/{_name(data)}", content=data)
    resp = client.head(f"/blobs/{_name(data)}")
    assert resp.status_code == 200
    assert resp.headers["content-length"] == str(len(data))
    assert client.head(f"/blobs/{'ef' * 32}").status_code == 404


def test_corrupt_stored_blob_is_served_as_500_not_as_data(
    client: TestClient, fs_store: FilesystemBlobStore
) -> None:
    name = fs_store.put(b"good")
    fs_store.path_for(name).write_bytes(b"evil")
    resp = client.get(f"/blobs/{name}")
    assert resp.status_code == 500
    assert name in resp.json()["detail"]


def test_http_client_round_trip(http_store: HttpBlobStore) -> None:
    assert isinstance(http_store, BlobStore)
    name = http_store.put(b"roster json")
    assert name == _name(b"roster json")
    assert http_store.has(name)
    assert http_store.get(name) == b"roster json"
    assert not http_store.has("00" * 32)
    with pytest.raises(BlobNotFoundError, match="not found at http://testserver"):
        http_store.get("00" * 32)


def test_http_client_refuses_mismatch_before_uploading(
    http_store: HttpBlobStore, fs_store: FilesystemBlobStore
) -> None:
    name = _name(b"a")
    with pytest.raises(BlobIntegrityError, match="refused before upload"):
        http_store.put_expected(name, b"b")
    assert not fs_store.has(name)


def test_http_client_reports_oversize(http_store: HttpBlobStore) -> None:
    with pytest.raises(BlobTooLargeError, match="too large"):
        http_store.put(b"z" * (MAX_BYTES + 1))


class _LyingStore:
    """A store that serves other bytes than the ones named (a malicious server's backend)."""

    def get(self, name: str) -> bytes:
        return b"substituted"

    def has(self, name: str) -> bool:
        return True

    def put(self, data: bytes) -> str:
        raise NotImplementedError

    def put_expected(self, name: str, data: bytes) -> None:
        raise NotImplementedError


def test_http_client_detects_a_server_serving_wrong_bytes() -> None:
    app = FastAPI()
    app.include_router(blob_router(_LyingStore(), max_bytes=100))  # type: ignore[arg-type]
    with TestClient(app) as c:
        store = HttpBlobStore("http://testserver", client=c)
        name = _name(b"original")
        with pytest.raises(BlobIntegrityError, match=f"blob {name} .*served by"):
            store.get(name)


def test_http_client_rejects_non_http_url() -> None:
    with pytest.raises(StoreError, match="must start with http"):
        HttpBlobStore("ftp://example")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    store = FilesystemBlobStore(tmp_path / "live")
    app = FastAPI()
    app.include_router(blob_router(store, max_bytes=1 << 20))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_real_uvicorn_server_round_trip(live_server: str) -> None:
    data = bytes(range(256)) * 100
    with HttpBlobStore(live_server, timeout=10) as store:
        name = store.put(data)
        assert store.has(name)
        assert store.get(name) == data
        with pytest.raises(BlobNotFoundError):
            store.get("11" * 32)


def test_dead_server_gives_a_store_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with (
        HttpBlobStore(url, timeout=2) as store,
        pytest.raises(StoreError, match=f"GET {url}/blobs/"),
    ):
        store.get("22" * 32)
