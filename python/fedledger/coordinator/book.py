"""RoundBook: the current round's state and its journal, changed only by applying journal entries.

Every accepted message and every transition is an entry: it is applied to the in-memory
`RoundState` first (so a bad one raises before anything is written), then appended to
``state_dir/rounds/<round>/journal.jsonl``. A new book on the same state dir replays the
last round's journal and carries on. The round's relayed shares and unmask responses are
spooled next to it (coordinator.spool, rebuilt from the journal on replay), so memory holds
only O(n) small state per round.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fedledger.chain.cohort import cohort_sample
from fedledger.chain.datatypes import RoundConfig
from fedledger.coordinator.round_state import FAILING, RoundState, add_time
from fedledger.coordinator.spool import ShareSpool
from fedledger.coordinator.state import RoundJournal, atomic_write_json, read_json
from fedledger.encoding import from_hex
from fedledger.errors import ConfigError
from fedledger.protocol.messages import (
    local_dropouts_from_json,
    shares_from_json,
    unmask_response_from_json,
)
from fedledger.protocol.receipts import message_digest
from fedledger.protocol.status import FAILED, FINALIZED
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.constants import ADVERTISE_KEYS, FINALIZE, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.engine import Engine
from fedledger.secagg.messages import KeyBundle
from fedledger.secagg.params import RoundContext
from fedledger.secagg.server import SecAggServer
from fedledger.store.base import BlobStore

__all__ = ["STATE_VERSION", "RoundBook"]

STATE_VERSION = 1
_SETUP_KEYS = ("version", "chainId", "roundLog", "aggregator", "model", "genesisModelHash")


class RoundBook:
    """Owns the current RoundState and its journal; `commit(entry)` is the one way to change it."""

    def __init__(
        self,
        *,
        state_dir: Path,
        fsync: bool,
        chain_id: int,
        contract: str,
        store: BlobStore,
        genesis_model: bytes,
        genesis_hash: bytes,
        timings: dict[str, float],
        engine: Engine | None = None,
    ) -> None:
        """`chain_id` and `contract` (RoundLog) bind every round's RoundContext.

        A round's server keeps only the running sum of the masked vectors; it reads a vector
        back from `store` when it must take one out. A restart loses nothing: replaying the
        journal's "masked" entries re-reads each accepted blob and rebuilds the sum.
        """
        self.state_dir = state_dir
        self.fsync = fsync
        self.chain_id = chain_id
        self.contract = contract
        self.store = store
        self.genesis_model = genesis_model
        self.genesis_hash = genesis_hash
        self.timings = timings
        self.engine = engine
        self.round: RoundState | None = None
        self.journal: RoundJournal | None = None
        self.spool: ShareSpool | None = None

    # -- the state dir ----------------------------------------------------------------
    def check_setup(self, mine: dict[str, Any]) -> None:
        """Refuse a state dir written for another set-up; claim a fresh one."""
        path = self.state_dir / "coordinator.json"
        if not path.exists():
            atomic_write_json(path, mine, fsync=self.fsync)
            return
        saved = read_json(path, what="coordinator state")
        for key in _SETUP_KEYS:
            if saved.get(key) != mine[key]:
                raise ConfigError(
                    f"state dir {self.state_dir} belongs to another set-up: {key} is "
                    f"{saved.get(key)!r} there, {mine[key]!r} here"
                )

    def round_dir(self, round_id: int) -> Path:
        """Where round `round_id` keeps its journal."""
        return self.state_dir / "rounds" / f"{round_id:06d}"

    def resume(self) -> None:
        """Replay the journal of the latest round in the state dir, if any."""
        rounds_dir = self.state_dir / "rounds"
        ids = (
            sorted(int(p.name) for p in rounds_dir.iterdir() if p.name.isdigit())
            if rounds_dir.exists()
            else []
        )
        if not ids:
            return
        journal = RoundJournal(self.round_dir(ids[-1]) / "journal.jsonl", fsync=self.fsync)
        replayed = False
        for entry in journal.entries():
            self.apply(entry)
            replayed = True
        if replayed:
            self.journal = journal

    def start(self, round_id: int) -> None:
        """Switch to a new journal for `round_id` (its first entry is "opened"); the previous
        round's spool is deleted (its reveal is published, its journal kept)."""
        if self.journal is not None:
            self.journal.close()
        if self.spool is not None:
            self.spool.close(remove=True)
            self.spool = None
        self.journal = RoundJournal(self.round_dir(round_id) / "journal.jsonl", fsync=self.fsync)

    def close(self) -> None:
        """Release the journal's and the spool's file handles."""
        if self.journal is not None:
            self.journal.close()
        if self.spool is not None:
            self.spool.close()

    # -- the single mutation path -------------------------------------------------------
    def commit(self, entry: dict[str, Any]) -> None:
        """Apply then journal: nothing is acknowledged or sent on chain before it is on disk."""
        self.apply(entry)
        self.record(entry)

    def record(self, entry: dict[str, Any]) -> None:
        """Append an entry that was already applied."""
        assert self.journal is not None
        self.journal.append(entry)

    def apply(self, e: dict[str, Any]) -> None:
        """Change the in-memory state by one journal entry (replay and live alike)."""
        kind = e["t"]
        if kind == "opened":
            self._apply_opened(e)
            return
        r = self.round
        assert r is not None, f"journal entry {kind} before the round was opened"
        t0 = time.perf_counter()
        if kind in ("keys", "shares", "masked", "unmask"):
            self._apply_message(r, kind, e)
        elif kind == "close":
            self._apply_close(r, e["stage"])
            r.times[f"closed_{e['stage']}"] = e["at"]
        elif kind == "bad_commit":
            r.bad_commits[e["sender"]] = e["reason"]
            r.missing_blobs.pop(e["sender"], None)
        elif kind == "abort":
            r.stage, r.abort_stage, r.reason, r.detail = (
                FAILING,
                e["stage"],
                e["reason"],
                e["detail"],
            )
            r.times["aborted"] = e["at"]
        elif kind == "tx":
            self._apply_tx(r, e)
        elif kind == "upload":
            r.uploads[e["sender"]] = e["blob"]
        elif kind == "excluded":
            r.excluded[e["participant"]] = e["reason"]
        elif kind == "slash":
            r.slashes[e["account"]] = e
        elif kind == "report":
            r.report_hash = e["hash"]
        else:
            raise ConfigError(f"round journal: unknown entry type {kind!r}")
        add_time(self.timings, "secagg", t0)

    def _apply_message(self, r: RoundState, kind: str, e: dict[str, Any]) -> None:
        if kind == "keys":
            bundle = KeyBundle.from_json(e["bundle"])
            r.server.add_bundle(bundle)
            r.bundles[bundle.participant] = bundle
        elif kind == "shares":
            msg = shares_from_json(e["message"])
            r.server.add_shares(msg)
            r.shares[msg.sender] = message_digest(e["message"])
        elif kind == "masked":
            masked_hash = from_hex(e["maskedHash"], length=32)
            seed_c = from_hex(e["seedCommitment"], length=32)
            blob = self.store.get(masked_hash.hex())
            raw = e.get("dropouts")
            report = None if raw is None else local_dropouts_from_json(raw)
            weight = int(e["weight"])
            r.server.add_masked_input(
                e["sender"], blob, Commitment(masked_hash, seed_c, weight), dropouts=report
            )
            if report is not None:
                r.reports[report.sender] = report
            r.masked[e["sender"]] = (masked_hash, seed_c, e.get("source", "participant"))
        else:
            resp = unmask_response_from_json(e["message"])
            r.server.add_unmask(resp)
            r.responses[resp.sender] = (resp.shares_hash(), message_digest(e["message"]))

    def _apply_opened(self, e: dict[str, Any]) -> None:
        info = e["info"]
        config = RoundConfig(**info["config"])
        params = config.secagg_params()
        round_id = int(info["round"])
        ctx = RoundContext(self.chain_id, self.contract, round_id)
        seed = from_hex(info["seed"], length=32)
        if self.spool is not None:
            self.spool.close()
        # Empty whether live or replaying: the journal's messages refill it.
        self.spool = ShareSpool(self.round_dir(round_id))
        server = SecAggServer(
            ctx,
            params,
            seed=seed,
            vector_length=self._vector_length(),
            min_survivors=config.min_survivors,
            blobs=lambda digest: self.store.get(digest.hex()),
            engine=self.engine,
            holdings=self.spool,
        )
        self.round = RoundState(
            round_id=round_id,
            ctx=ctx,
            config=config,
            params=params,
            info=info,
            model_hash=from_hex(info["modelHash"], length=32),
            seed=seed,
            expected=int(e["expected"]),
            server=server,
            commit_deadline=int(info["commitDeadline"]),
            unmask_deadline=int(info["unmaskDeadline"]),
        )
        self.round.times["opened"] = e["at"]
        self.round.txs["openRound"] = e["tx"]

    def _apply_close(self, r: RoundState, stage: str) -> None:
        if stage == ADVERTISE_KEYS:
            if r.sample_seed is None:
                r.roster = r.server.close_advertise_keys()
            else:  # the chain's sample of the candidates (docs/protocol.md 2.3)
                keep = cohort_sample(r.bundles, r.sample_seed, r.config.cohort_size)
                r.roster = r.server.close_advertise_keys(keep)
            r.roster_hash = r.roster.hash()
            r.stage = SHARE_KEYS
        elif stage == SHARE_KEYS:
            r.inbox = r.server.close_share_keys()
            r.stage = MASKED_INPUT
        elif stage == MASKED_INPUT:
            r.request = r.server.close_masked_input()
            r.stage = UNMASK
        elif stage == UNMASK:
            from fedledger.fl.serialization import apply_aggregate

            r.result = r.server.close_unmask()
            old_model = self.model_bytes(r.model_hash)
            r.new_model = apply_aggregate(old_model, r.result.decoded)
            r.stage = FINALIZE
        else:
            raise ConfigError(f"round journal: cannot close stage {stage!r}")

    @staticmethod
    def _apply_tx(r: RoundState, e: dict[str, Any]) -> None:
        r.txs[e["call"]] = e
        if e["call"] == "postCandidates":
            r.sample_seed = from_hex(e["sampleSeed"], length=32)
        elif e["call"] == "postRoster":
            r.commit_deadline = int(e["commitDeadline"])
            r.unmask_deadline = int(e["unmaskDeadline"])
            r.times["rostered"] = e["at"]
        elif e["call"] == "finalize":
            r.stage, r.outcome = FINALIZED, FINALIZED
            r.times["done"] = e["at"]
        elif e["call"] == "failRound":
            r.stage, r.outcome = FAILED, FAILED
            r.times["done"] = e["at"]

    def _vector_length(self) -> int:
        from fedledger.fl.serialization import model_size

        return model_size(self.genesis_model) + 1

    def model_bytes(self, model_hash: bytes) -> bytes:
        """The model with this hash: the genesis model, or a finalized one from the store."""
        if model_hash == self.genesis_hash:
            return self.genesis_model
        t0 = time.perf_counter()
        try:
            return self.store.get(model_hash.hex())
        finally:
            add_time(self.timings, "store", t0)
