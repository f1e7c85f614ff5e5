"""RoundCoordinator: the aggregator's round as a passive, persisted state machine.

A transport (the in-process simulation, the FastAPI service) hands it participant messages
and calls `tick()`; the coordinator checks each message, journals it (coordinator.book), and
makes the aggregator's on-chain calls (coordinator.transitions: openRound, postRoster,
finalize / failRound, then slash). All public methods take one lock, so concurrent request
handlers are safe.

Persistence: every accepted message and every transition is a line in
``state_dir/rounds/<round>/journal.jsonl``; a new RoundCoordinator on the same `state_dir`
replays it and carries on. On-chain calls are made idempotent by reading the round's
on-chain stage before sending, so a crash between a transaction and its journal entry
neither loses nor repeats it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import Stage, TxResult
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.coordinator.book import STATE_VERSION, RoundBook
from fedledger.coordinator.chain_calls import ChainCalls
from fedledger.coordinator.publish import ReportIndex, RoundReport
from fedledger.coordinator.round_state import (
    FAILING,
    RoundState,
    add_time,
    info_to_json,
    tx_json,
)
from fedledger.coordinator.spec import StageDurations
from fedledger.coordinator.transitions import BLOB_GRACE, Evaluator, Transitions
from fedledger.encoding import sha256, to_hex
from fedledger.errors import ProtocolError, StoreError
from fedledger.protocol.messages import shares_to_json, unmask_response_to_json
from fedledger.protocol.model import ModelSpec
from fedledger.protocol.receipts import Receipt, issue_receipt, message_digest
from fedledger.protocol.refusals import (
    ConflictingSubmission,
    NotInRoster,
    NotReady,
    NotRegistered,
    UploadQuotaExceeded,
    WrongStage,
)
from fedledger.protocol.status import FAILED, FINALIZED, IDLE, RoundStatus
from fedledger.secagg.constants import ADVERTISE_KEYS, FINALIZE, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.engine import Engine
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    Roster,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
    UnusableKey,
    check_address,
)
from fedledger.secagg.server import AggregationResult
from fedledger.secagg.vectors import npy_header
from fedledger.store.base import BlobStore

__all__ = ["Evaluator", "RoundCoordinator"]


class RoundCoordinator:
    """The aggregator: opens rounds, collects secagg messages, finalizes or fails them on chain."""

    def __init__(
        self,
        *,
        chain: ChainBackend,
        deployment: Deployment,
        aggregator: LocalAccount,
        store: BlobStore,
        state_dir: str | Path,
        model_spec: ModelSpec,
        genesis_model: bytes,
        durations: StageDurations | None = None,
        clock: Callable[[], float] = time.time,
        evaluate: Evaluator | None = None,
        expected_participants: int | None = None,
        fsync: bool = True,
        contracts: Contracts | None = None,
        engine: Engine | None = None,
    ) -> None:
        """Attach to `deployment` and resume whatever `state_dir` holds.

        `genesis_model` is published as a blob; round 1 opens with its hash, later rounds
        with the latest finalized model. `expected_participants` ends the key stage early
        once that many bundles are in (default: the registry's participant count at open).
        `evaluate(model_bytes) -> (accuracy, loss)` feeds the per-round report. `engine`
        runs the unmask step's mask regeneration (default: inline; see secagg.engine).
        """
        self.chain = chain
        self.deployment = deployment
        self.contracts = contracts if contracts is not None else deployment.attach(chain)
        self.aggregator = aggregator
        self.store = store
        self.state_dir = Path(state_dir)
        self.model_spec = model_spec
        self.durations = durations or StageDurations()
        self.clock = clock
        self.evaluate = evaluate
        self.expected_participants = expected_participants
        self.fsync = fsync
        self.chain_id = chain.chain_id
        self.contract = to_checksum_address(self.contracts.round_log.address)
        self.timings: dict[str, float] = {"chain": 0.0, "store": 0.0, "secagg": 0.0}
        self._lock = threading.RLock()
        self.reports = ReportIndex(self.state_dir / "reports.json", fsync=fsync)
        self._calls = ChainCalls(chain, self.contracts, aggregator, self.contract, self.timings)

        self.genesis_model = bytes(genesis_model)
        t0 = time.perf_counter()
        self.genesis_hash = bytes.fromhex(store.put(self.genesis_model))
        add_time(self.timings, "store", t0)
        self._book = RoundBook(
            state_dir=self.state_dir,
            fsync=fsync,
            chain_id=self.chain_id,
            contract=self.contract,
            store=store,
            genesis_model=self.genesis_model,
            genesis_hash=self.genesis_hash,
            timings=self.timings,
            engine=engine,
        )
        self._moves = Transitions(
            self._book,
            self._calls,
            store=store,
            clock=clock,
            durations=self.durations,
            reports=self.reports,
            evaluate=evaluate,
        )
        self._book.check_setup(self._config_json())
        self._book.resume()

    def _config_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "chainId": self.chain_id,
            "roundLog": self.contract,
            "aggregator": self.aggregator.address,
            "model": self.model_spec.to_json(),
            "genesisModelHash": to_hex(self.genesis_hash),
        }

    # -- checks shared by the message handlers -------------------------------------------
    def _require_round(self, stage: str) -> RoundState:
        r = self._book.round
        if r is None:
            raise WrongStage(stage, "round", "no round has been opened")
        return r

    def _expect_stage(self, stage: str) -> RoundState:
        r = self._require_round(stage)
        if r.stage != stage:
            raise WrongStage(
                stage, "stage", f"round {r.round_id} is in stage {r.stage}, not {stage}"
            )
        return r

    def _receipt(self, r: RoundState, stage: str, participant: str, digest: bytes) -> Receipt:
        """The aggregator's signed receipt for an accepted message (docs/protocol.md 8.3)."""
        return issue_receipt(
            self.aggregator,
            chain_id=self.chain_id,
            contract=self.contract,
            round_id=r.round_id,
            stage=stage,
            participant=participant,
            digest=digest,
        )

    @staticmethod
    def _member(r: RoundState, stage: str, address: str) -> str:
        address = check_address(stage, "sender", address)
        if r.roster is None or address not in r.roster:
            raise NotInRoster(
                stage, "sender", f"{address} is not in the roster of round {r.round_id}"
            )
        return address

    # -- public API: rounds ---------------------------------------------------------
    @property
    def round_id(self) -> int:
        """Id of the current (or last) round; 0 before the first."""
        with self._lock:
            r = self._book.round
            return r.round_id if r else 0

    def current_model_hash(self) -> bytes:
        """The model the next round trains: the latest finalized one, or the genesis model."""
        with self._lock:
            latest = self.contracts.round_log.latest_model_hash()
            return self.genesis_hash if latest == bytes(32) else latest

    def open_round(self) -> RoundStatus:
        """Open the next round on chain with the current model; params come from its snapshot."""
        with self._lock:
            r = self._book.round
            if r is not None and r.stage not in (FINALIZED, FAILED):
                raise WrongStage(
                    "setup", "round", f"round {r.round_id} is still in stage {r.stage}"
                )
            model_hash = self.current_model_hash()
            if not self.store.has(model_hash.hex()):
                raise StoreError(
                    f"model {model_hash.hex()} of the next round is not in the blob store"
                )
            round_id, tx = self._open_on_chain(model_hash, r.round_id if r else 0)
            info = self._calls.get_round(round_id)
            expected = self.expected_participants
            if expected is None:
                expected = self.contracts.registry.participant_count()
            self._book.start(round_id)
            entry = {
                "t": "opened",
                "info": info_to_json(info),
                "expected": int(expected),
                "at": self.clock(),
                "tx": tx_json("openRound", tx, self.clock()),
            }
            self._book.commit(entry)
            return self._status()

    def _open_on_chain(self, model_hash: bytes, journaled: int) -> tuple[int, TxResult | None]:
        """openRound (or adopt one mined just before a crash); the round id and its receipt."""
        log, agg = self.contracts.round_log, self.aggregator
        current = self._calls.current_round()
        tx: TxResult | None = None
        round_id = current + 1
        if current > journaled:
            # The chain has a round this state dir never journaled.
            info = self._calls.get_round(current)
            if info.stage == Stage.OPENED and info.model_hash == model_hash:
                round_id = current  # our openRound was mined just before a crash: adopt it
            elif info.stage in (Stage.OPENED, Stage.ROSTERED):
                self._calls.transact(lambda: log.fail_round(current, "abandoned", sender=agg))
        if round_id == current + 1:
            tx = self._calls.transact(lambda: log.open_round(model_hash, sender=agg))
            opened = tx.named("RoundOpened")
            if opened:
                round_id = int(opened[0].args["round"])
        return round_id, tx

    def status(self) -> RoundStatus:
        """The current round's stage, parameters, deadlines and counts."""
        with self._lock:
            return self._status()

    def _status(self) -> RoundStatus:
        r = self._book.round
        if r is None:
            return RoundStatus(
                0, IDLE, self.chain_id, self.contract, model_hash=self.genesis_hash.hex()
            )
        return RoundStatus(
            round_id=r.round_id,
            stage=FAILED if r.stage == FAILING else r.stage,
            chain_id=self.chain_id,
            contract=self.contract,
            model_hash=r.model_hash.hex(),
            seed=r.seed.hex(),
            params=r.params.to_json(),
            min_participants=r.config.min_participants,
            roster_hash=r.roster_hash.hex(),
            roster_posted="postRoster" in r.txs,
            members=len(r.roster) if r.roster else 0,
            counts={
                "bundles": len(r.bundles),
                "sharers": len(r.shares),
                "masked": len(r.masked),
                "unmask": len(r.responses),
            },
            expected=r.expected,
            stage_deadline=self._stage_deadline(r),
            commit_deadline=r.commit_deadline,
            unmask_deadline=r.unmask_deadline,
            waiting_for=self._waiting_for(r),
            new_model_hash=sha256(r.new_model).hex() if r.new_model else "",
            reason=r.reason,
        )

    def _stage_deadline(self, r: RoundState) -> float | None:
        """When the stage closes by the coordinator's clock: an optional off-chain duration, or
        BLOB_GRACE after a committed blob was first seen missing; None when the stage waits
        for its on-chain bound (`commit_deadline`, `unmask_deadline`)."""
        since, duration = {
            ADVERTISE_KEYS: ("opened", self.durations.advertise_keys),
            SHARE_KEYS: ("rostered", self.durations.share_keys),
            UNMASK: (f"closed_{MASKED_INPUT}", self.durations.unmask),
        }.get(r.stage, ("", None))
        if r.stage == MASKED_INPUT and r.missing_blobs:
            # A committed blob that stays missing makes its committer a dropout then.
            return min(seen for _, seen in r.missing_blobs.values()) + BLOB_GRACE
        if duration is None or since not in r.times:
            return None
        return max(r.times[since], self._moves.started) + duration

    @staticmethod
    def _waiting_for(r: RoundState) -> str:
        if r.stage == FINALIZE and r.result is not None:
            return "commit_deadline" if r.blocked else "finalize"
        if r.stage == MASKED_INPUT:
            return "masked_inputs"
        return ""

    # -- public API: stage 1 --------------------------------------------------------
    def submit_keys(self, bundle: KeyBundle) -> Receipt:
        """Accept a signed key bundle from a registered participant (idempotent); a receipt."""
        with self._lock:
            r = self._expect_stage(ADVERTISE_KEYS)
            address = bundle.participant
            digest = message_digest(bundle.to_json())
            previous = r.bundles.get(address)
            if previous is not None:
                if previous == bundle:
                    return self._receipt(r, ADVERTISE_KEYS, address, digest)
                raise ConflictingSubmission(
                    ADVERTISE_KEYS, "participant", f"{address} already advertised other keys"
                )
            if "postCandidates" in r.txs:
                raise WrongStage(
                    ADVERTISE_KEYS, "stage", f"the candidates of round {r.round_id} are fixed"
                )
            try:
                bundle.verify(r.ctx)
                unusable = None
            except UnusableKey as exc:  # the signature held: the fault is the participant's
                unusable = exc
            if address not in r.registered:
                if not self._calls.is_registered(address):
                    raise NotRegistered(
                        ADVERTISE_KEYS, "participant", f"{address} is not a registered participant"
                    )
                r.registered.add(address)
            if unusable is not None:
                # Kept out of the roster, with the reason in the round report (journaled
                # once per registered participant, refused every time).
                if address not in r.excluded:
                    self._book.commit(
                        {"t": "excluded", "participant": address, "reason": unusable.reason}
                    )
                raise unusable
            self._book.commit({"t": "keys", "bundle": bundle.to_json()})
            return self._receipt(r, ADVERTISE_KEYS, address, digest)

    def roster(self) -> Roster:
        """The round's roster (once the key stage closed)."""
        with self._lock:
            r = self._require_round(SHARE_KEYS)
            if r.roster is None:
                raise NotReady(
                    SHARE_KEYS, "roster", f"the roster of round {r.round_id} is not fixed yet"
                )
            return r.roster

    # -- public API: stage 2 --------------------------------------------------------
    def submit_shares(self, message: ShareKeysMessage) -> Receipt:
        """Accept a roster member's encrypted shares, one per neighbour (idempotent); a receipt."""
        with self._lock:
            r = self._expect_stage(SHARE_KEYS)
            sender = self._member(r, SHARE_KEYS, message.sender)
            if "postRoster" not in r.txs:
                raise NotReady(SHARE_KEYS, "roster", "the roster is not on chain yet")
            wire = shares_to_json(message)
            digest = message_digest(wire)
            previous = r.shares.get(sender)
            if previous is not None:
                if previous == digest:  # the same message again (its wire form's digest)
                    return self._receipt(r, SHARE_KEYS, sender, digest)
                raise ConflictingSubmission(
                    SHARE_KEYS, "sender", f"{sender} already sent other shares"
                )
            self._book.commit({"t": "shares", "message": wire})
            return self._receipt(r, SHARE_KEYS, sender, digest)

    def shares_for(self, address: str) -> list[EncryptedShare]:
        """The encrypted shares addressed to `address` (after the share stage closed)."""
        with self._lock:
            r = self._require_round(MASKED_INPUT)
            if r.stage in (ADVERTISE_KEYS, SHARE_KEYS):
                raise NotReady(MASKED_INPUT, "shares", "the share-keys stage has not closed yet")
            address = self._member(r, MASKED_INPUT, address)
            if address not in r.inbox:
                raise NotInRoster(MASKED_INPUT, "sender", f"{address} did not share keys in time")
            return list(r.inbox[address])

    # -- public API: stage 3 --------------------------------------------------------
    def submit_masked(
        self,
        address: str,
        masked_hash: bytes,
        seed_commitment: bytes,
        dropouts: LocalDropouts | None = None,
    ) -> Receipt:
        """Accept a masked input: its blob is in the store and the sender committed to it;
        `dropouts` is the sender's signed report of the neighbours it did not mask with.

        The receipt's digest is the masked hash."""
        with self._lock:
            r = self._expect_stage(MASKED_INPUT)
            address = self._member(r, MASKED_INPUT, address)
            if len(masked_hash) != 32 or len(seed_commitment) != 32:
                raise ProtocolError(
                    MASKED_INPUT, "maskedHash", "masked hash and seed commitment must be 32 bytes"
                )
            previous = r.masked.get(address)
            if previous is not None:
                if previous[:2] == (masked_hash, seed_commitment):
                    return self._receipt(r, MASKED_INPUT, address, masked_hash)
                raise ConflictingSubmission(
                    MASKED_INPUT, "maskedHash", f"{address} already submitted another input"
                )
            if address not in r.inbox:
                raise NotInRoster(MASKED_INPUT, "sender", f"{address} did not share keys in time")
            weight = self._check_commitment(r, address, masked_hash, seed_commitment)
            if dropouts is not None:
                if dropouts.sender != address or dropouts.masked_hash != masked_hash:
                    raise ProtocolError(
                        MASKED_INPUT, "dropouts", "the report is not for this masked input"
                    )
                dropouts.verify(r.server.ctx)
            self._moves.accept_masked(
                r, address, masked_hash, seed_commitment, weight, "participant", dropouts=dropouts
            )
            return self._receipt(r, MASKED_INPUT, address, masked_hash)

    def _check_commitment(
        self, r: RoundState, address: str, masked_hash: bytes, seed_commitment: bytes
    ) -> int:
        """The weight `address` committed on chain with these hashes (ProtocolError if none)."""
        found = self._calls.commitment(r.round_id, address, from_block=int(r.info["openedBlock"]))
        if found is None:
            raise ProtocolError(
                MASKED_INPUT, "commitment", f"{address} has not committed on chain yet"
            )
        if found[:2] != (masked_hash, seed_commitment):
            raise ProtocolError(
                MASKED_INPUT,
                "maskedHash",
                f"does not match the on-chain commitment of {address}",
            )
        return found[2]

    def upload_limit(self, address: str) -> int:
        """Bytes the one blob `address` may upload now: its masked vector, in the masked-input
        stage, as a roster member that shared keys (WrongStage / NotInRoster otherwise)."""
        with self._lock:
            r = self._expect_stage(MASKED_INPUT)
            address = self._member(r, MASKED_INPUT, address)
            if address not in r.inbox:
                raise NotInRoster(MASKED_INPUT, "sender", f"{address} did not share keys in time")
            n = r.server.vector_length
            return len(npy_header(n)) + 4 * n

    def admit_upload(self, address: str, name: str) -> None:
        """Hold `address` to one blob per round: journal its first blob's name (so a restart
        keeps the quota); the same name again is a retry, another raises UploadQuotaExceeded."""
        with self._lock:
            r = self._expect_stage(MASKED_INPUT)
            address = self._member(r, MASKED_INPUT, address)
            held = r.uploads.get(address)
            if held == name:
                return
            if held is not None:
                raise UploadQuotaExceeded(
                    MASKED_INPUT,
                    "blob",
                    f"{address} already uploaded blob {held} in round {r.round_id} "
                    "(one blob per round: the masked vector)",
                )
            self._book.commit({"t": "upload", "sender": address, "blob": name, "at": self.clock()})

    # -- public API: stage 4 --------------------------------------------------------
    def unmask_request_for(self, address: str) -> UnmaskRequest:
        """Whose secrets to reveal (for a survivor, once the masked-input stage closed)."""
        with self._lock:
            r = self._require_round(UNMASK)
            if r.request is None:
                raise NotReady(UNMASK, "request", "the masked-input stage has not closed yet")
            address = self._member(r, UNMASK, address)
            if address not in r.request.survivors:
                raise NotInRoster(
                    UNMASK, "sender", f"{address} is not a survivor of round {r.round_id}"
                )
            return r.request

    def dropout_reports(self) -> list[LocalDropouts]:
        """Every accepted signed local-dropout report of the round (unmask stage on): what
        lets a survivor compute who must be dropped without taking our word for it."""
        with self._lock:
            r = self._require_round(UNMASK)
            if r.request is None:
                raise NotReady(UNMASK, "request", "the masked-input stage has not closed yet")
            return [r.reports[a] for a in sorted(r.reports)]

    def submit_unmask(self, response: UnmaskResponse) -> Receipt:
        """Accept a survivor's unmask shares (idempotent); a receipt."""
        with self._lock:
            r = self._expect_stage(UNMASK)
            sender = self._member(r, UNMASK, response.sender)
            previous = r.responses.get(sender)
            if previous is not None:
                shares_hash, digest = previous
                if shares_hash == response.shares_hash():  # the same shares again
                    return self._receipt(r, UNMASK, sender, digest)
                raise ConflictingSubmission(UNMASK, "sender", f"{sender} already sent other shares")
            wire = unmask_response_to_json(response)
            self._book.commit({"t": "unmask", "message": wire})
            return self._receipt(r, UNMASK, sender, message_digest(wire))

    # -- transitions ----------------------------------------------------------------
    def tick(self) -> RoundStatus:
        """Advance as far as messages, deadlines and chain allow; make the on-chain calls."""
        with self._lock:
            r = self._book.round
            while r is not None and self._moves.step(r):
                pass
            return self._status()

    # -- results for drivers and the HTTP service ------------------------------------------
    def report(self, round_id: int | None = None) -> RoundReport | None:
        """The published report of `round_id` (default: the current round), if it is out."""
        with self._lock:
            rid = round_id if round_id is not None else self.round_id
            name = self.reports.get(rid)
            if name is None:
                return None
            return RoundReport.from_bytes(self.store.get(name))

    def result(self) -> AggregationResult | None:
        """The current round's aggregation result (after unmasking)."""
        with self._lock:
            r = self._book.round
            return r.result if r else None

    def close(self) -> None:
        """Release the journal's file handle."""
        with self._lock:
            self._book.close()
