"""The blob store's optional memory cache: only bytes checked against their name are served."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fedledger.store import BlobIntegrityError, FilesystemBlobStore
from fedledger.store.cache import VerifiedBlobCache


@pytest.fixture
def cached_store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs", fsync=False, cache_bytes=1 << 20)


def test_a_file_tampered_after_its_blob_was_cached_is_never_served(
    cached_store: FilesystemBlobStore,
) -> None:
    data = b"masked vector"
    name = cached_store.put(data)
    cached_store.path_for(name).write_bytes(b"tampered")

    assert cached_store.get(name) == data


def test_a_tampered_file_not_cached_is_still_refused(tmp_path: Path) -> None:
    writer = FilesystemBlobStore(tmp_path / "blobs", fsync=False)
    name = writer.put(b"masked vector")
    writer.path_for(name).write_bytes(b"tampered")
    reader = FilesystemBlobStore(tmp_path / "blobs", fsync=False, cache_bytes=1 << 20)

    with pytest.raises(BlobIntegrityError, match=name):
        reader.get(name)
    with pytest.raises(BlobIntegrityError, match=name):
        reader.get(name)  # the refused bytes were not cached either


def test_put_expected_refuses_wrong_bytes_under_a_cached_name(
    cached_store: FilesystemBlobStore,
) -> None:
    name = cached_store.put(b"the real blob")

    with pytest.raises(BlobIntegrityError):
        cached_store.put_expected(name, b"another blob")
    assert cached_store.get(name) == b"the real blob"


def test_the_cache_refuses_bytes_that_do_not_hash_to_the_name() -> None:
    cache = VerifiedBlobCache(1 << 20)
    name = hashlib.sha256(b"real").hexdigest()

    with pytest.raises(BlobIntegrityError):
        cache.put(name, b"forged")
    assert cache.get(name) is None


def test_the_cache_stays_within_its_byte_bound_dropping_the_least_recently_used() -> None:
    cache = VerifiedBlobCache(16 * 64)  # blobs of up to 64 bytes, 1024 bytes in all
    blobs = [bytes([i]) * 64 for i in range(20)]
    names = [hashlib.sha256(b).hexdigest() for b in blobs]
    for name, blob in zip(names, blobs, strict=True):
        cache.put(name, blob)
        cache.get(names[0])  # keep the first one in use

    assert cache.size <= 1024 and len(cache) == 16
    assert cache.get(names[0]) == blobs[0]
    assert cache.get(names[1]) is None  # the oldest unused went first


def test_blobs_larger_than_a_sixteenth_of_the_bound_are_not_cached() -> None:
    cache = VerifiedBlobCache(16 * 64)
    blob = b"x" * 65
    cache.put(hashlib.sha256(blob).hexdigest(), blob)

    assert len(cache) == 0
