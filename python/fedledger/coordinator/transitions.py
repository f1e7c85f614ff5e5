"""The round's transitions: close a stage when its messages or deadline are in, and meet the chain.

`Transitions.step` does one transition or one on-chain call when due (postRoster, finalize,
failRound, a slash, the report); it returns False when there is nothing to do now. On-chain
calls read the round's on-chain stage first, so a call mined before a crash is adopted,
never sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from eth_utils import to_checksum_address

from fedledger.chain.cohort import sample_seed
from fedledger.chain.datatypes import RoundInfo, Stage, TxResult
from fedledger.coordinator.book import RoundBook
from fedledger.coordinator.chain_calls import ChainCalls
from fedledger.coordinator.publish import ReportIndex, build_report
from fedledger.coordinator.round_state import FAILING, RoundState, add_time, tx_json
from fedledger.coordinator.slashing import Slasher
from fedledger.coordinator.spec import StageDurations, chain_margin
from fedledger.encoding import sha256, to_hex
from fedledger.errors import ConfigError, ContractRevert, ProtocolError, StoreError
from fedledger.fl.serialization import ModelFormatError
from fedledger.protocol.messages import local_dropouts_to_json
from fedledger.protocol.status import FAILED, FINALIZED
from fedledger.secagg.constants import ADVERTISE_KEYS, FINALIZE, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.messages import LocalDropouts, Roster
from fedledger.secagg.server import AggregationResult, RoundAborted
from fedledger.secagg.vectors import VectorFormatError, decode_vector
from fedledger.store.base import BlobStore, put_file_copy

__all__ = ["BLOB_GRACE", "Evaluator", "Transitions"]

Evaluator = Callable[[bytes], tuple[float, float]]

BLOB_GRACE = 5.0
"""Seconds (coordinator clock) a committed blob may lag its on-chain commit before the
committer counts as a dropout (docs/protocol.md 4.7)."""


class BlobMissing(ProtocolError):
    """A committed masked blob is not in the store (yet)."""


class Transitions:
    """Moves the book's round forward: stage closes, aborts, the aggregator's transactions."""

    def __init__(
        self,
        book: RoundBook,
        calls: ChainCalls,
        *,
        store: BlobStore,
        clock: Callable[[], float],
        durations: StageDurations,
        reports: ReportIndex,
        evaluate: Evaluator | None,
    ) -> None:
        self.book = book
        self.calls = calls
        self.store = store
        self.clock = clock
        self.durations = durations
        self.reports = reports
        self.evaluate = evaluate
        self.slasher = Slasher(book, calls, clock=clock)
        # Off-chain early closes count from here at the earliest: a restart restarts them.
        self.started = clock()
        self._handlers: dict[str, Callable[[RoundState], bool]] = {
            ADVERTISE_KEYS: self._advertise_keys,
            SHARE_KEYS: self._share_keys,
            MASKED_INPUT: self._masked_input,
            UNMASK: self._unmask,
            FINALIZE: self.finalize,
            FAILING: self.fail,
        }

    def put_blob(self, data: bytes) -> bytes:
        """Store `data` (timed); its sha256."""
        t0 = time.perf_counter()
        name = self.store.put(data)
        add_time(self.calls.timings, "store", t0)
        return bytes.fromhex(name)

    def put_reveal(self, result: AggregationResult) -> bytes:
        """Publish the reveal blob from the file it was streamed to (never whole in memory
        when the store takes files), or from memory for a round without a spool; its hash."""
        t0 = time.perf_counter()
        if result.reveal_file is None:
            self.store.put_expected(result.reveal_hash.hex(), result.reveal_blob)
        else:
            put_file_copy(self.store, result.reveal_hash.hex(), result.reveal_file)
        add_time(self.calls.timings, "store", t0)
        return result.reveal_hash

    # -- one step -----------------------------------------------------------------------
    def step(self, r: RoundState) -> bool:
        """One transition or on-chain call if due; False when there is nothing to do now."""
        handler = self._handlers.get(r.stage)
        if handler is not None:
            return handler(r)
        if r.stage == FINALIZED and not r.report_hash:
            todo = self.slasher.pending(r)
            if todo:
                return self.slasher.slash(r, *todo[0])
        if r.stage in (FINALIZED, FAILED) and not r.report_hash:
            self.publish_report(r)
            return True
        return False

    def _early(self, r: RoundState, since: str, duration: float | None) -> bool:
        """Whether an optional off-chain duration has run out (never counted across a restart)."""
        if duration is None:
            return False
        return self.clock() >= max(r.times[since], self.started) + duration

    def _advertise_keys(self, r: RoundState) -> bool:
        if "postCandidates" in r.txs:  # candidates fixed and sampled: the roster follows
            return self.close(ADVERTISE_KEYS)
        full = len(r.bundles) >= r.expected > 0
        if not full and not self._early(r, "opened", self.durations.advertise_keys):
            # Until the roster is posted, the on-chain commit deadline is the roster deadline.
            bound = r.commit_deadline - chain_margin(r.config.commit_window)
            if self.calls.now() < bound:
                return False
        n = len(r.bundles)
        required = r.config.min_roster
        if n < required:
            why = f"{n} advertised, need {required}"
            self.abort(RoundAborted(ADVERTISE_KEYS, "too_few_participants", why))
            return True
        if r.config.cohort_size:
            return self.post_candidates(r)
        return self.close(ADVERTISE_KEYS)

    def _share_keys(self, r: RoundState) -> bool:
        if "postRoster" not in r.txs:
            return self.post_roster(r)
        assert r.roster is not None
        waiting = len(r.shares) < len(r.roster)
        if waiting and not self._early(r, "rostered", self.durations.share_keys):
            # Sharing gets the first half of the commit window, masking and committing the rest.
            bound = r.commit_deadline - r.config.commit_window // 2
            if self.calls.now() < bound:
                return False
        return self.close(SHARE_KEYS)

    def _masked_input(self, r: RoundState) -> bool:
        if self._awaiting(r):
            info = self.calls.get_round(r.round_id)
            # Commits stay possible while the next block can still be inside the window.
            window_open = self.calls.now() + 1 <= info.commit_deadline
            if info.committed_count > r.swept or (not window_open and not r.swept_at_close):
                r.swept = info.committed_count
                # While the window is open only provably bad commitments are taken (dropouts
                # at once): a good committer's own message carries its signed local-dropout
                # report (which its seed commitment may pin), so it is waited for until the
                # window closes, and only then is a committer found only on chain accepted.
                self.sweep_commitments(r, accept=not window_open)
                r.swept_at_close = not window_open
            self._expire_missing_blobs(r)
            if self._awaiting(r) and window_open:
                return False
        return self.close(MASKED_INPUT)

    @staticmethod
    def _awaiting(r: RoundState) -> bool:
        """Some sharer has neither a usable masked input nor a provably bad commitment."""
        return any(a not in r.masked and a not in r.bad_commits for a in r.inbox)

    def _expire_missing_blobs(self, r: RoundState) -> None:
        """A committed blob still missing after BLOB_GRACE: its committer is a dropout."""
        for who, (masked_hash, first_seen) in list(r.missing_blobs.items()):
            if who in r.masked or who in r.bad_commits:
                r.missing_blobs.pop(who, None)
            elif self.store.has(masked_hash.hex()):
                r.missing_blobs.pop(who, None)
                r.swept = 0  # it uploaded after all: the next tick's sweep picks it up
            elif self.clock() >= first_seen + BLOB_GRACE:
                why = f"committed blob {masked_hash.hex()} missing {BLOB_GRACE:g} s after commit"
                self.record_bad_commit(r, who, masked_hash, why)

    def record_bad_commit(self, r: RoundState, who: str, masked_hash: bytes, why: str) -> None:
        """Journal that `who`'s on-chain commitment is provably unusable (a dropout now)."""
        if who in r.bad_commits or who in r.masked:
            return
        self.book.commit(
            {
                "t": "bad_commit",
                "sender": who,
                "maskedHash": to_hex(masked_hash),
                "reason": why,
                "at": self.clock(),
            }
        )

    def _unmask(self, r: RoundState) -> bool:
        assert r.request is not None
        answered = len(r.responses) >= len(r.request.survivors)
        since = f"closed_{MASKED_INPUT}"
        if not answered and not self._early(r, since, self.durations.unmask):
            # Combining the shares and finalizing must fit before the on-chain unmask deadline.
            bound = r.unmask_deadline - chain_margin(r.config.unmask_window)
            if self.calls.now() < bound:
                return False
        return self.close(UNMASK)

    # -- closing and aborting -------------------------------------------------------------
    def abort(self, exc: RoundAborted) -> None:
        """Journal that the round failed off chain (failRound follows)."""
        entry = {
            "t": "abort",
            "stage": exc.stage,
            "reason": exc.reason,
            "detail": exc.detail,
            "at": self.clock(),
        }
        self.book.apply(entry)
        self.book.record(entry)

    def close(self, stage: str) -> bool:
        """Close `stage`; any failure fails the round with a named reason instead.

        A close that raises is never journaled, so a replay cannot wedge on it: the abort
        entry is journaled in its place and failRound follows, then the next round opens.
        """
        entry = {"t": "close", "stage": stage, "at": self.clock()}
        try:
            self.book.apply(entry)
        except RoundAborted as exc:
            self.abort(exc)
            return True
        except ModelFormatError as exc:  # e.g. a decoded update that is not finite
            self.abort(RoundAborted(stage, "undecodable_aggregate", str(exc)))
            return True
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            self.abort(RoundAborted(stage, "close_failed", detail))
            return True
        self.book.record(entry)
        return True

    def _journal_tx(self, call: str, tx: TxResult | None, **extra: Any) -> bool:
        entry = tx_json(call, tx, self.clock())
        entry.update(extra)
        self.book.apply(entry)
        self.book.record(entry)
        return True

    # -- on-chain calls -------------------------------------------------------------------
    def post_roster(self, r: RoundState) -> bool:
        """Publish the roster blob and post its hash on chain (or adopt a mined postRoster)."""
        assert r.roster is not None
        t0 = time.perf_counter()
        self.store.put_expected(r.roster_hash.hex(), r.roster.to_bytes())
        add_time(self.calls.timings, "store", t0)
        info = self.calls.get_round(r.round_id)
        tx: TxResult | None = None
        if info.stage == Stage.OPENED:
            if self.calls.now() + 1 > info.commit_deadline:
                why = "the on-chain roster deadline passed"
                self.abort(RoundAborted(ADVERTISE_KEYS, "roster_closed", why))
                return True
            log, tree, agg = self.calls.round_log, r.roster.tree(), self.calls.aggregator
            tx = self.calls.transact(
                lambda: log.post_roster(
                    r.round_id, r.roster_hash, tree.root, tree.count, sender=agg
                )
            )
            info = self.calls.get_round(r.round_id)
        elif info.stage != Stage.ROSTERED or info.roster_hash != r.roster_hash:
            raise ConfigError(
                f"round {r.round_id} is {info.stage.name} on chain with roster "
                f"{info.roster_hash.hex()}, "
                f"but the journal has roster {r.roster_hash.hex()}"
            )
        return self._journal_tx(
            "postRoster",
            tx,
            commitDeadline=info.commit_deadline,
            unmaskDeadline=info.unmask_deadline,
        )

    def post_candidates(self, r: RoundState) -> bool:
        """Publish every accepted bundle as the candidates blob and fix its hash on chain (or
        adopt a mined postCandidates); journal the sample seed the roster follows.

        The seed uses the hash of the candidates' own block, sealed once the receipt is back,
        so the sample is known here; postRoster, sent later, lands in a later block.
        """
        candidates = Roster.build(r.ctx, r.bundles.values())
        blob, digest = candidates.to_bytes(), candidates.hash()
        t0 = time.perf_counter()
        self.store.put_expected(digest.hex(), blob)
        add_time(self.calls.timings, "store", t0)
        info = self.calls.get_round(r.round_id)
        tx: TxResult | None = None
        if info.stage == Stage.OPENED and info.candidates_block == 0:
            if self.calls.now() + 1 > info.commit_deadline:
                why = "the on-chain roster deadline passed"
                self.abort(RoundAborted(ADVERTISE_KEYS, "roster_closed", why))
                return True
            log, agg = self.calls.round_log, self.calls.aggregator
            tx = self.calls.transact(
                lambda: log.post_candidates(r.round_id, digest, len(candidates), sender=agg)
            )
            info = self.calls.get_round(r.round_id)
        elif info.candidates_hash != digest:
            raise ConfigError(
                f"round {r.round_id} has candidates {info.candidates_hash.hex()} on chain, "
                f"but the journal's bundles make {digest.hex()}"
            )
        anchor = self.calls.block_hash(info.candidates_block)
        return self._journal_tx(
            "postCandidates",
            tx,
            candidatesHash=to_hex(digest),
            candidatesBlock=info.candidates_block,
            sampleSeed=to_hex(sample_seed(r.seed, digest, anchor)),
        )

    def sweep_commitments(self, r: RoundState, *, accept: bool = True) -> None:
        """Accept sharers that committed on chain and uploaded their blob but never told us
        (`accept`), or, before the window closes, only record their provably bad commitments."""
        missing = [a for a in r.inbox if a not in r.masked and a not in r.bad_commits]
        if not missing:
            return
        events = self.calls.events(int(r.info["openedBlock"]), ["UpdateCommitted"])
        wanted = set(missing)
        for ev in events:
            if int(ev.args["round"]) != r.round_id:
                continue
            who = to_checksum_address(ev.args["participant"])
            if who in wanted and who not in r.masked and who not in r.bad_commits:
                masked_hash, seed_c = (
                    bytes(ev.args["maskedUpdateHash"]),
                    bytes(ev.args["seedCommitment"]),
                )
                weight = int(ev.args["weight"])
                if not accept:
                    self._probe_commit(r, who, masked_hash)
                    continue
                try:
                    self.accept_masked(r, who, masked_hash, seed_c, weight, "chain")
                except BlobMissing:
                    r.missing_blobs.setdefault(who, (masked_hash, self.clock()))
                except (ProtocolError, StoreError):
                    continue  # malformed (recorded as a bad commitment): not a survivor

    def _probe_commit(self, r: RoundState, who: str, masked_hash: bytes) -> None:
        """Record a committed blob that is missing (grace period starts) or malformed."""
        key = masked_hash.hex()
        try:
            if not self.store.has(key):
                r.missing_blobs.setdefault(who, (masked_hash, self.clock()))
                return
            blob = self.store.get(key)
        except StoreError:
            return  # the store is unwell, not the committer: look again later
        try:
            decode_vector(blob, length=r.server.vector_length)
        except VectorFormatError as exc:
            self.record_bad_commit(r, who, masked_hash, f"from {who}: {exc}")

    def accept_masked(
        self,
        r: RoundState,
        address: str,
        masked_hash: bytes,
        seed_c: bytes,
        weight: int,
        source: str,
        *,
        dropouts: LocalDropouts | None = None,
    ) -> None:
        """Journal a masked input whose blob is in the store (ProtocolError if it is not),
        with the weight committed on chain (decoding takes W from these)."""
        t0 = time.perf_counter()
        try:
            present = self.store.has(masked_hash.hex())
        finally:
            add_time(self.calls.timings, "store", t0)
        if not present:
            raise BlobMissing(
                MASKED_INPUT, "maskedHash", f"blob {masked_hash.hex()} is not in the blob store"
            )
        try:
            self.book.commit(
                {
                    "t": "masked",
                    "sender": address,
                    "maskedHash": to_hex(masked_hash),
                    "seedCommitment": to_hex(seed_c),
                    "weight": weight,
                    "source": source,
                    **({} if dropouts is None else {"dropouts": local_dropouts_to_json(dropouts)}),
                }
            )
        except ProtocolError as exc:
            if exc.field == "vector":  # the committed blob itself is malformed: provably bad
                self.record_bad_commit(r, address, masked_hash, str(exc))
            raise

    def _finalize_blocked(self, r: RoundState, info: RoundInfo) -> bool:
        """finalize reverts while commits are pending and the commit deadline has not passed."""
        # The next block is at least one second later than the latest one.
        next_block = self.calls.now() + 1
        r.blocked = info.committed_count < info.member_count and next_block <= info.commit_deadline
        return r.blocked

    def finalize(self, r: RoundState) -> bool:
        """Publish the round's blobs and finalize on chain (or adopt a mined finalize)."""
        assert r.result is not None
        info = self.calls.get_round(r.round_id)
        tx: TxResult | None = None
        if info.stage == Stage.ROSTERED:
            if self._finalize_blocked(r, info):
                return False
            if self.calls.now() + 1 > info.unmask_deadline:
                why = "the on-chain unmask deadline passed"
                self.abort(RoundAborted(FINALIZE, "unmask_closed", why))
                return True
            try:
                tx = self._send_finalize(r)
            except ContractRevert as exc:
                if exc.name == "RoundLogCommitsPending":
                    # Right at the commit deadline the node may still evaluate finalize in a
                    # block with timestamp == deadline: not a failure, just too early.
                    r.blocked = True
                    return False
                self.abort(RoundAborted(FINALIZE, "finalize_reverted", str(exc)))
                return True
        elif info.stage != Stage.FINALIZED or info.new_model_hash != sha256(r.new_model):
            raise ConfigError(
                f"round {r.round_id} is {info.stage.name} on chain, expected it to finalize"
            )
        return self._journal_tx("finalize", tx)

    def _send_finalize(self, r: RoundState) -> TxResult:
        result = r.result
        assert result is not None
        aggregate_hash = self.put_blob(result.aggregate_blob)
        reveal_hash = self.put_reveal(result)
        new_model_hash = self.put_blob(r.new_model)
        assert r.roster is not None
        tree = r.roster.tree()
        excluded = [(a, tree.member(r.round_id, a)) for a in self.excluded(r, result.survivors)]
        log, agg = self.calls.round_log, self.calls.aggregator
        return self.calls.transact(
            lambda: log.finalize(
                r.round_id,
                aggregate_hash=aggregate_hash,
                reveal_hash=reveal_hash,
                new_model_hash=new_model_hash,
                excluded=excluded,
                sender=agg,
            )
        )

    def excluded(self, r: RoundState, survivors: Sequence[str]) -> list[str]:
        """On-chain committers that are not survivors (finalize's list), by roster index."""
        assert r.roster is not None
        events = self.calls.events(int(r.info["openedBlock"]), ["UpdateCommitted"])
        committers = {
            to_checksum_address(ev.args["participant"])
            for ev in events
            if int(ev.args["round"]) == r.round_id
        }
        return sorted(committers - set(survivors), key=r.roster.index)

    def fail(self, r: RoundState) -> bool:
        """failRound on chain with the abort reason (or adopt a mined failRound)."""
        info = self.calls.get_round(r.round_id)
        tx: TxResult | None = None
        if info.stage in (Stage.OPENED, Stage.ROSTERED):
            log, agg = self.calls.round_log, self.calls.aggregator
            tx = self.calls.transact(lambda: log.fail_round(r.round_id, r.reason, sender=agg))
        elif info.stage != Stage.FAILED:
            raise ConfigError(
                f"round {r.round_id} is {info.stage.name} on chain, expected it to fail"
            )
        return self._journal_tx("failRound", tx)

    # -- the report -----------------------------------------------------------------------
    def publish_report(self, r: RoundState) -> None:
        """Evaluate the new model, publish the round's report blob and index it."""
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
            excluded=r.excluded,
            txs=r.txs,
            times=r.times,
            accuracy=accuracy,
            loss=loss,
        )
        name = self.put_blob(report.to_bytes()).hex()
        self.reports.add(r.round_id, name)
        self.book.commit({"t": "report", "hash": name})
