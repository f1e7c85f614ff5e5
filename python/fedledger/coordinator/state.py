"""Crash-safe persistence of the coordinator: atomic JSON files and an append-only round journal."""

from __future__ import annotations

import json
import os
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
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        entries: list[dict[str, Any]] = []
        good = 0
        for line in raw.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
            except ValueError:
                break
            if not isinstance(entry, dict):
                raise ConfigError(
                    f"round journal {self.path}: entry {len(entries)} is not an object"
                )
            entries.append(entry)
            good += len(line)
        if good != len(raw):
            with self.path.open("r+b") as fh:
                fh.truncate(good)
        return entries

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
