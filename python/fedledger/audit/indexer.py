"""Chain indexer: fedledger's events into SQLite, resumable, idempotent, and reorg-aware.

Reorg policy (conservative): only blocks at least `confirmations` below the head are read.
Before every sync the stored hash of the last indexed block is compared with the chain; on a
mismatch the indexer walks back through the blocks it stored until a hash matches, deletes
every event above that block, rebuilds the derived tables from the remaining events, drops
all cached verifications, and reads forward again. Events are the only source of truth;
every other table is a projection of them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from fedledger.audit.projections import TABLES, IndexedEvent, apply_event
from fedledger.chain.abi import decode_log
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DecodedEvent
from fedledger.chain.deploy import Deployment
from fedledger.errors import ChainError

__all__ = ["INDEXED_CONTRACTS", "Indexer", "SyncResult"]

INDEXED_CONTRACTS = ("RoundLog", "ParticipantRegistry", "RewardToken", "RoundParams", "FedGovernor")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, hash TEXT NOT NULL, timestamp INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    block_number INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index INTEGER NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    UNIQUE (tx_hash, log_index)
);
CREATE INDEX IF NOT EXISTS events_block ON events (block_number);
CREATE TABLE IF NOT EXISTS txs (
    tx_hash TEXT PRIMARY KEY, block_number INTEGER NOT NULL, sender TEXT, gas_used INTEGER
);
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY, stage TEXT NOT NULL, model_hash TEXT, seed TEXT, config TEXT,
    opened_block INTEGER, opened_tx TEXT, roster_hash TEXT, members TEXT, roster_tx TEXT,
    commit_deadline INTEGER, unmask_deadline INTEGER, aggregate_hash TEXT, reveal_hash TEXT,
    new_model_hash TEXT, survivors TEXT, closed_block INTEGER, closed_tx TEXT, failure_reason TEXT,
    total_weight INTEGER
);
CREATE TABLE IF NOT EXISTS commitments (
    round INTEGER NOT NULL, participant TEXT NOT NULL, masked_hash TEXT NOT NULL,
    seed_commitment TEXT NOT NULL, block_number INTEGER NOT NULL, tx_hash TEXT NOT NULL,
    weight INTEGER, PRIMARY KEY (round, participant)
);
CREATE TABLE IF NOT EXISTS rewards (
    participant TEXT NOT NULL, round INTEGER NOT NULL, amount TEXT NOT NULL,
    block_number INTEGER NOT NULL, tx_hash TEXT NOT NULL, PRIMARY KEY (participant, round)
);
CREATE TABLE IF NOT EXISTS claims (
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, participant TEXT NOT NULL,
    amount TEXT NOT NULL, block_number INTEGER NOT NULL, PRIMARY KEY (tx_hash, log_index)
);
CREATE TABLE IF NOT EXISTS participants (
    address TEXT PRIMARY KEY, registered INTEGER NOT NULL, registered_block INTEGER,
    deregistered_block INTEGER
);
CREATE TABLE IF NOT EXISTS params_updates (
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, block_number INTEGER NOT NULL,
    config TEXT NOT NULL, PRIMARY KEY (tx_hash, log_index)
);
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY, proposer TEXT, description TEXT, targets TEXT, calldatas TEXT,
    vote_start INTEGER, vote_end INTEGER, created_block INTEGER, tx_hash TEXT,
    status TEXT NOT NULL, eta INTEGER, closed_block INTEGER
);
CREATE TABLE IF NOT EXISTS votes (
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, proposal_id TEXT NOT NULL, voter TEXT,
    support INTEGER, weight TEXT, reason TEXT, block_number INTEGER,
    PRIMARY KEY (tx_hash, log_index)
);
CREATE TABLE IF NOT EXISTS slashes (
    round INTEGER NOT NULL, account TEXT NOT NULL, reason_code INTEGER, evidence_hash TEXT,
    amount TEXT, recipient TEXT, block_number INTEGER, tx_hash TEXT, PRIMARY KEY (round, account)
);
CREATE TABLE IF NOT EXISTS stake_events (
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, account TEXT NOT NULL, kind TEXT NOT NULL,
    amount TEXT NOT NULL, stake TEXT NOT NULL, unlock_at INTEGER, recipient TEXT,
    block_number INTEGER NOT NULL, PRIMARY KEY (tx_hash, log_index)
);
CREATE TABLE IF NOT EXISTS slash_recipients (
    tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL, block_number INTEGER NOT NULL,
    recipient TEXT NOT NULL, PRIMARY KEY (tx_hash, log_index)
);
CREATE TABLE IF NOT EXISTS verifications (
    round INTEGER PRIMARY KEY, ok INTEGER NOT NULL, failed TEXT NOT NULL, report TEXT NOT NULL,
    verified_block INTEGER NOT NULL
);
"""


def _plain(value: Any) -> Any:
    """Event args as JSON values: bytes -> 0x-hex, big ints kept (JSON has no int limit)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class SyncResult(dict[str, int]):
    """Counts of one sync: new events, blocks read, rolled-back blocks."""


class Indexer:
    """Follows one deployment's contracts into an SQLite file (":memory:" works too)."""

    def __init__(
        self,
        backend: ChainBackend,
        deployment: Deployment,
        db_path: str | Path,
        *,
        confirmations: int = 0,
        chunk: int = 2_000,
    ) -> None:
        if confirmations < 0:
            raise ValueError(f"confirmations must be >= 0, got {confirmations}")
        self.backend = backend
        self.deployment = deployment
        self.db_path = str(db_path)
        self.confirmations = confirmations
        self.chunk = chunk
        self._lock = threading.RLock()
        self._addresses: dict[str, str] = {
            to_checksum_address(deployment.addresses[n]): n for n in INDEXED_CONTRACTS
        }
        self.conn = sqlite3.connect(self.db_path, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL") if self.db_path != ":memory:" else None
        self.conn.executescript(_SCHEMA)
        self._check_deployment()

    # -- bookkeeping -----------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _check_deployment(self) -> None:
        """Refuse a database that indexes another deployment."""
        ident = json.dumps(
            {"chainId": self.deployment.chain_id, "roundLog": self.deployment.addresses["RoundLog"]}
        )
        stored = self._meta("deployment")
        if stored is None:
            with self.conn:
                self._set_meta("deployment", ident)
        elif stored != ident:
            raise ChainError(
                f"index database {self.db_path} belongs to another deployment ({stored})"
            )

    @property
    def last_block(self) -> int:
        """The last block fully indexed (deploy block - 1 before the first sync)."""
        value = self._meta("last_block")
        return int(value) if value is not None else self.deployment.deploy_block - 1

    def _block_hash(self, number: int) -> str:
        return "0x" + bytes(self.backend.w3.eth.get_block(number)["hash"]).hex()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self.conn:
            yield self.conn

    # -- reorgs -------------------------------------------------------------------------
    def _common_ancestor(self, head: int) -> int | None:
        """None when the stored chain is still canonical, else the newest block that still is."""
        last = self.last_block
        if last < self.deployment.deploy_block:
            return None
        row = self.conn.execute("SELECT hash FROM blocks WHERE number = ?", (last,)).fetchone()
        if last <= head and row is not None and self._block_hash(last) == row[0]:
            return None
        for number, stored in self.conn.execute(
            "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC",
            (min(last, head),),
        ).fetchall():
            if self._block_hash(number) == stored:
                return int(number)
        return self.deployment.deploy_block - 1

    def _rollback(self, keep: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM events WHERE block_number > ?", (keep,))
            c.execute("DELETE FROM blocks WHERE number > ?", (keep,))
            c.execute("DELETE FROM txs WHERE block_number > ?", (keep,))
            c.execute("DELETE FROM verifications")
            self._set_meta("last_block", str(keep))
            self._rebuild(c)

    def _rebuild(self, c: sqlite3.Connection) -> None:
        for table in TABLES:
            c.execute(f"DELETE FROM {table}")
        for row in c.execute("SELECT * FROM events ORDER BY block_number, log_index").fetchall():
            apply_event(
                c,
                IndexedEvent(
                    row["name"],
                    json.loads(row["args"]),
                    row["block_number"],
                    row["tx_hash"],
                    row["log_index"],
                ),
            )

    # -- sync ---------------------------------------------------------------------------
    def sync(self, *, from_block: int | None = None) -> SyncResult:
        """Read new blocks up to head - confirmations; `from_block` re-reads (idempotently)."""
        with self._lock:
            try:
                head = self.backend.block_number - self.confirmations
            except Exception as exc:
                raise ChainError(f"cannot read the block number: {exc}") from None
            result = SyncResult(events=0, blocks=0, rolled_back=0)
            ancestor = self._common_ancestor(head)
            if ancestor is not None:
                result["rolled_back"] = self.last_block - ancestor
                self._rollback(ancestor)
            start = (
                self.last_block + 1
                if from_block is None
                else max(int(from_block), self.deployment.deploy_block)
            )
            while start <= head:
                end = min(head, start + self.chunk - 1)
                result["events"] += self._read_range(start, end)
                result["blocks"] += end - start + 1
                start = end + 1
            return result

    def _read_range(self, start: int, end: int) -> int:
        try:
            # backend.get_logs: the embedded chain reads its blocks directly (eth-tester's own
            # eth_getLogs is quadratic in the chain's length).
            logs = self.backend.get_logs(list(self._addresses), start, end)
        except Exception as exc:
            raise ChainError(f"eth_getLogs {start}..{end} failed: {exc}") from None
        events = sorted(
            (e for e in map(decode_log, logs) if e is not None),
            key=lambda e: (e.block_number, e.log_index),
        )
        blocks = {e.block_number for e in events} | {end}
        hashes = {n: self._block_hash(n) for n in blocks}
        new = 0
        with self._tx() as c:
            for e in events:
                new += self._insert(c, e)
            c.executemany(
                "INSERT OR REPLACE INTO blocks (number, hash) VALUES (?, ?)", sorted(hashes.items())
            )
            if end > self.last_block:
                self._set_meta("last_block", str(end))
        return new

    def _insert(self, c: sqlite3.Connection, e: DecodedEvent) -> int:
        args = _plain(e.args)
        cur = c.execute(
            "INSERT OR IGNORE INTO events (block_number, tx_hash, log_index, "
            "contract, name, args) VALUES (?, ?, ?, ?, ?, ?)",
            (
                e.block_number,
                e.tx_hash,
                e.log_index,
                self._addresses.get(e.address, e.address),
                e.name,
                json.dumps(args),
            ),
        )
        if cur.rowcount == 0:
            return 0  # already indexed: re-reading a range adds nothing
        if c.execute("SELECT 1 FROM txs WHERE tx_hash = ?", (e.tx_hash,)).fetchone() is None:
            receipt = self.backend.w3.eth.get_transaction_receipt(e.tx_hash)  # type: ignore[arg-type]
            c.execute(
                "INSERT OR REPLACE INTO txs (tx_hash, block_number, sender, "
                "gas_used) VALUES (?, ?, ?, ?)",
                (
                    e.tx_hash,
                    e.block_number,
                    to_checksum_address(receipt["from"]),
                    int(receipt["gasUsed"]),
                ),
            )
        apply_event(c, IndexedEvent(e.name, args, e.block_number, e.tx_hash, e.log_index))
        self._invalidate_touched(c, e.name, args, e.block_number)
        return 1

    @staticmethod
    def _invalidate_touched(
        c: sqlite3.Connection, name: str, a: dict[str, Any], block: int
    ) -> None:
        """Drop the cached verdict of every finished round a later event touches.

        A slash and a reward claim name their round. The service re-verifies rounds without a
        cached report on its next refresh, so the API and the dashboard show the new verdict as
        soon as the event is indexed.
        """
        if name in ("ParticipantSlashed", "RewardClaimed"):
            c.execute("DELETE FROM verifications WHERE round = ?", (a["round"],))

    def set_roster(
        self, round_id: int, members: list[str], survivors: list[str], rewards: dict[str, int]
    ) -> None:
        """Record a round's members (from its roster blob, checked against the on-chain root),
        survivors (committers minus the excluded) and what the reward rule pays each survivor
        (dated by the finalize transaction; claims are indexed from `RewardClaimed`)."""
        with self._lock, self.conn:
            self.conn.execute(
                "UPDATE rounds SET members = ?, survivors = ? WHERE round = ?",
                (json.dumps(members), json.dumps(survivors), round_id),
            )
            row = self.conn.execute(
                "SELECT closed_block, closed_tx FROM rounds WHERE round = ?", (round_id,)
            ).fetchone()
            if row is None or row[0] is None:
                return
            for participant, amount in rewards.items():
                self.conn.execute(
                    "INSERT OR REPLACE INTO rewards VALUES (?, ?, ?, ?, ?)",
                    (participant, round_id, str(amount), row[0], row[1]),
                )

    # -- verification cache -----------------------------------------------------------------
    def cached_verification(self, round_id: int) -> dict[str, Any] | None:
        """The stored audit report of a round, or None."""
        with self._lock:
            row = self.conn.execute(
                "SELECT report FROM verifications WHERE round = ?", (round_id,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def store_verification(self, report: dict[str, Any]) -> None:
        """Cache an audit report (AuditReport.model_dump(mode='json'))."""
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO verifications VALUES (?, ?, ?, ?, ?)",
                (
                    report["round"],
                    int(bool(report["ok"])),
                    json.dumps(report["failed"]),
                    json.dumps(report),
                    report["block"],
                ),
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self.conn.close()
