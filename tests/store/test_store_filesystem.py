"""Tests for fedledger.store.filesystem and the naming rules in fedledger.store.base."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from fedledger.errors import StoreError
from fedledger.fsutil import TMP_PREFIX
from fedledger.store import (
    BlobIntegrityError,
    BlobNameError,
    BlobNotFoundError,
    BlobStore,
    FilesystemBlobStore,
    validate_name,
)


def test_put_returns_the_sha256_name_and_get_returns_the_bytes(
    fs_store: FilesystemBlobStore,
) -> None:
    data = b"masked vector bytes"
    name = fs_store.put(data)
    assert name == hashlib.sha256(data).hexdigest()
    assert fs_store.get(name) == data
    assert fs_store.has(name)
    assert fs_store.size(name) == len(data)


def test_filesystem_store_satisfies_the_protocol(fs_store: FilesystemBlobStore) -> None:
    assert isinstance(fs_store, BlobStore)


def test_blobs_live_in_fan_out_directories(fs_store: FilesystemBlobStore) -> None:
    name = fs_store.put(b"x")
    assert fs_store.path_for(name) == fs_store.root / name[:2] / name[2:4] / name
    assert fs_store.path_for(name).read_bytes() == b"x"


def test_put_is_idempotent(fs_store: FilesystemBlobStore) -> None:
    first = fs_store.put(b"same")
    mtime = fs_store.path_for(first).stat().st_mtime_ns
    assert fs_store.put(b"same") == first
    assert fs_store.path_for(first).stat().st_mtime_ns == mtime
    assert fs_store.get(first) == b"same"


def test_empty_blob_is_allowed(fs_store: FilesystemBlobStore) -> None:
    assert fs_store.get(fs_store.put(b"")) == b""


def test_unknown_blob_is_not_found(fs_store: FilesystemBlobStore) -> None:
    name = "ab" * 32
    assert not fs_store.has(name)
    with pytest.raises(BlobNotFoundError, match=f"blob {name}: not found"):
        fs_store.get(name)


def test_tampered_file_on_disk_is_detected_naming_the_blob(fs_store: FilesystemBlobStore) -> None:
    name = fs_store.put(b"honest update")
    fs_store.path_for(name).write_bytes(b"forged update")
    with pytest.raises(BlobIntegrityError, match=f"blob {name} .*hashes to"):
        fs_store.get(name)


def test_put_repairs_a_corrupt_copy(fs_store: FilesystemBlobStore) -> None:
    name = fs_store.put(b"payload")
    fs_store.path_for(name).write_bytes(b"garbage")
    assert fs_store.put(b"payload") == name
    assert fs_store.get(name) == b"payload"


def test_put_expected_refuses_bytes_that_do_not_match_the_name(
    fs_store: FilesystemBlobStore,
) -> None:
    name = hashlib.sha256(b"expected").hexdigest()
    with pytest.raises(BlobIntegrityError, match=f"blob {name} .*refused"):
        fs_store.put_expected(name, b"something else")
    assert not fs_store.has(name)
    fs_store.put_expected(name, b"expected")
    assert fs_store.get(name) == b"expected"


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "AB" * 32, "g" * 64, "a" * 63, "a" * 65, "../" + "a" * 61, None, 12],
)
def test_malformed_names_are_rejected(fs_store: FilesystemBlobStore, bad: object) -> None:
    with pytest.raises(BlobNameError, match="64 lowercase hex"):
        validate_name(bad)
    with pytest.raises(BlobNameError):
        fs_store.get(bad)  # type: ignore[arg-type]


def test_failed_write_leaves_no_file_under_the_real_name(
    fs_store: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"a blob that will fail to land"
    name = hashlib.sha256(data).hexdigest()

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StoreError, match=f"blob {name}: cannot write"):
        fs_store.put(data)
    assert not fs_store.has(name)
    leftovers = [p for p in fs_store.root.rglob("*") if p.is_file()]
    assert leftovers == []


def test_partial_temp_file_is_never_visible_as_a_blob(fs_store: FilesystemBlobStore) -> None:
    # A crash after writing part of a temp file leaves only a dot-prefixed temp name.
    name = fs_store.put(b"complete")
    tmp = fs_store.path_for(name).parent / f"{TMP_PREFIX}{name[:16]}-deadbeef"
    tmp.write_bytes(b"compl")
    assert fs_store.get(name) == b"complete"
    blobs = [p for p in fs_store.root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert [p.name for p in blobs] == [name]


def test_root_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_bytes(b"")
    with pytest.raises(StoreError, match="blob store root"):
        FilesystemBlobStore(f)
