"""Crash-safe persistence of the coordinator: atomic JSON files and an append-only round journal."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from fedledger.encoding import canonical_json
from fedledger.errors import ConfigError
from fedledger.fsutil import atomic_write_bytes

__all__ = ["RoundJournal", "atomic_write_bytes", "atomic_write_json", "read_json"]


def atomic_write_json(path: Path, obj: Any, *, fsync: bool = True) -> None:
    """Write `obj` as canonical JSON (plus a newline) atomically."""
    atomic_write_bytes(path, canonical_json(obj) + b"\n", fsync=fsync)


def read_json(path: Path, *, what: str) -> Any:
    """Parse a JSON file, naming `what` and the path when it is unreadable."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{what}: {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{what}: {path} is not readable JSON ({exc})") from None


class RoundJournal:
    """One round's history as JSON lines; every accepted message and transition is one entry.

    An entry is durable once `append` returns (with `fsync`). A torn last line (a crash in
    the middle of a write) is dropped on read and truncated away, since the sender was never
    told its message was accepted and will send it again.
    """

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO | None = None

    def read(self) -> list[dict[str, Any]]:
        """Every complete entry in order (and cut off a torn tail)."""
        return list(self.entries())

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every complete entry in order, read line by line (a large round's journal is never
        whole in memory on replay); a torn tail is cut off once the good entries are read."""
        if not self.path.exists():
            return
        good = count = 0
        with self.path.open("rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break
                try:
                    entry = json.loads(line)
                except ValueError:
                    break
                if not isinstance(entry, dict):
                    raise ConfigError(f"round journal {self.path}: entry {count} is not an object")
                count += 1
                good += len(line)
                yield entry
            size = fh.seek(0, 2)
        if good != size:
            with self.path.open("r+b") as fh:
                fh.truncate(good)

    def append(self, entry: dict[str, Any]) -> None:
        """Add one entry (one line of canonical JSON)."""
        if self._fh is None:
            self._fh = self.path.open("ab")
        self._fh.write(canonical_json(entry) + b"\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file handle (reopened on the next append)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
