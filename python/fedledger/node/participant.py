"""Participant: one data owner's side of every round, independent of how it reaches the coordinator.

It trusts the chain, not the coordinator: round parameters, seed, model hash and roster
hash are read from RoundLog; the model and roster are fetched from the blob store and
checked against those hashes; the masked-input commitment is sent from its own account.
Before training on a model it verifies the rounds the model came from (node.model_verify).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from eth_account.signers.local import LocalAccount

from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DP_NONE, DP_SGD, RoundConfig, RoundInfo, Stage
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.chain.event_cache import EventCache
from fedledger.chain.events import fetch_events
from fedledger.chain.pipeline import PendingTx, TxPipeline
from fedledger.chain.round_log import MemberProof
from fedledger.encoding import sha256
from fedledger.errors import ConfigError, FedledgerError, ProtocolError, StoreError
from fedledger.fl.builtin import BuiltinTask, builtin_runner
from fedledger.fl.dp_accountant import ParticipantAccountant
from fedledger.fl.dp_sgd import DpSgdParams, train_local_dp
from fedledger.fl.models import build_model
from fedledger.fl.task import TaskContext
from fedledger.fl.task_bridge import TaskRunner
from fedledger.fl.train import LocalUpdate, TrainConfig, derive_seed
from fedledger.node.model_verify import ModelRefused, ModelVerifier, VerifyPending
from fedledger.node.public_facts import blob_checker, public_facts
from fedledger.protocol.cohort import NotSampled, judge_sample, read_candidates
from fedledger.protocol.model import ModelSpec
from fedledger.protocol.port import CoordinatorPort
from fedledger.protocol.receipts import Receipt, save_receipt
from fedledger.protocol.refusals import NotInRoster, NotReady, WrongStage
from fedledger.secagg.client import Partition, SecAggClient
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.encoding import encode_input
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    Roster,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)
from fedledger.secagg.params import RoundContext
from fedledger.store.base import BlobStore

__all__ = ["DROP_POINTS", "CoordinatorPort", "Participant", "ParticipantRound", "SatOut"]

log = logging.getLogger("fedledger.node")

# Where a simulated participant can go silent, in protocol order.
DROP_POINTS = ("before_keys", "after_keys", "after_shares", "after_commit", "during_unmask")


@lru_cache(maxsize=4)
def _parse_roster(blob: bytes) -> Roster:
    """Roster.from_bytes, once per blob in this process (a Roster is immutable).

    A simulation's n participants would otherwise each parse all n bundles.
    """
    return Roster.from_bytes(blob)


class SatOut(FedledgerError):
    """This participant refuses the rest of the round because a peer or the aggregator
    misbehaved (too few valid sharers, a misrouted inbox, a lying unmask request, an
    unusable key in the roster); the message says which, and the process goes on."""


@dataclass
class ParticipantRound:
    """What one participant did in one round (for reports and benchmarks)."""

    round_id: int
    done: list[str] = field(default_factory=list)  # stages whose message was sent
    dropped_at: str = ""  # the simulated drop point, if any
    left_out: str = ""  # why the coordinator left us out, if it did
    train_loss: float | None = None
    examples: int = 0
    epsilon: float | None = None  # own epsilon after this DP round (ParticipantAccountant)
    commit_gas: int | None = None
    member: MemberProof | None = None  # our roster entry and proof (what a reward claim takes)
    receipts: list[Receipt] = field(default_factory=list)  # the aggregator's, one per write
    model_check: str = ""  # "off", "verified (MODE): ...", "refused: ...", "pending: ..."
    timings: dict[str, float] = field(
        default_factory=lambda: {
            "training": 0.0,
            "secagg": 0.0,
            "chain": 0.0,
            "store": 0.0,
            "verify": 0.0,
        }
    )


class Participant:
    """Drive with `step(port)` until the round is over; each call does at most one stage's work."""

    def __init__(
        self,
        *,
        account: LocalAccount,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        index: int,
        model_spec: ModelSpec,
        train_config: TrainConfig,
        seed: int,
        chain: ChainBackend,
        contracts: Contracts,
        store: BlobStore,
        dropout: Mapping[int, str] | None = None,
        runner: TaskRunner | None = None,
        verify: str = "off",
        deployment: Deployment | None = None,
    ) -> None:
        """`index` and `seed` fix the local training seed: derive_seed(seed, round - 1, index).

        `verify` (full|own|off) is how the rounds behind a model are verified before
        training on it (node.model_verify; full and own need the `deployment` record).

        `dropout` maps a round id to a point in DROP_POINTS where this participant goes
        silent (simulation only). `runner` trains the federation's task on this participant's
        data; without one, (X, y) train the built-in model `model_spec` names.
        """
        for r, point in (dropout or {}).items():
            if point not in DROP_POINTS:
                raise ConfigError(
                    f"dropout of round {r}: {point!r} is not one of {', '.join(DROP_POINTS)}"
                )
        if y is not None and len(y) == 0:
            raise ConfigError(f"participant {account.address}: the partition is empty")
        if runner is None:
            if X is None or y is None:
                raise ConfigError(f"participant {account.address}: give (X, y) or a task runner")
            runner = builtin_runner(
                model_spec.model,
                n_features=model_spec.n_features,
                n_classes=model_spec.n_classes,
                train=train_config,
                X=X,
                y=y,
                ctx=TaskContext(participant=index, seed=seed),
            )
        self.runner = runner
        self.account = account
        self.address: str = account.address
        self.X, self.y = X, y
        self.index = index
        self.model_spec = model_spec
        self.train_config = train_config
        self.seed = seed
        self.chain = chain
        self.contracts = contracts
        self.store = store
        self.dropout = dict(dropout or {})
        self.rounds: dict[int, ParticipantRound] = {}
        self.privacy = ParticipantAccountant()
        self.verifier = ModelVerifier(
            mode=verify,
            contracts=contracts,
            deployment=deployment,
            store=store,
            address=self.address,
        )
        self._round_id = 0
        self._client: SecAggClient | None = None
        self._info: RoundInfo | None = None
        self._update: LocalUpdate | None = None
        self._masked: tuple[bytes, bytes] | None = None
        self._member: MemberProof | None = None
        self._report: LocalDropouts | None = None
        self._pending_commit: PendingTx | None = None

    # -- timing --------------------------------------------------------------------------
    def _add(self, kind: str, t0: float) -> None:
        rec = self.rounds[self._round_id]
        rec.timings[kind] += time.perf_counter() - t0

    @property
    def current(self) -> ParticipantRound | None:
        """The record of the round in progress (or last seen)."""
        return self.rounds.get(self._round_id)

    def _drops(self, point: str) -> bool:
        if self.dropout.get(self._round_id) == point:
            rec = self.rounds[self._round_id]
            rec.dropped_at = point
            return True
        return False

    def _silent(self) -> bool:
        rec = self.rounds.get(self._round_id)
        return rec is None or bool(rec.dropped_at or rec.left_out)

    # -- driving -------------------------------------------------------------------------
    def step(self, port: CoordinatorPort) -> bool:
        """Do the next thing the round needs from us, if any; True when a message was sent."""
        status = port.status()
        if status.round_id == 0 or status.stage in ("idle",):
            return False
        if status.round_id != self._round_id:
            self.start_round(status.round_id)
        if self._silent():
            return False
        rec = self.rounds[self._round_id]
        try:
            if status.stage == ADVERTISE_KEYS and ADVERTISE_KEYS not in rec.done:
                if self._drops("before_keys"):
                    return False
                self._keep(rec, port.submit_keys(self.advertise_keys()))
                rec.done.append(ADVERTISE_KEYS)
                return True
            if status.stage == SHARE_KEYS and status.roster_posted and SHARE_KEYS not in rec.done:
                if ADVERTISE_KEYS not in rec.done:
                    rec.left_out = "joined after the key stage"
                    return False
                if self._drops("after_keys"):
                    return False
                self._keep(rec, port.submit_shares(self.share_keys()))
                rec.done.append(SHARE_KEYS)
                return True
            if status.stage == MASKED_INPUT and MASKED_INPUT not in rec.done:
                if self._pending_commit is None:
                    if SHARE_KEYS not in rec.done or self._drops("after_shares"):
                        return False
                    masked_hash, seed_c = self.masked_input(port.shares_for(self.address))
                    if self._pending_commit is not None:
                        return True  # in flight: tell the coordinator once it is mined
                else:
                    masked_hash, seed_c = self.settle_commit()
                rec.done.append(MASKED_INPUT)
                if self._drops("after_commit"):
                    return True  # committed and uploaded, but never tells the coordinator
                self._keep(rec, port.submit_masked(self.address, masked_hash, seed_c, self._report))
                return True
            if status.stage == UNMASK and UNMASK not in rec.done:
                if MASKED_INPUT not in rec.done or self._drops("during_unmask"):
                    return False
                request = port.unmask_request_for(self.address)
                facts = self.facts(request, port.dropout_reports())
                self._keep(rec, port.submit_unmask(self._signed(self.unmask(request, facts))))
                rec.done.append(UNMASK)
                return True
        except NotInRoster as exc:
            rec.left_out = str(exc)
            return False
        except NotSampled as exc:
            rec.left_out = str(exc)  # the rule, not a fault: say so and wait for the next round
            log.info("participant %s: %s", self.address, exc)
            return False
        except SatOut as exc:
            rec.left_out = str(exc)  # a peer or the aggregator misbehaved: refuse, never crash
            return False
        except ModelRefused as exc:
            rec.left_out = rec.model_check = f"refused: {exc}"
            log.warning("participant %s: %s", self.address, exc)
            return False
        except VerifyPending as exc:
            rec.model_check = f"pending: {exc}"  # not a verdict: look again at the next step
            return False
        except (NotReady, WrongStage):
            return False  # the coordinator moved on or is not there yet: look again later
        return False

    receipts_dir: Path | None = None
    """Where to save the aggregator's receipts (evidence against censorship), if anywhere."""
    commit_pipeline: TxPipeline | None = None
    """Send the commit through this pipeline without waiting for its receipt (simulations
    batch many participants' commits); None: wait for the receipt before going on."""
    event_cache: EventCache | None = None
    """RoundLog events shared with other readers in this process (a simulation's participants
    all read the same commits); None: fetch them from the chain each time."""

    def _keep(self, rec: ParticipantRound, receipt: Receipt | None) -> None:
        """Keep the aggregator's receipt of a write (and save it when `receipts_dir` is set)."""
        if receipt is None:
            return
        rec.receipts.append(receipt)
        if self.receipts_dir is not None:
            save_receipt(receipt, self.receipts_dir)

    def start_round(self, round_id: int) -> None:
        """Forget the previous round's secrets and get ready for `round_id`."""
        self._round_id = round_id
        self.rounds[round_id] = ParticipantRound(round_id)
        self._client = None
        self._info = None
        self._update = None
        self._masked = None
        self._member = None
        self._report = None
        self._pending_commit = None

    def _read_round(self) -> RoundInfo:
        t0 = time.perf_counter()
        info = self.contracts.round_log.get_round(self._round_id)
        self._add("chain", t0)
        return info

    # -- the stages (callable directly by a transport that drives them itself) ------------
    def advertise_keys(self) -> KeyBundle:
        """Read the round from chain, fetch and check the model, train, and sign fresh keys."""
        if self._round_id not in self.rounds:
            raise ProtocolError(
                ADVERTISE_KEYS, "round", "no round started (call step or start_round)"
            )
        info = self._read_round()
        if info.stage != Stage.OPENED:
            raise ProtocolError(
                ADVERTISE_KEYS, "round", f"round {self._round_id} is {info.stage.name} on chain"
            )
        self._info = info
        self._verify_model(info)
        t0 = time.perf_counter()
        try:
            model = self.store.get(info.model_hash.hex())
        except StoreError as exc:
            raise ProtocolError(
                ADVERTISE_KEYS, "modelHash", f"global model unavailable: {exc}"
            ) from None
        self._add("store", t0)
        if sha256(model) != info.model_hash:
            raise ProtocolError(ADVERTISE_KEYS, "modelHash", "the store returned another model")
        t0 = time.perf_counter()
        self._update = self._train(model, info.config)
        if info.config.dp_mode != DP_NONE:  # modes 1 and 2: this round's release is DP
            self.privacy.record(info.config)
        self._add("training", t0)
        rec = self.rounds[self._round_id]
        rec.train_loss, rec.examples = self._update.train_loss, self._update.weight
        if info.config.dp_mode != DP_NONE:
            rec.epsilon = self.privacy.epsilon()
        t0 = time.perf_counter()
        ctx = RoundContext(self.chain.chain_id, self.contracts.round_log.address, self._round_id)
        params = info.config.secagg_params()
        self._client = SecAggClient(
            ctx, params, self.account, vector_length=self._update.delta.size + 1
        )
        bundle = self._client.advertise_keys()
        self._add("secagg", t0)
        return bundle

    def _verify_model(self, info: RoundInfo) -> None:
        """Verify the rounds behind this round's model (ModelRefused, VerifyPending)."""
        rec = self.rounds[self._round_id]
        t0 = time.perf_counter()
        receipts = {r: past.receipts for r, past in self.rounds.items()}
        try:
            verdicts = self.verifier.check(self._round_id, info, receipts)
        finally:
            self._add("verify", t0)
        mode = self.verifier.mode
        if mode == "off":
            rec.model_check = "off"
        elif verdicts:
            done = ", ".join(str(v.round_id) for v in verdicts)
            rec.model_check = f"verified ({mode}): checked round(s) {done}"
        else:
            rec.model_check = f"verified ({mode}): nothing new to check"

    def _train(self, model: bytes, config: RoundConfig) -> LocalUpdate:
        """Local training through the task; DP-SGD (dpMode 1) where fedledger owns the loop."""
        seed = derive_seed(self.seed, self._round_id - 1, self.index)
        if config.dp_mode != DP_SGD:
            return self.runner.update(model, round_id=self._round_id, seed=seed)
        task, data = self.runner.task, self.runner.data
        if not isinstance(task, BuiltinTask):
            # Per-example clipping needs the training loop: a user's own loop cannot be made DP.
            raise ProtocolError(
                ADVERTISE_KEYS,
                "dpMode",
                f"the round asks for DP-SGD (dpMode 1), which fedledger runs for built-in "
                f"tasks only; task {self.runner.name!r} trains with its own loop",
            )
        self.runner.check(model)
        module = build_model(
            task.model,
            n_features=self.model_spec.n_features,
            n_classes=self.model_spec.n_classes,
            seed=self.seed,
        )
        dp = DpSgdParams.from_config(config)
        return train_local_dp(module, model, data.X, data.y, dp=dp, config=task.train, seed=seed)

    def share_keys(self) -> ShareKeysMessage:
        """Fetch the roster named on chain, check it, and share our secrets with our neighbours."""
        assert self._client is not None
        info = self._read_round()
        if info.stage != Stage.ROSTERED:
            raise NotReady(
                SHARE_KEYS, "roster", f"round {self._round_id} is {info.stage.name} on chain"
            )
        t0 = time.perf_counter()
        try:
            blob = self.store.get(info.roster_hash.hex())
        except StoreError as exc:
            raise ProtocolError(SHARE_KEYS, "rosterHash", f"roster unavailable: {exc}") from None
        self._add("store", t0)
        t0 = time.perf_counter()
        try:
            roster = _parse_roster(blob)
        except ProtocolError as exc:
            raise SatOut(f"refused the roster: {exc}") from None
        if info.config.cohort_size:
            self._check_sample(info, roster)  # NotSampled, or SatOut when it is not the sample
        if self.address not in roster:
            self._add("secagg", t0)
            raise NotInRoster(SHARE_KEYS, "roster", f"{self.address} is not in the on-chain roster")
        # Our commit proof comes from our own tree of the blob the chain names, never from the
        # coordinator; a blob whose tree is not the on-chain root is not the roster we commit to.
        tree = roster.tree()
        if tree.root != info.roster_root or tree.count != info.member_count:
            self._add("secagg", t0)
            raise SatOut(
                f"refused the roster: its Merkle root {tree.root.hex()} ({tree.count} members) "
                f"is not the on-chain {info.roster_root.hex()} ({info.member_count})"
            )
        self._member = tree.member(self._round_id, self.address)
        self.rounds[self._round_id].member = self._member
        try:
            message = self._client.share_keys(roster, info.seed)
        except ProtocolError as exc:  # e.g. a neighbour's unusable key the roster kept
            raise SatOut(f"refused the roster: {exc}") from None
        self._add("secagg", t0)
        return message

    def _check_sample(self, info: RoundInfo, roster: Roster) -> None:
        """The roster must be the chain's sample of the candidates the chain names (2.3).

        Raises NotSampled when the rule leaves us out (we wait for the next round), SatOut when
        the roster is not the sample or the candidates leave out our receipted bundle: the
        aggregator chose the cohort, and we take no part in it.
        """
        assert self._client is not None
        r = self._round_id
        try:
            blob = self.store.get(info.candidates_hash.hex())
            candidates = read_candidates(blob, info, self._client.ctx, verify_signatures=False)
        except (StoreError, ProtocolError) as exc:
            raise SatOut(
                f"refused the roster: the round's candidates are unusable: {exc}"
            ) from None
        if self.address not in candidates:
            receipted = any(x.stage == ADVERTISE_KEYS for x in self.rounds[r].receipts)
            if receipted:
                raise SatOut(
                    f"the aggregator left our receipted key bundle out of the candidates of "
                    f"round {r}: censorship (publish the receipt: fedledger audit verify --receipt)"
                )
            raise NotInRoster(SHARE_KEYS, "candidates", f"{self.address} is not a candidate")
        verdict = judge_sample(candidates, roster, info.sample_seed, info.config.cohort_size)
        if not verdict.ok:
            raise SatOut(
                f"refused the roster of round {r}: it is not the chain's sample of its "
                f"{verdict.candidates} candidates, the aggregator chose the cohort "
                f"({verdict.departures()})"
            )
        if self.address not in verdict.sampled:
            raise NotSampled(
                f"not sampled in round {r}: the chain's sample took {len(verdict.sampled)} of "
                f"{verdict.candidates} candidates; waiting for the next round"
            )

    def masked_input(self, shares: list[EncryptedShare]) -> tuple[bytes, bytes]:
        """Quantize and mask our update, upload the blob, commit on chain from our own account.

        SatOut when the client refuses to mask (fewer than t valid sharers, a misrouted
        inbox): nothing is uploaded or committed, and the round goes on without us.
        """
        assert self._client is not None and self._update is not None and self._info is not None
        t0 = time.perf_counter()
        params = self._info.config.secagg_params()
        assert self._member is not None
        # commit accepts weights up to min(maxWeight, the cap governance set for us).
        cap = self.contracts.registry.weight_cap_of(self.address) or self._info.config.max_weight
        cap = min(cap, self._info.config.max_weight)
        # dpMode 2: clipped, rounded and noised here, before masking (protocol 3.4).
        assert self._client.roster is not None
        x = encode_input(
            self._update.delta,
            min(self._update.weight, cap),
            params,
            ctx=self._client.ctx,
            participants=len(self._client.roster),
        )
        try:
            masked = self._client.masked_input(x, shares)
        except ProtocolError as exc:
            raise SatOut(f"refused to mask: {exc}") from None
        self._report = masked.dropouts
        self._add("secagg", t0)
        t0 = time.perf_counter()
        self.store.put_expected(masked.masked_hash.hex(), masked.vector)
        self._add("store", t0)
        t0 = time.perf_counter()
        self._masked = (masked.masked_hash, masked.seed_commitment)
        # The commitment carries the FedAvg weight x[0] = min(examples, maxWeight).
        if self.commit_pipeline is not None:
            self._pending_commit = self.contracts.round_log.submit_commit(
                self.commit_pipeline,
                self._round_id,
                masked.masked_hash,
                masked.seed_commitment,
                weight=int(x[0]),
                member=self._member,
                sender=self.account,
            )
            self._add("chain", t0)
            return self._masked
        tx = self.contracts.round_log.commit(
            self._round_id,
            masked.masked_hash,
            masked.seed_commitment,
            weight=int(x[0]),
            member=self._member,
            sender=self.account,
        )
        self._add("chain", t0)
        self.rounds[self._round_id].commit_gas = tx.gas_used
        return self._masked

    def settle_commit(self) -> tuple[bytes, bytes]:
        """Wait for a pipelined commit's receipt; its revert raises PipelinedRevert."""
        assert self._pending_commit is not None and self._masked is not None
        t0 = time.perf_counter()
        pending, self._pending_commit = self._pending_commit, None
        tx = pending.result()
        self._add("chain", t0)
        self.rounds[self._round_id].commit_gas = tx.gas_used
        return self._masked

    def facts(self, request: UnmaskRequest, reports: list[LocalDropouts]) -> Partition:
        """Who survived, from the chain (UpdateCommitted) and the blob store (public_facts)."""
        assert self._client is not None and self._info is not None
        t0 = time.perf_counter()
        committed: dict[str, bytes] = {}
        if self.event_cache is not None:
            events = self.event_cache.events(
                from_block=self._info.opened_block, names=["UpdateCommitted"]
            )
        else:
            events = fetch_events(
                self.chain,
                self.contracts.round_log.address,
                from_block=self._info.opened_block,
                names=["UpdateCommitted"],
            )
        for ev in events:
            if int(ev.args["round"]) == self._round_id:
                committed[str(ev.args["participant"])] = bytes(ev.args["maskedUpdateHash"])
        self._add("chain", t0)
        t0 = time.perf_counter()
        blob_ok = blob_checker(self.store, committed, self._client.vector_length)
        facts = public_facts(
            self._client, request, committed=committed, blob_ok=blob_ok, reports=reports
        )
        self._add("store", t0)
        return facts

    def unmask(self, request: UnmaskRequest, facts: Partition | None = None) -> UnmaskResponse:
        """Our shares of survivors' self-mask seeds and of dropped neighbours' mask keys.

        SatOut when the request disagrees with the public facts or with whom we masked
        with: answering could hand the aggregator both secrets of a peer.
        """
        assert self._client is not None
        t0 = time.perf_counter()
        try:
            response = self._client.unmask(request, facts)
        except ProtocolError as exc:
            raise SatOut(f"refused to unmask: {exc}") from None
        self._add("secagg", t0)
        return response

    def _signed(self, response: UnmaskResponse) -> UnmaskResponse:
        """Sign what `unmask` returned (a subclass may have rebuilt it): it is published."""
        assert self._client is not None
        return response.signed(self._client.ctx, self.account.key)

    def summary(self) -> dict[str, Any]:
        """Per-round records as JSON."""
        return {str(r): rec.__dict__ for r, rec in self.rounds.items()}
