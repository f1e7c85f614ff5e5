"""AuditService: the indexer, the verifier and the read models the auditor API serves."""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from fedledger.audit.blobs import BlobSource, open_blob_source
from fedledger.audit.indexer import Indexer, SyncResult
from fedledger.audit.reports import ReportIndex, report_metrics
from fedledger.audit.transcript import read_chain_round
from fedledger.audit.verify import verify_round_from_chain
from fedledger.chain.backend import ChainBackend
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.chain.rewards import reward_amounts
from fedledger.errors import FedledgerError
from fedledger.secagg.messages import Reveal

__all__ = ["AuditService"]


class AuditService:
    """Everything behind `fedledger audit serve`; safe to share between request threads."""

    def __init__(
        self,
        backend: ChainBackend,
        deployment: Deployment,
        store: str | Path | BlobSource,
        db_path: str | Path,
        *,
        confirmations: int = 0,
        reports: ReportIndex | None = None,
    ) -> None:
        self.backend = backend
        self.deployment = deployment
        self.contracts: Contracts = deployment.attach(backend)
        self.source = store if isinstance(store, BlobSource) else open_blob_source(store)
        self.indexer = Indexer(backend, deployment, db_path, confirmations=confirmations)
        self.reports = dict(reports or {})
        self._lock = threading.RLock()
        self._reveal = lru_cache(maxsize=256)(self._load_reveal)

    # -- refresh ----------------------------------------------------------------------
    def refresh(self) -> SyncResult:
        """Index new blocks, then verify (and cache) every finished round not verified yet."""
        with self._lock:
            result = self.indexer.sync()
            for rid in self.rounds_without_members():
                self.fill_roster(rid)
            for rid in self.unverified_rounds():
                self.verify(rid, refresh=True)
            return result

    def rounds_without_members(self) -> list[int]:
        """Rostered rounds whose members are not known yet (the chain holds only their root)."""
        rows = self.query(
            "SELECT round FROM rounds WHERE roster_hash IS NOT NULL AND (members = '[]' "
            "OR (stage = 'finalized' AND survivors = '[]')) ORDER BY round"
        )
        return [int(r["round"]) for r in rows]

    def fill_roster(self, round_id: int) -> None:
        """Members and survivors of a round from its roster blob (when its tree has the
        on-chain root; left empty otherwise, and the round's audit says why)."""

        def roster_blob(digest: bytes) -> bytes | None:
            fetch = self.source.fetch(digest.hex())
            return fetch.data if fetch.ok else None

        cr = read_chain_round(self.contracts, round_id, slots=False, roster_blob=roster_blob)
        if not cr.members:
            return
        rewards: dict[str, int] = {}
        if cr.finalized is not None:
            committed = cr.commitments  # built once, not per survivor
            weights = {s: committed[s].weight for s in cr.survivors}
            try:
                rewards = reward_amounts(cr.info.config, weights)
            except FedledgerError:
                rewards = {}  # an unknown reward mode: rewards_credited names it
        self.indexer.set_roster(round_id, cr.members, cr.survivors, rewards)

    def unverified_rounds(self) -> list[int]:
        """Finalized or failed rounds with no cached report."""
        rows = self.query(
            "SELECT round FROM rounds WHERE stage IN ('finalized', 'failed') "
            "AND round NOT IN (SELECT round FROM verifications) ORDER BY round"
        )
        return [int(r["round"]) for r in rows]

    def verify(self, round_id: int, *, refresh: bool = False) -> dict[str, Any]:
        """The audit report of a round (cached in the database; `refresh` recomputes it)."""
        with self._lock:
            cached = None if refresh else self.indexer.cached_verification(round_id)
            if cached is not None:
                return cached
            report = verify_round_from_chain(
                self.backend, self.deployment, self.source, round_id, contracts=self.contracts
            ).model_dump(mode="json")
            if report["stage"] in ("finalized", "failed"):
                self.indexer.store_verification(report)
            return report

    # -- reads ---------------------------------------------------------------------------
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts."""
        with self.indexer._lock:
            return [dict(r) for r in self.indexer.conn.execute(sql, params).fetchall()]

    def gas_of(self, tx_hashes: list[str | None]) -> dict[str, int]:
        """gasUsed per transaction hash (those indexed)."""
        wanted = [t for t in tx_hashes if t]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self.query(
            f"SELECT tx_hash, gas_used FROM txs WHERE tx_hash IN ({marks})", tuple(wanted)
        )
        return {r["tx_hash"]: int(r["gas_used"]) for r in rows}

    def _load_reveal(self, name: str) -> Reveal | None:
        fetch = self.source.fetch(name)
        if not fetch.ok or fetch.data is None:
            return None
        try:
            return Reveal.from_bytes(fetch.data)
        except FedledgerError:
            return None

    def reveal(self, reveal_hash: str | None) -> Reveal | None:
        """The parsed reveal blob of a round (None when missing, altered or malformed)."""
        if not reveal_hash or int(reveal_hash, 16) == 0:
            return None
        return self._reveal(reveal_hash.removeprefix("0x"))

    def metrics(self, round_id: int) -> dict[str, float | None]:
        """Aggregator-reported accuracy/loss of a round ({} when no report is known)."""
        name = self.reports.get(round_id)
        return report_metrics(self.source, name) if name else {}

    def slashes(
        self, *, round_id: int | None = None, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Indexed ParticipantSlashed events (newest first), optionally of one round or account."""
        where: list[str] = []
        params: list[Any] = []
        if round_id is not None:
            where.append("round = ?")
            params.append(round_id)
        if account is not None:
            where.append("account = ?")
            params.append(account)
        sql = "SELECT * FROM slashes" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.query(sql + " ORDER BY block_number DESC, round DESC", tuple(params))
        return [
            {
                **r,
                "reason": SLASH_REASONS.get(int(r["reason_code"]), "unknown"),
            }
            for r in rows
        ]

    def stake_state(self, account: str) -> dict[str, Any]:
        """Current stake, unlock time and slashed total of `account`, and its stake events."""
        events = self.query(
            "SELECT * FROM stake_events WHERE account = ? ORDER BY block_number, log_index",
            (account,),
        )
        stake, unlock_at, slashed = 0, None, 0
        for e in events:
            stake = int(e["stake"])
            if e["kind"] == "unstake_requested":
                unlock_at = e["unlock_at"]
            elif e["kind"] in ("withdrawn", "staked"):
                unlock_at = None
            elif e["kind"] == "slashed":
                slashed += int(e["amount"])
        return {
            "stake": str(stake),
            "unlock_at": unlock_at,
            "slashed_total": str(slashed),
            "events": events,
        }

    def current_params(self) -> dict[str, int]:
        """The configuration new rounds will snapshot (live read of RoundParams)."""
        with self._lock:  # eth-tester is not thread-safe; one chain read at a time
            return self.contracts.params.config().to_json()

    def privacy(self) -> dict[str, int]:
        """DP parameters in force and the epsilon spent so far (live reads, millionths)."""
        with self._lock:
            config = self.contracts.params.config()
            spent = self.contracts.round_log.epsilon_spent_micros()
        return {
            "dp_mode": config.dp_mode,
            "noise_multiplier_millis": config.noise_multiplier_millis,
            "dp_clip_norm_micros": config.dp_clip_norm_micros,
            "dp_delta_atto": config.dp_delta_atto,
            "epsilon_cost_micros": config.epsilon_cost_micros,
            "epsilon_budget_micros": config.epsilon_budget_micros,
            "epsilon_spent_micros": spent,
        }

    def proposal_state(self, proposal_id: str) -> str | None:
        """Live Governor state of a proposal, lower case (None if the node cannot say)."""
        try:
            with self._lock:
                return self.contracts.governor.state(int(proposal_id)).name.lower()
        except FedledgerError:
            return None

    def close(self) -> None:
        """Release the database and the blob source."""
        self.indexer.close()
        self.source.close()


SLASH_REASONS = {1: "no_unmask_response", 2: "bad_share"}
"""RoundLog reason codes by name (chain.SlashReason)."""


def decode_json(value: str | None, default: Any) -> Any:
    """A JSON column (None -> default)."""
    return default if value is None else json.loads(value)
