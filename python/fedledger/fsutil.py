"""Crash-safe file writes shared by the blob store and the coordinator's state."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["TMP_PREFIX", "atomic_write_bytes", "fsync_dir"]

# Temporary files start with this prefix, so they can never be mistaken for a blob name
# or a state file.
TMP_PREFIX = ".tmp-"


def fsync_dir(directory: Path) -> None:
    """Persist a rename by fsyncing its directory (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace `path` with `data` atomically (temp file + rename): readers never see half a file.

    With `fsync`, the data and the rename are on disk when this returns, so a crash
    leaves either the old file or the new one, never a torn or missing one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name[:16]}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(path.parent)
