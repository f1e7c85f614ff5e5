"""RoundCoordinator: the aggregator's round as a passive, persisted state machine.

A transport (the in-process simulation, the FastAPI service) hands it participant messages
and calls `tick()`; the coordinator checks each message, journals it, and makes the
aggregator's on-chain calls (openRound, postRoster, finalize / failRound, then slash). All
public methods take one lock, so concurrent request handlers are safe.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import RoundInfo, Stage, TxResult
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.chain.events import fetch_events
from fedledger.chain.round_log import SlashReason, commitment_slot, is_roster_marker
from fedledger.coordinator import wire
from fedledger.coordinator.publish import ReportIndex, RoundReport, build_report
from fedledger.coordinator.spec import ModelSpec, StageDurations, secagg_params
from fedledger.coordinator.state import RoundJournal, atomic_write_json, read_json
from fedledger.encoding import from_hex, sha256, to_hex
from fedledger.errors import ConfigError, ContractRevert, ProtocolError, StoreError
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.constants import ADVERTISE_KEYS, FINALIZE, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    Roster,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
    check_address,
)
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.server import AggregationResult, RoundAborted, SecAggServer
from fedledger.store.base import BlobStore

__all__ = [
    "FAILED",
    "FINALIZED",
    "IDLE",
    "STAGES",
    "ConflictingSubmission",
    "NotInRoster",
    "NotReady",
    "NotRegistered",
    "RoundCoordinator",
    "RoundStatus",
    "WrongStage",
    "matches_commitment",
    "slash_plan",
]

IDLE = "idle"
FINALIZED = "finalized"
FAILED = "failed"
# Coordinator stages in order; FINALIZE means "unmasked, waiting to finalize on chain".
STAGES = (IDLE, ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK, FINALIZE, FINALIZED, FAILED)
_FAILING = "failing"  # aborted off chain, failRound not yet mined
STATE_VERSION = 1
Evaluator = Callable[[bytes], tuple[float, float]]


class WrongStage(ProtocolError):
    """The message belongs to another stage than the one the round is in."""


class NotRegistered(ProtocolError):
    """The sender is not in the on-chain ParticipantRegistry."""


class NotInRoster(ProtocolError):
    """The sender is not a member of this round's roster (or of the set the stage needs)."""


class ConflictingSubmission(ProtocolError):
    """A second, different message from the same sender for the same stage."""


class NotReady(ProtocolError):
    """What was asked for does not exist yet (e.g. shares before the share stage closed)."""


@dataclass(frozen=True)
class RoundStatus:
    """What a participant (or dashboard) needs to know about the current round."""

    round_id: int
    stage: str
    chain_id: int
    contract: str
    model_hash: str = ""
    seed: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    min_participants: int = 0
    roster_hash: str = ""
    roster_posted: bool = False
    members: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    expected: int = 0
    stage_deadline: float | None = None
    """Off-chain deadline of the current stage (coordinator clock), None when it is on chain."""
    commit_deadline: int = 0
    unmask_deadline: int = 0
    """On-chain deadlines (block timestamps)."""
    waiting_for: str = ""
    new_model_hash: str = ""
    reason: str = ""

    @property
    def done(self) -> bool:
        """The round is over (finalized or failed) or none was opened."""
        return self.stage in (IDLE, FINALIZED, FAILED)

    def to_json(self) -> dict[str, Any]:
        """JSON object (camelCase keys)."""
        return {
            "round": self.round_id,
            "stage": self.stage,
            "chainId": self.chain_id,
            "contract": self.contract,
            "modelHash": self.model_hash,
            "seed": self.seed,
            "params": self.params,
            "minParticipants": self.min_participants,
            "rosterHash": self.roster_hash,
            "rosterPosted": self.roster_posted,
            "members": self.members,
            "counts": self.counts,
            "expected": self.expected,
            "stageDeadline": self.stage_deadline,
            "commitDeadline": self.commit_deadline,
            "unmaskDeadline": self.unmask_deadline,
            "waitingFor": self.waiting_for,
            "newModelHash": self.new_model_hash,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RoundStatus:
        """The inverse of `to_json` (a node rebuilds the status from GET /v1/round)."""
        return cls(
            round_id=int(obj["round"]),
            stage=str(obj["stage"]),
            chain_id=int(obj["chainId"]),
            contract=str(obj["contract"]),
            model_hash=obj.get("modelHash", ""),
            seed=obj.get("seed", ""),
            params=dict(obj.get("params") or {}),
            min_participants=int(obj.get("minParticipants", 0)),
            roster_hash=obj.get("rosterHash", ""),
            roster_posted=bool(obj.get("rosterPosted", False)),
            members=int(obj.get("members", 0)),
            counts=dict(obj.get("counts") or {}),
            expected=int(obj.get("expected", 0)),
            stage_deadline=obj.get("stageDeadline"),
            commit_deadline=int(obj.get("commitDeadline", 0)),
            unmask_deadline=int(obj.get("unmaskDeadline", 0)),
            waiting_for=obj.get("waitingFor", ""),
            new_model_hash=obj.get("newModelHash", ""),
            reason=obj.get("reason", ""),
        )


def matches_commitment(slot: bytes, masked_hash: bytes, seed_commitment: bytes) -> bool:
    """Whether an on-chain commitment slot holds these two hashes (whatever weight it carries)."""
    weight = int.from_bytes(slot[28:], "big")
    try:
        return bool(slot == commitment_slot(masked_hash, seed_commitment, weight=weight))
    except ValueError:
        return False


def slash_plan(result: AggregationResult) -> list[tuple[str, SlashReason]]:
    """Who to slash after a finalized round, in roster order, and why.

    NO_UNMASK_RESPONSE: a survivor whose shares were needed (a neighbour's secret was
    reconstructed, `AggregationResult.unmask_needed`) but whose response was not accepted.
    BAD_SHARE: every responder blamed for a share off its owner's polynomial (`cheaters`).
    """
    answered = set(result.responders)
    out = [(u, SlashReason.NO_UNMASK_RESPONSE) for u in result.unmask_needed if u not in answered]
    out += [(a, SlashReason.BAD_SHARE) for a in result.responders if a in result.cheaters]
    return out


def _info_to_json(info: RoundInfo) -> dict[str, Any]:
    return {
        "round": info.round,
        "modelHash": to_hex(info.model_hash),
        "seed": to_hex(info.seed),
        "config": info.config.to_json(),
        "openedBlock": info.opened_block,
        "commitDeadline": info.commit_deadline,
        "unmaskDeadline": info.unmask_deadline,
    }


def _tx_json(call: str, tx: TxResult | None, at: float) -> dict[str, Any]:
    if tx is None:  # found already mined after a restart: the receipt is not ours to know
        return {"t": "tx", "call": call, "gas": None, "hash": None, "block": None, "at": at}
    return {
        "t": "tx",
        "call": call,
        "gas": tx.gas_used,
        "hash": tx.tx_hash,
        "block": tx.block_number,
        "at": at,
    }


@dataclass
class _Round:
    """In-memory state of one round, rebuilt from its journal."""

    round_id: int
    ctx: RoundContext
    params: SecAggParams
    info: dict[str, Any]
    model_hash: bytes
    seed: bytes
    min_participants: int
    expected: int
    server: SecAggServer
    stage: str = ADVERTISE_KEYS
    times: dict[str, float] = field(default_factory=dict)  # transition -> clock time
    txs: dict[str, dict[str, Any]] = field(default_factory=dict)
    commit_deadline: int = 0
    unmask_deadline: int = 0
    roster: Roster | None = None
    roster_hash: bytes = b""
    bundles: dict[str, KeyBundle] = field(default_factory=dict)
    shares: dict[str, ShareKeysMessage] = field(default_factory=dict)
    inbox: dict[str, list[EncryptedShare]] = field(default_factory=dict)
    masked: dict[str, tuple[bytes, bytes, str]] = field(default_factory=dict)  # hash, seedc, source
    request: UnmaskRequest | None = None
    responses: dict[str, UnmaskResponse] = field(default_factory=dict)
    result: AggregationResult | None = None
    new_model: bytes = b""
    reason: str = ""
    abort_stage: str = ""
    detail: str = ""
    outcome: str = ""
    report_hash: str = ""
    registered: set[str] = field(default_factory=set)
    swept: int = 0  # on-chain commit count at the last sweep of UpdateCommitted events
    blocked: bool = False  # finalize must wait for the on-chain commit deadline
    slashes: dict[str, dict[str, Any]] = field(default_factory=dict)  # account -> journal entry


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
    ) -> None:
        """Attach to `deployment` and resume whatever `state_dir` holds.

        `genesis_model` is published as a blob; round 1 opens with its hash, later rounds
        with the latest finalized model. `expected_participants` ends the key stage early
        once that many bundles are in (default: the registry's participant count at open).
        `evaluate(model_bytes) -> (accuracy, loss)` feeds the per-round report.
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
        self._round: _Round | None = None
        self._journal: RoundJournal | None = None
        self.reports = ReportIndex(self.state_dir / "reports.json", fsync=fsync)

        self.genesis_model = bytes(genesis_model)
        self.genesis_hash = self._put_blob(self.genesis_model)
        self._check_config()
        self._resume()

    # -- set-up and resume ------------------------------------------------------------
    def _config_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "chainId": self.chain_id,
            "roundLog": self.contract,
            "aggregator": self.aggregator.address,
            "model": self.model_spec.to_json(),
            "genesisModelHash": to_hex(self.genesis_hash),
        }

    def _check_config(self) -> None:
        path = self.state_dir / "coordinator.json"
        mine = self._config_json()
        if path.exists():
            saved = read_json(path, what="coordinator state")
            for key in (
                "version",
                "chainId",
                "roundLog",
                "aggregator",
                "model",
                "genesisModelHash",
            ):
                if saved.get(key) != mine[key]:
                    raise ConfigError(
                        f"state dir {self.state_dir} belongs to another set-up: {key} is "
                        f"{saved.get(key)!r} there, {mine[key]!r} here"
                    )
        else:
            atomic_write_json(path, mine, fsync=self.fsync)

    def _round_dir(self, round_id: int) -> Path:
        return self.state_dir / "rounds" / f"{round_id:06d}"

    def _resume(self) -> None:
        rounds_dir = self.state_dir / "rounds"
        ids = (
            sorted(int(p.name) for p in rounds_dir.iterdir() if p.name.isdigit())
            if rounds_dir.exists()
            else []
        )
        if not ids:
            return
        journal = RoundJournal(self._round_dir(ids[-1]) / "journal.jsonl", fsync=self.fsync)
        entries = journal.read()
        if not entries:
            return
        for entry in entries:
            self._apply(entry)
        self._journal = journal

    # -- helpers ----------------------------------------------------------------------
    def _timed(self, kind: str, t0: float) -> None:
        self.timings[kind] = self.timings.get(kind, 0.0) + (time.perf_counter() - t0)

    def _put_blob(self, data: bytes) -> bytes:
        t0 = time.perf_counter()
        name = self.store.put(data)
        self._timed("store", t0)
        return bytes.fromhex(name)

    def _record(self, entry: dict[str, Any]) -> None:
        assert self._journal is not None
        self._journal.append(entry)

    def _require_round(self, stage: str) -> _Round:
        r = self._round
        if r is None:
            raise WrongStage(stage, "round", "no round has been opened")
        return r

    def _expect_stage(self, stage: str) -> _Round:
        r = self._require_round(stage)
        if r.stage != stage:
            raise WrongStage(
                stage, "stage", f"round {r.round_id} is in stage {r.stage}, not {stage}"
            )
        return r

    def _member(self, r: _Round, stage: str, address: str) -> str:
        address = check_address(stage, "sender", address)
        if r.roster is None or address not in r.roster:
            raise NotInRoster(
                stage, "sender", f"{address} is not in the roster of round {r.round_id}"
            )
        return address

    def _chain_now(self) -> int:
        t0 = time.perf_counter()
        now = self.chain.timestamp()
        self._timed("chain", t0)
        return now

    def _get_round(self, round_id: int) -> RoundInfo:
        t0 = time.perf_counter()
        info = self.contracts.round_log.get_round(round_id)
        self._timed("chain", t0)
        return info

    def _transact(self, fn: Callable[[], TxResult]) -> TxResult:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self._timed("chain", t0)

    # -- the journal's single mutation path ---------------------------------------------
    def _apply(self, e: dict[str, Any]) -> None:
        kind = e["t"]
        if kind == "opened":
            self._apply_opened(e)
            return
        r = self._round
        assert r is not None, f"journal entry {kind} before the round was opened"
        t0 = time.perf_counter()
        if kind == "keys":
            bundle = wire.bundle_from_json(e["bundle"])
            r.server.add_bundle(bundle)
            r.bundles[bundle.participant] = bundle
        elif kind == "shares":
            msg = wire.shares_from_json(e["message"])
            r.server.add_shares(msg)
            r.shares[msg.sender] = msg
        elif kind == "masked":
            masked_hash = from_hex(e["maskedHash"], length=32)
            seed_c = from_hex(e["seedCommitment"], length=32)
            blob = self.store.get(masked_hash.hex())
            r.server.add_masked_input(e["sender"], blob, Commitment(masked_hash, seed_c))
            r.masked[e["sender"]] = (masked_hash, seed_c, e.get("source", "participant"))
        elif kind == "unmask":
            resp = wire.unmask_response_from_json(e["message"])
            r.server.add_unmask(resp)
            r.responses[resp.sender] = resp
        elif kind == "close":
            self._apply_close(r, e["stage"])
            r.times[f"closed_{e['stage']}"] = e["at"]
        elif kind == "abort":
            r.stage, r.abort_stage, r.reason, r.detail = (
                _FAILING,
                e["stage"],
                e["reason"],
                e["detail"],
            )
            r.times["aborted"] = e["at"]
        elif kind == "tx":
            self._apply_tx(r, e)
        elif kind == "slash":
            r.slashes[e["account"]] = e
        elif kind == "report":
            r.report_hash = e["hash"]
        else:
            raise ConfigError(f"round journal: unknown entry type {kind!r}")
        self._timed("secagg", t0)

    def _apply_opened(self, e: dict[str, Any]) -> None:
        info = e["info"]
        from fedledger.chain.datatypes import RoundConfig

        config = RoundConfig(**info["config"])
        params = secagg_params(config)
        round_id = int(info["round"])
        ctx = RoundContext(self.chain_id, self.contract, round_id)
        seed = from_hex(info["seed"], length=32)
        server = SecAggServer(
            ctx,
            params,
            seed=seed,
            vector_length=self._vector_length(),
            min_survivors=max(config.min_participants, config.threshold),
        )
        self._round = _Round(
            round_id=round_id,
            ctx=ctx,
            params=params,
            info=info,
            model_hash=from_hex(info["modelHash"], length=32),
            seed=seed,
            min_participants=config.min_participants,
            expected=int(e["expected"]),
            server=server,
            commit_deadline=int(info["commitDeadline"]),
            unmask_deadline=int(info["unmaskDeadline"]),
        )
        self._round.times["opened"] = e["at"]
        self._round.txs["openRound"] = e["tx"]

    def _apply_close(self, r: _Round, stage: str) -> None:
        if stage == ADVERTISE_KEYS:
            r.roster = r.server.close_advertise_keys()
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
            old_model = self._model_bytes(r.model_hash)
            r.new_model = apply_aggregate(old_model, r.result.decoded)
            r.stage = FINALIZE
        else:
            raise ConfigError(f"round journal: cannot close stage {stage!r}")

    def _apply_tx(self, r: _Round, e: dict[str, Any]) -> None:
        r.txs[e["call"]] = e
        if e["call"] == "postRoster":
            r.commit_deadline = int(e["commitDeadline"])
            r.unmask_deadline = int(e["unmaskDeadline"])
            r.times["rostered"] = e["at"]
        elif e["call"] == "finalize":
            r.stage, r.outcome = FINALIZED, FINALIZED
            r.times["done"] = e["at"]
        elif e["call"] == "failRound":
            r.stage, r.outcome = FAILED, FAILED
            r.times["done"] = e["at"]

    def _commit(self, entry: dict[str, Any]) -> None:
        """Apply then journal: nothing is acknowledged or sent on chain before it is on disk."""
        self._apply(entry)
        self._record(entry)

    def _vector_length(self) -> int:
        from fedledger.fl.serialization import model_size

        return model_size(self.genesis_model) + 1

    def _model_bytes(self, model_hash: bytes) -> bytes:
        if model_hash == self.genesis_hash:
            return self.genesis_model
        t0 = time.perf_counter()
        try:
            return self.store.get(model_hash.hex())
        finally:
            self._timed("store", t0)

    # -- public API: rounds ---------------------------------------------------------
    @property
    def round_id(self) -> int:
        """Id of the current (or last) round; 0 before the first."""
        with self._lock:
            return self._round.round_id if self._round else 0

    def current_model_hash(self) -> bytes:
        """The model the next round trains: the latest finalized one, or the genesis model."""
        with self._lock:
            latest = self.contracts.round_log.latest_model_hash()
            return self.genesis_hash if latest == bytes(32) else latest

    def open_round(self) -> RoundStatus:
        """Open the next round on chain with the current model; params come from its snapshot."""
        with self._lock:
            r = self._round
            if r is not None and r.stage not in (FINALIZED, FAILED):
                raise WrongStage(
                    "setup", "round", f"round {r.round_id} is still in stage {r.stage}"
                )
            model_hash = self.current_model_hash()
            if not self.store.has(model_hash.hex()):
                raise StoreError(
                    f"model {model_hash.hex()} of the next round is not in the blob store"
                )
            log = self.contracts.round_log
            t0 = time.perf_counter()
            current = log.current_round()
            self._timed("chain", t0)
            tx: TxResult | None = None
            round_id = current + 1
            if current > (r.round_id if r else 0):
                # The chain has a round this state dir never journaled.
                info = self._get_round(current)
                if info.stage == Stage.OPENED and info.model_hash == model_hash:
                    round_id = current  # our openRound was mined just before a crash: adopt it
                elif info.stage in (Stage.OPENED, Stage.ROSTERED):
                    self._transact(
                        lambda: log.fail_round(current, "abandoned", sender=self.aggregator)
                    )
            if round_id == current + 1:
                tx = self._transact(lambda: log.open_round(model_hash, sender=self.aggregator))
                opened = tx.named("RoundOpened")
                if opened:
                    round_id = int(opened[0].args["round"])
            expected_id = round_id
            info = self._get_round(expected_id)
            expected = self.expected_participants
            if expected is None:
                expected = self.contracts.registry.participant_count()
            if self._journal is not None:
                self._journal.close()
            self._journal = RoundJournal(
                self._round_dir(expected_id) / "journal.jsonl", fsync=self.fsync
            )
            entry = {
                "t": "opened",
                "info": _info_to_json(info),
                "expected": int(expected),
                "at": self.clock(),
                "tx": _tx_json("openRound", tx, self.clock()),
            }
            self._commit(entry)
            return self._status()

    def status(self) -> RoundStatus:
        """The current round's stage, parameters, deadlines and counts."""
        with self._lock:
            return self._status()

    def _status(self) -> RoundStatus:
        r = self._round
        if r is None:
            return RoundStatus(
                0, IDLE, self.chain_id, self.contract, model_hash=self.genesis_hash.hex()
            )
        stage = FAILED if r.stage == _FAILING else r.stage
        deadline: float | None = None
        if r.stage == ADVERTISE_KEYS:
            deadline = r.times["opened"] + self.durations.advertise_keys
        elif r.stage == SHARE_KEYS and "rostered" in r.times:
            deadline = r.times["rostered"] + self.durations.share_keys
        elif r.stage == UNMASK:
            deadline = r.times[f"closed_{MASKED_INPUT}"] + self.durations.unmask
        return RoundStatus(
            round_id=r.round_id,
            stage=FAILED if r.stage == _FAILING else stage,
            chain_id=self.chain_id,
            contract=self.contract,
            model_hash=r.model_hash.hex(),
            seed=r.seed.hex(),
            params=r.params.to_json(),
            min_participants=r.min_participants,
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
            stage_deadline=deadline,
            commit_deadline=r.commit_deadline,
            unmask_deadline=r.unmask_deadline,
            waiting_for=self._waiting_for(r),
            new_model_hash=sha256(r.new_model).hex() if r.new_model else "",
            reason=r.reason,
        )

    def _waiting_for(self, r: _Round) -> str:
        if r.stage == FINALIZE and r.result is not None:
            return "commit_deadline" if r.blocked else "finalize"
        if r.stage == MASKED_INPUT:
            return "masked_inputs"
        return ""

    # -- public API: stage 1 --------------------------------------------------------
    def submit_keys(self, bundle: KeyBundle) -> None:
        """Accept a signed key bundle from a registered participant (idempotent)."""
        with self._lock:
            r = self._expect_stage(ADVERTISE_KEYS)
            address = bundle.participant
            previous = r.bundles.get(address)
            if previous is not None:
                if previous == bundle:
                    return
                raise ConflictingSubmission(
                    ADVERTISE_KEYS, "participant", f"{address} already advertised other keys"
                )
            bundle.verify(r.ctx)
            if address not in r.registered:
                t0 = time.perf_counter()
                ok = self.contracts.registry.is_registered(address)
                self._timed("chain", t0)
                if not ok:
                    raise NotRegistered(
                        ADVERTISE_KEYS, "participant", f"{address} is not a registered participant"
                    )
                r.registered.add(address)
            self._commit({"t": "keys", "bundle": wire.bundle_to_json(bundle)})

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
    def submit_shares(self, message: ShareKeysMessage) -> None:
        """Accept a roster member's encrypted shares, one per neighbour (idempotent)."""
        with self._lock:
            r = self._expect_stage(SHARE_KEYS)
            sender = self._member(r, SHARE_KEYS, message.sender)
            if "postRoster" not in r.txs:
                raise NotReady(SHARE_KEYS, "roster", "the roster is not on chain yet")
            previous = r.shares.get(sender)
            if previous is not None:
                if previous == message:
                    return
                raise ConflictingSubmission(
                    SHARE_KEYS, "sender", f"{sender} already sent other shares"
                )
            self._commit({"t": "shares", "message": wire.shares_to_json(message)})

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
    def submit_masked(self, address: str, masked_hash: bytes, seed_commitment: bytes) -> None:
        """Accept a masked input: its blob is in the store and the sender committed to it."""
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
                    return
                raise ConflictingSubmission(
                    MASKED_INPUT, "maskedHash", f"{address} already submitted another input"
                )
            if address not in r.inbox:
                raise NotInRoster(MASKED_INPUT, "sender", f"{address} did not share keys in time")
            t0 = time.perf_counter()
            slot = self.contracts.round_log.commitment_of(r.round_id, address)
            self._timed("chain", t0)
            if is_roster_marker(slot):
                raise ProtocolError(
                    MASKED_INPUT, "commitment", f"{address} has not committed on chain yet"
                )
            if not matches_commitment(slot, masked_hash, seed_commitment):
                raise ProtocolError(
                    MASKED_INPUT,
                    "maskedHash",
                    f"does not match the on-chain commitment of {address}",
                )
            self._accept_masked(r, address, masked_hash, seed_commitment, "participant")

    def _accept_masked(
        self, r: _Round, address: str, masked_hash: bytes, seed_c: bytes, source: str
    ) -> None:
        t0 = time.perf_counter()
        try:
            present = self.store.has(masked_hash.hex())
        finally:
            self._timed("store", t0)
        if not present:
            raise ProtocolError(
                MASKED_INPUT, "maskedHash", f"blob {masked_hash.hex()} is not in the blob store"
            )
        self._commit(
            {
                "t": "masked",
                "sender": address,
                "maskedHash": to_hex(masked_hash),
                "seedCommitment": to_hex(seed_c),
                "source": source,
            }
        )

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

    def submit_unmask(self, response: UnmaskResponse) -> None:
        """Accept a survivor's unmask shares (idempotent)."""
        with self._lock:
            r = self._expect_stage(UNMASK)
            sender = self._member(r, UNMASK, response.sender)
            previous = r.responses.get(sender)
            if previous is not None:
                if dict(previous.self_mask_shares) == dict(response.self_mask_shares) and dict(
                    previous.mask_key_shares
                ) == dict(response.mask_key_shares):
                    return
                raise ConflictingSubmission(UNMASK, "sender", f"{sender} already sent other shares")
            self._commit({"t": "unmask", "message": wire.unmask_response_to_json(response)})

    # -- transitions ----------------------------------------------------------------
    def tick(self) -> RoundStatus:
        """Advance as far as messages, deadlines and chain allow; make the on-chain calls."""
        with self._lock:
            r = self._round
            while r is not None and self._step(r):
                pass
            return self._status()

    def _abort(self, r: _Round, exc: RoundAborted) -> None:
        entry = {
            "t": "abort",
            "stage": exc.stage,
            "reason": exc.reason,
            "detail": exc.detail,
            "at": self.clock(),
        }
        self._apply(entry)
        self._record(entry)

    def _close(self, r: _Round, stage: str) -> bool:
        entry = {"t": "close", "stage": stage, "at": self.clock()}
        try:
            self._apply(entry)
        except RoundAborted as exc:
            self._abort(r, exc)
            return True
        self._record(entry)
        return True

    def _step(self, r: _Round) -> bool:
        """One transition or on-chain call if due; False when there is nothing to do now."""
        now = self.clock()
        if r.stage == ADVERTISE_KEYS:
            full = len(r.bundles) >= r.expected > 0
            if not full and now < r.times["opened"] + self.durations.advertise_keys:
                return False
            n = len(r.bundles)
            config = r.info["config"]
            required = max(config["min_participants"], config["threshold"] + 1, 2)
            if n < required:
                self._abort(
                    r,
                    RoundAborted(
                        ADVERTISE_KEYS, "too_few_participants", f"{n} advertised, need {required}"
                    ),
                )
                return True
            return self._close(r, ADVERTISE_KEYS)
        if r.stage == SHARE_KEYS and "postRoster" not in r.txs:
            return self._post_roster(r)
        if r.stage == SHARE_KEYS:
            assert r.roster is not None
            if (
                len(r.shares) < len(r.roster)
                and now < r.times["rostered"] + self.durations.share_keys
            ):
                return False
            return self._close(r, SHARE_KEYS)
        if r.stage == MASKED_INPUT:
            if len(r.masked) < len(r.inbox):
                info = self._get_round(r.round_id)
                if info.committed_count > r.swept:
                    r.swept = info.committed_count
                    self._sweep_commitments(r)  # committed on chain but never told us
                # Commits stay possible while the next block can still be inside the window.
                if len(r.masked) < len(r.inbox) and self._chain_now() + 1 <= info.commit_deadline:
                    return False
            return self._close(r, MASKED_INPUT)
        if r.stage == UNMASK:
            assert r.request is not None
            answered = len(r.responses) >= len(r.request.survivors)
            if not answered and now < r.times[f"closed_{MASKED_INPUT}"] + self.durations.unmask:
                return False
            return self._close(r, UNMASK)
        if r.stage == FINALIZE:
            return self._finalize(r)
        if r.stage == _FAILING:
            return self._fail(r)
        if r.stage == FINALIZED and not r.report_hash:
            todo = self._pending_slashes(r)
            if todo:
                return self._slash(r, *todo[0])
        if r.stage in (FINALIZED, FAILED) and not r.report_hash:
            self._publish_report(r)
            return True
        return False

    def _post_roster(self, r: _Round) -> bool:
        assert r.roster is not None
        t0 = time.perf_counter()
        self.store.put_expected(r.roster_hash.hex(), r.roster.to_bytes())
        self._timed("store", t0)
        info = self._get_round(r.round_id)
        tx: TxResult | None = None
        if info.stage == Stage.OPENED:
            if self._chain_now() + 1 > info.commit_deadline:
                self._abort(
                    r,
                    RoundAborted(
                        ADVERTISE_KEYS, "roster_closed", "the on-chain roster deadline passed"
                    ),
                )
                return True
            log = self.contracts.round_log
            members = r.roster.addresses
            tx = self._transact(
                lambda: log.post_roster(r.round_id, r.roster_hash, members, sender=self.aggregator)
            )
            info = self._get_round(r.round_id)
        elif info.stage != Stage.ROSTERED or info.roster_hash != r.roster_hash:
            raise ConfigError(
                f"round {r.round_id} is {info.stage.name} on chain with roster "
                f"{info.roster_hash.hex()}, "
                f"but the journal has roster {r.roster_hash.hex()}"
            )
        entry = _tx_json("postRoster", tx, self.clock())
        entry.update(commitDeadline=info.commit_deadline, unmaskDeadline=info.unmask_deadline)
        self._apply(entry)
        self._record(entry)
        return True

    def _sweep_commitments(self, r: _Round) -> None:
        """Accept sharers that committed on chain and uploaded their blob but never told us."""
        missing = [a for a in r.inbox if a not in r.masked]
        if not missing:
            return
        t0 = time.perf_counter()
        events = fetch_events(
            self.chain,
            self.contract,
            from_block=int(r.info["openedBlock"]),
            names=["UpdateCommitted"],
        )
        self._timed("chain", t0)
        wanted = set(missing)
        for ev in events:
            if int(ev.args["round"]) != r.round_id:
                continue
            who = to_checksum_address(ev.args["participant"])
            if who in wanted and who not in r.masked:
                masked_hash, seed_c = (
                    bytes(ev.args["maskedUpdateHash"]),
                    bytes(ev.args["seedCommitment"]),
                )
                try:
                    self._accept_masked(r, who, masked_hash, seed_c, "chain")
                except (ProtocolError, StoreError):
                    continue  # blob missing or malformed: not a survivor

    def _finalize_blocked(self, r: _Round, info: RoundInfo) -> bool:
        """finalize reverts while commits are pending and the commit deadline has not passed."""
        # The next block is at least one second later than the latest one.
        next_block = self._chain_now() + 1
        r.blocked = info.committed_count < info.member_count and next_block <= info.commit_deadline
        return r.blocked

    def _finalize(self, r: _Round) -> bool:
        assert r.result is not None
        info = self._get_round(r.round_id)
        tx: TxResult | None = None
        if info.stage == Stage.ROSTERED:
            if self._finalize_blocked(r, info):
                return False
            if self._chain_now() + 1 > info.unmask_deadline:
                self._abort(
                    r,
                    RoundAborted(FINALIZE, "unmask_closed", "the on-chain unmask deadline passed"),
                )
                return True
            self._put_blob(r.result.aggregate_blob)
            self._put_blob(r.result.reveal_blob)
            self._put_blob(r.new_model)
            log = self.contracts.round_log
            result = r.result
            try:
                tx = self._transact(
                    lambda: log.finalize(
                        r.round_id,
                        aggregate_hash=sha256(result.aggregate_blob),
                        reveal_hash=sha256(result.reveal_blob),
                        new_model_hash=sha256(r.new_model),
                        survivors=list(result.survivors),
                        sender=self.aggregator,
                    )
                )
            except ContractRevert as exc:
                if exc.name == "RoundLogCommitsPending":
                    # Right at the commit deadline the node may still evaluate finalize in a
                    # block with timestamp == deadline: not a failure, just too early.
                    r.blocked = True
                    return False
                self._abort(r, RoundAborted(FINALIZE, "finalize_reverted", str(exc)))
                return True
        elif info.stage != Stage.FINALIZED or info.new_model_hash != sha256(r.new_model):
            raise ConfigError(
                f"round {r.round_id} is {info.stage.name} on chain, expected it to finalize"
            )
        entry = _tx_json("finalize", tx, self.clock())
        self._apply(entry)
        self._record(entry)
        return True

    def _pending_slashes(self, r: _Round) -> list[tuple[str, SlashReason]]:
        """Slashes the round calls for and the journal has not settled (none when slashBps = 0)."""
        if r.result is None or int(r.info["config"].get("slash_bps", 0)) == 0:
            return []
        return [(a, why) for a, why in slash_plan(r.result) if a not in r.slashes]

    def _slash(self, r: _Round, account: str, reason: SlashReason) -> bool:
        """Slash one account (evidence = the reveal hash); journal the outcome either way."""
        assert r.result is not None
        log = self.contracts.round_log
        entry: dict[str, Any] = {
            "t": "slash",
            "account": account,
            "reason": int(reason),
            "status": "slashed",
            "amount": None,
            "gas": None,
            "hash": None,
            "block": None,
            "error": "",
        }
        t0 = time.perf_counter()
        already = log.is_slashed(r.round_id, account)
        self._timed("chain", t0)
        # The contract accepts slashes until unmaskDeadline + unmaskWindow (inclusive).
        deadline = r.unmask_deadline + int(r.info["config"]["unmask_window"])
        if already:  # mined before a crash cut the journal entry: never send it twice
            entry["amount"] = self._slashed_amount(r, account)
        elif self._chain_now() + 1 > deadline:
            entry.update(status="closed", error=f"slash deadline {deadline} passed")
        else:
            evidence = sha256(r.result.reveal_blob)
            try:
                tx = self._transact(
                    lambda: log.slash(
                        r.round_id,
                        account,
                        reason=reason,
                        evidence_hash=evidence,
                        sender=self.aggregator,
                    )
                )
            except ContractRevert as exc:
                entry.update(status="reverted", error=str(exc))
            else:
                ev = tx.named("ParticipantSlashed")
                entry.update(
                    amount=int(ev[0].args["amount"]) if ev else None,
                    gas=tx.gas_used,
                    hash=tx.tx_hash,
                    block=tx.block_number,
                )
        entry["at"] = self.clock()
        self._commit(entry)
        return True

    def _slashed_amount(self, r: _Round, account: str) -> int | None:
        t0 = time.perf_counter()
        events = fetch_events(
            self.chain,
            self.contract,
            from_block=int(r.info["openedBlock"]),
            names=["ParticipantSlashed"],
        )
        self._timed("chain", t0)
        for ev in events:
            who = to_checksum_address(ev.args["account"])
            if int(ev.args["round"]) == r.round_id and who == account:
                return int(ev.args["amount"])
        return None

    def _fail(self, r: _Round) -> bool:
        info = self._get_round(r.round_id)
        tx: TxResult | None = None
        if info.stage in (Stage.OPENED, Stage.ROSTERED):
            log = self.contracts.round_log
            tx = self._transact(
                lambda: log.fail_round(r.round_id, r.reason, sender=self.aggregator)
            )
        elif info.stage != Stage.FAILED:
            raise ConfigError(
                f"round {r.round_id} is {info.stage.name} on chain, expected it to fail"
            )
        entry = _tx_json("failRound", tx, self.clock())
        self._apply(entry)
        self._record(entry)
        return True

    def _publish_report(self, r: _Round) -> None:
        accuracy = loss = None
        if r.outcome == FINALIZED and self.evaluate is not None:
            accuracy, loss = self.evaluate(r.new_model)
        report = build_report(
            round_id=r.round_id,
            ctx=r.ctx,
            outcome=r.outcome,
            reason=r.reason,
            abort_stage=r.abort_stage,
            detail=r.detail,
            model_hash=r.model_hash,
            new_model=r.new_model,
            expected=r.expected,
            bundles=list(r.bundles),
            roster=r.roster.addresses if r.roster else [],
            sharers=list(r.shares),
            masked={a: src for a, (_, _, src) in r.masked.items()},
            survivors=list(r.result.survivors) if r.result else [],
            responders=list(r.responses),
            cheaters=dict(r.result.cheaters) if r.result else {},
            slashes=list(r.slashes.values()),
            txs=r.txs,
            times=r.times,
            accuracy=accuracy,
            loss=loss,
        )
        blob = report.to_bytes()
        name = self._put_blob(blob).hex()
        self.reports.add(r.round_id, name)
        self._commit({"t": "report", "hash": name})

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
            return self._round.result if self._round else None

    def close(self) -> None:
        """Release the journal's file handle."""
        with self._lock:
            if self._journal is not None:
                self._journal.close()
