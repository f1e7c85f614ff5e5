"""fedledger.store: content-addressed blobs (sha256 names), on disk and over HTTP."""

from fedledger.store.base import (
    BlobIntegrityError,
    BlobNameError,
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    blob_name,
    validate_name,
    verify_blob,
)
from fedledger.store.filesystem import FilesystemBlobStore

__all__ = [
    "BlobIntegrityError",
    "BlobNameError",
    "BlobNotFoundError",
    "BlobStore",
    "BlobTooLargeError",
    "FilesystemBlobStore",
    "blob_name",
    "validate_name",
    "verify_blob",
]
