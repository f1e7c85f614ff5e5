"""A round's relayed shares and unmask responses on disk (sqlite): secagg Holdings off the heap.

The spool is derived data: every row comes from an accepted message that is also in the
round's journal, which stays the source of truth. It is created empty whenever the round's
"opened" entry is applied, live or on replay, so a restart rebuilds it from the journal and a
spool left half-written by a crash is never read. Each message is written in one
transaction, so a message refused while being written leaves no rows behind.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedledger.encoding import canonical_json
from fedledger.errors import StoreError
from fedledger.protocol.messages import share_from_json, share_to_json
from fedledger.secagg.holdings import held_entries
from fedledger.secagg.messages import EncryptedShare, ShareKeysMessage, UnmaskResponse

__all__ = ["SPOOL_NAME", "ShareSpool"]

SPOOL_NAME = "spool.sqlite"
REVEAL_NAME = "reveal.json"

_SCHEMA = """
CREATE TABLE shares (seq INTEGER PRIMARY KEY, recipient TEXT NOT NULL, wire TEXT NOT NULL);
CREATE INDEX shares_by_recipient ON shares (recipient, seq);
CREATE TABLE responses (responder TEXT PRIMARY KEY, wire TEXT NOT NULL);
CREATE TABLE held (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL,
    responder TEXT NOT NULL, share BLOB NOT NULL
);
CREATE INDEX held_by_owner ON held (kind, owner, seq);
"""


class ShareSpool:
    """secagg Holdings in one sqlite file per round (`rounds/<round>/spool.sqlite`).

    In memory it keeps nothing per message: the server keeps the O(n) sets of who shared
    and who answered, the spool the O(n k) shares. Calls come under the coordinator's lock
    from request threads, hence one connection shared across threads with its own lock.
    """

    def __init__(self, directory: Path) -> None:
        """Start an empty spool in `directory` (any spool or reveal file there is discarded)."""
        self.directory = directory
        self.path = directory / SPOOL_NAME
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name in (SPOOL_NAME, SPOOL_NAME + "-journal", REVEAL_NAME):
                (directory / name).unlink(missing_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # Derived data, rebuilt on resume: no need to survive a crash, only to roll back.
            self._db.execute("PRAGMA journal_mode=MEMORY")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"share spool {self.path}: cannot create it ({exc})") from None
        self._lock = threading.Lock()

    def close(self, *, remove: bool = False) -> None:
        """Close the file; `remove` also deletes it and the streamed reveal."""
        with self._lock:
            self._db.close()
        if remove:
            for name in (SPOOL_NAME, SPOOL_NAME + "-journal", REVEAL_NAME):
                (self.directory / name).unlink(missing_ok=True)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One message's rows, all or none (a failed write leaves no rows behind)."""
        with self._lock:
            try:
                self._db.execute("BEGIN")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"share spool {self.path}: write failed ({exc})") from None

    # -- stage 2 ------------------------------------------------------------------------
    def add_shares(self, message: ShareKeysMessage) -> None:
        """One row per (recipient, sender): the share's wire form."""
        rows: list[tuple[object, ...]] = [
            (s.recipient, canonical_json(share_to_json(s)).decode()) for s in message.shares
        ]
        with self._transaction() as db:
            db.executemany("INSERT INTO shares (recipient, wire) VALUES (?, ?)", rows)

    def inbox(self, recipient: str) -> list[EncryptedShare]:
        """The shares addressed to `recipient`, in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT wire FROM shares WHERE recipient = ? ORDER BY seq", (recipient,)
            ).fetchall()
        return [share_from_json(json.loads(w)) for (w,) in rows]

    # -- stage 4 ------------------------------------------------------------------------
    def add_response(self, response: UnmaskResponse) -> None:
        """The response's reveal form, and one row per share indexed by (kind, owner)."""
        sender = response.sender
        wire = canonical_json(response.to_json()).decode()
        held = [(k, owner, sender, raw) for k, owner, raw in held_entries(response)]
        with self._transaction() as db:
            db.execute("INSERT INTO responses VALUES (?, ?)", (sender, wire))
            db.executemany(
                "INSERT INTO held (kind, owner, responder, share) VALUES (?, ?, ?, ?)", held
            )

    def held(self, kind: str, owner: str) -> list[tuple[str, bytes]]:
        """(responder, raw share) of `owner`'s secret `kind`, in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT responder, share FROM held WHERE kind = ? AND owner = ? ORDER BY seq",
                (kind, owner),
            ).fetchall()
        return [(r, bytes(raw)) for r, raw in rows]

    def response(self, responder: str) -> UnmaskResponse:
        """The kept response of `responder` (KeyError if none)."""
        return UnmaskResponse.from_json(responder, json.loads(self.response_json(responder)))

    def response_json(self, responder: str) -> bytes:
        """Canonical JSON of the kept response's reveal form, as stored."""
        with self._lock:
            row = self._db.execute(
                "SELECT wire FROM responses WHERE responder = ?", (responder,)
            ).fetchone()
        if row is None:
            raise KeyError(responder)
        return str(row[0]).encode()

    def reveal_path(self) -> Path:
        """Where the round's reveal blob is streamed to (next to the spool)."""
        return self.directory / REVEAL_NAME
