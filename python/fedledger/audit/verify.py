"""verify_round_from_chain: audit a round from a JSON-RPC node, the deployment record and blobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from eth_utils import to_checksum_address
from pydantic import BaseModel, Field

from fedledger.audit.blobs import BlobSource
from fedledger.audit.privacy import privacy_cost
from fedledger.audit.slashes import SlashProblem, justify_slash
from fedledger.audit.transcript import AssembledRound, ChainRound, assemble_round
from fedledger.chain.backend import ChainBackend
from fedledger.chain.cohort import sample_seed
from fedledger.chain.datatypes import RoundConfig, RoundInfo, Stage
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.chain.rewards import reward_amounts
from fedledger.encoding import to_hex
from fedledger.errors import FedledgerError
from fedledger.protocol.cohort import judge_sample, read_candidates
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.blame import judge_accusation
from fedledger.secagg.checks import Check, CheckContext, CheckFailed, Outcome, run_checks
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.engine import Engine
from fedledger.secagg.messages import Reveal, Roster
from fedledger.secagg.params import RoundContext
from fedledger.secagg.vectors import decode_vector
from fedledger.secagg.verify import verify_round

__all__ = [
    "ANY_STAGE_CHECKS",
    "CHECKS",
    "AuditReport",
    "BlobReport",
    "ChainAudit",
    "CheckResult",
    "chain_checks",
    "verify_round_from_chain",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return to_hex(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


class CheckResult(BaseModel):
    """A check as the auditor reports it: the runner's Check, JSON-ready, with its source."""

    name: str
    source: Literal["chain", "secagg"]
    passed: bool
    expected: Any = None
    found: Any = None
    detail: str = ""

    @classmethod
    def of(cls, check: Check, source: Literal["chain", "secagg"]) -> CheckResult:
        """The report form of one Check run by `source`'s runner."""
        return cls(
            name=check.name,
            source=source,
            passed=check.passed,
            expected=_jsonable(check.expected),
            found=_jsonable(check.found),
            detail=check.detail,
        )


class BlobReport(BaseModel):
    """How one blob named on chain was found in the store."""

    role: str
    name: str
    status: str
    found_hash: str | None = None
    detail: str = ""


class AuditReport(BaseModel):
    """The outcome of auditing one round; `ok` only when every check passed."""

    round: int
    stage: str
    ok: bool
    failed: list[str]
    checks: list[CheckResult]
    blobs: list[BlobReport] = Field(default_factory=list)
    chain_id: int
    round_log: str
    block: int
    """Latest block when the audit ran."""
    failure_reason: str | None = None
    """RoundFailed reason, for failed rounds."""

    def check(self, name: str) -> CheckResult:
        """The check called `name` (KeyError if it did not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass
class ChainAudit(CheckContext):
    """One run of the chain-side checks over an assembled round."""

    assembled: AssembledRound

    @property
    def chain(self) -> ChainRound:
        """What the chain says about the round."""
        return self.assembled.chain

    @property
    def info(self) -> RoundInfo:
        """getRound of the round."""
        return self.assembled.chain.info

    def weights(self) -> dict[str, int]:
        """Committed weight per committer, from UpdateCommitted."""
        return {e.args["participant"]: int(e.args["weight"]) for e in self.chain.commits}

    def participant_blob(self, role: str) -> bool:
        """Whether `role` is a masked blob of a committer the round did not count as a survivor
        (its absence or malformation is that participant's fault: `participant_blobs`)."""
        if not role.startswith("masked:"):
            return False
        return role.removeprefix("masked:") not in self.survivor_set

    @cached_property
    def survivor_set(self) -> frozenset[str]:
        """The round's survivors, built once per audit (asked once per blob)."""
        return frozenset(self.chain.survivors)

    def vector_length(self) -> int | None:
        """Elements of a masked vector this round: the old model's size + 1 (None if unknown)."""
        data, fetch = self.assembled.blob("old_model"), self.assembled.blobs.get("old_model")
        if data is None or fetch is None or not fetch.ok:
            return None
        from fedledger.fl.serialization import model_size  # numpy + safetensors only

        try:
            return model_size(data) + 1
        except FedledgerError:
            return None

    def blob_fault(self, participant: str) -> str:
        """Why `participant`'s committed blob is provably unusable ('' when it is usable)."""
        fetch = self.assembled.blobs.get(f"masked:{participant}")
        if fetch is None or not fetch.ok:
            status = fetch.status if fetch is not None else "missing"
            return f"committed blob {status}"
        if participant in self.assembled.masked_faults:  # checked when fetched (not kept)
            return self.assembled.masked_faults[participant]
        if fetch.data is None:
            return f"committed blob {fetch.status}"
        try:
            decode_vector(fetch.data, length=self.vector_length())
        except FedledgerError as exc:
            return f"committed blob malformed: {exc}"
        return ""

    def finalized_only(self) -> None:
        """Stop the calling check unless the round is finalized."""
        if self.info.stage != Stage.FINALIZED or self.chain.finalized is None:
            raise CheckFailed("round is not finalized", "finalized", self.info.stage.name.lower())


# The checks of docs/protocol.md 6.B, each named by its function.


def round_stage(c: ChainAudit) -> Outcome:
    """The round is finished (finalized or failed)."""
    if c.info.stage in (Stage.FINALIZED, Stage.FAILED):
        return "finalized or failed", c.info.stage.name.lower()
    raise CheckFailed(
        "round is still in progress: nothing to verify yet",
        "finalized or failed",
        c.info.stage.name.lower(),
    )


def params_snapshot(c: ChainAudit) -> Outcome:
    """getRound's config equals the RoundOpened snapshot and is a usable SecAgg parameter set."""
    cr, info = c.chain, c.info
    if cr.opened is None:
        raise CheckFailed("no RoundOpened event for this round", "RoundOpened", None)
    emitted = RoundConfig.from_abi(cr.opened.args["config"])
    if emitted != info.config:
        raise CheckFailed(
            "getRound config differs from the RoundOpened snapshot",
            emitted.to_json(),
            info.config.to_json(),
        )
    if c.assembled.params_error:
        raise CheckFailed(
            f"snapshot is not a usable SecAgg parameter set: {c.assembled.params_error}",
            None,
            info.config.to_json(),
        )
    info.config.secagg_params()
    return "RoundOpened snapshot == getRound config", info.config.to_json()


def blobs_available(c: ChainAudit) -> Outcome:
    """Every blob the aggregator answers for is in the store and hashes to its name.

    The masked blob of a committer that is not a survivor is its own business
    (`participant_blobs`): a participant that commits without uploading blames nobody else.
    """
    blobs = {r: f for r, f in c.assembled.blobs.items() if not c.participant_blob(r)}
    bad = {role: f"{f.status}: {f.detail}" for role, f in blobs.items() if not f.ok}
    if bad:
        raise CheckFailed(
            f"{len(bad)} blob(s) named on chain are missing or altered",
            "every blob present",
            bad,
        )
    return "every blob present and hashing to its name", f"{len(blobs)} blobs"


def participant_blobs(c: ChainAudit) -> Outcome:
    """Every non-survivor committer's blob is in the store and a vector of the round's length.

    A failure names participants, never the aggregator: each committed a hash on chain from its
    own account and then withheld the blob or uploaded a malformed one (docs/protocol.md 6.B).
    (A survivor's blob is the aggregator's to answer for: `blobs_available`.)
    """
    others = sorted(p for p in c.chain.commitments if p not in c.survivor_set)
    faults = {p: why for p in others if (why := c.blob_fault(p))}
    if faults:
        raise CheckFailed(
            f"{len(faults)} participant(s) committed a missing or malformed blob "
            "(their fault, not the aggregator's)",
            "every committed blob present and well-formed",
            faults,
        )
    return "every committed blob present and well-formed", f"{len(others)} non-survivor blobs"


def roster_members(c: ChainAudit) -> Outcome:
    """RosterPosted agrees with getRound, and the signed roster blob's Merkle tree, rebuilt
    here (leaf i = (i, address, bundle hash), OpenZeppelin's standard tree), has the on-chain
    root and member count."""
    a, cr, info = c.assembled, c.chain, c.info
    if info.stage == Stage.OPENED or (info.stage == Stage.FAILED and cr.roster is None):
        return "no roster posted", "no roster posted"
    if cr.roster is None:
        raise CheckFailed("no RosterPosted event", "RosterPosted", None)
    ev = cr.roster.args
    for key, stored in (
        ("rosterHash", to_hex(info.roster_hash)),
        ("rosterRoot", to_hex(info.roster_root)),
        ("memberCount", info.member_count),
    ):
        posted = ev[key] if key == "memberCount" else to_hex(ev[key])
        if posted != stored:
            raise CheckFailed(f"RosterPosted {key} differs from getRound", stored, posted)
    data = a.blob("roster")
    fetch = a.blobs.get("roster")
    if data is None or fetch is None or not fetch.ok:
        raise CheckFailed("cannot compare: the roster blob is missing or altered", None, None)
    tree = Roster.from_bytes(data).tree()
    want = {"root": to_hex(info.roster_root), "members": info.member_count}
    got = {"root": to_hex(tree.root), "members": tree.count}
    if got != want:
        raise CheckFailed("the signed roster's Merkle tree is not the on-chain roster", want, got)
    return want, got


def _published_candidates(c: ChainAudit) -> Roster:
    """The round's candidates blob, checked (CheckFailed naming the aggregator otherwise)."""
    a, info = c.assembled, c.info
    fetch = a.blobs.get("candidates")
    if fetch is None or not fetch.ok or fetch.data is None:
        status = fetch.status if fetch is not None else "missing"
        raise CheckFailed(
            f"aggregator {a.aggregator}: the candidates blob is {status}",
            to_hex(info.candidates_hash),
            None,
        )
    ctx = RoundContext(a.chain_id, a.round_log, info.round)
    try:
        return read_candidates(fetch.data, info, ctx)
    except FedledgerError as exc:
        raise CheckFailed(
            f"aggregator {a.aggregator}: the candidates blob is not valid: {exc}",
            "signed candidates of this round",
            None,
        ) from None


def cohort_sample(c: ChainAudit) -> Outcome:
    """In a round with a cohort size, the roster is exactly the chain's sample of the posted
    candidates: the min(cohortSize, candidates) with the smallest keccak256(sampleSeed || address),
    sampleSeed = keccak256(abi.encode(seed, candidatesHash, blockhash(candidatesBlock))).

    Fails naming the aggregator, the only one who posts candidates and rosters.
    """
    a, cr, info = c.assembled, c.chain, c.info
    size = info.config.cohort_size
    if size == 0:
        if cr.candidates is not None:
            raise CheckFailed("candidates posted in a round without a cohort size", None, "posted")
        return "cohortSize 0: every candidate is rostered", "no sample"
    if cr.candidates is None:
        if cr.roster is None:
            return "no candidates posted", "no candidates posted"
        raise CheckFailed("a sampled roster without CandidatesPosted", "CandidatesPosted", None)
    ev = cr.candidates.args
    posted = {"hash": to_hex(ev["candidatesHash"]), "count": int(ev["candidateCount"])}
    stored = {"hash": to_hex(info.candidates_hash), "count": info.candidate_count}
    if posted != stored:
        raise CheckFailed("CandidatesPosted differs from getRound", stored, posted)
    candidates = _published_candidates(c)
    if cr.roster is None:
        return "candidates posted, no roster", {"candidates": len(candidates)}
    if cr.anchor_hash is None:
        raise CheckFailed("cannot read the candidates' block hash", info.candidates_block, None)
    seed = sample_seed(info.seed, info.candidates_hash, cr.anchor_hash)
    if seed != info.sample_seed:
        raise CheckFailed(
            "the stored sample seed is not the rule's", to_hex(seed), info.sample_seed
        )
    roster = _published_roster(c)
    if roster is None or not cr.roster_members:
        why = cr.roster_problem or "the roster blob is missing or altered"
        raise CheckFailed("cannot compare: " + why, None, None)
    verdict = judge_sample(candidates, roster, seed, size)
    summary = {"sampled": len(verdict.sampled), "candidates": verdict.candidates}
    if not verdict.ok:
        raise CheckFailed(
            f"aggregator {a.aggregator} rostered a cohort that is not the chain's sample",
            {**summary, "members": verdict.sampled},
            verdict.departures(),
        )
    return summary, summary


def commitment_slots(c: ChainAudit) -> Outcome:
    """UpdateCommitted events match the stored weights, committedCount and committedWeight."""
    cr, info = c.chain, c.info
    seen: dict[str, int] = {}
    bad: dict[str, Any] = {}
    for e in cr.commits:
        p = e.args["participant"]
        seen[p] = seen.get(p, 0) + 1
        if p in cr.dropped:
            # Its ledger word was reused once every weight in it was claimed.
            if p not in cr.claimed:
                bad[p] = {"event": int(e.args["weight"]), "stored": "dropped, never claimed"}
        elif cr.stored_weights.get(p) != int(e.args["weight"]):
            bad[p] = {"event": int(e.args["weight"]), "stored": cr.stored_weights.get(p)}
    twice = sorted(p for p, n in seen.items() if n > 1)
    if twice:
        raise CheckFailed(
            "more than one UpdateCommitted event for a participant", "one each", twice
        )
    outsiders = sorted(set(seen) - set(cr.members))
    if outsiders:
        raise CheckFailed("commitments from accounts outside the roster", cr.members, outsiders)
    if bad:
        raise CheckFailed("UpdateCommitted weights differ from the stored weights", {}, bad)
    if len(seen) != info.committed_count:
        raise CheckFailed(
            "committedCount differs from the UpdateCommitted events",
            info.committed_count,
            len(seen),
        )
    total = sum(int(e.args["weight"]) for e in cr.commits)
    if total != info.committed_weight:
        raise CheckFailed(
            "committedWeight differs from the UpdateCommitted weights",
            info.committed_weight,
            total,
        )
    return "weightOf(round, account) == UpdateCommitted weight", f"{len(seen)} commitments match"


def survivors_committed(c: ChainAudit) -> Outcome:
    """RoundFinalized agrees with getRound; the excluded ascend strictly and all committed;
    survivorCount is the committers minus the excluded."""
    c.finalized_only()
    cr, info = c.chain, c.info
    assert cr.finalized is not None
    ev = cr.finalized.args
    for key, stored in (
        ("aggregateHash", info.aggregate_hash),
        ("revealHash", info.reveal_hash),
        ("newModelHash", info.new_model_hash),
    ):
        if ev[key] != stored:
            raise CheckFailed(
                f"RoundFinalized {key} differs from getRound", to_hex(stored), to_hex(ev[key])
            )
    if not cr.members:
        raise CheckFailed("cannot name the survivors: " + cr.roster_problem, None, None)
    excluded = [int(i) for i in ev["excluded"]]
    if excluded != sorted(set(excluded)):
        raise CheckFailed("finalize's excluded list is not strictly ascending", None, excluded)
    committed = set(cr.commitments)
    members = cr.members
    missing = [i for i in excluded if i >= len(members) or members[i] not in committed]
    if missing:
        raise CheckFailed("excluded indexes without an UpdateCommitted event", [], missing)
    survivors = cr.survivors
    count = int(ev["survivorCount"])
    if count != len(survivors) or info.survivor_count != count:
        raise CheckFailed(
            "survivorCount is not the committers minus the excluded",
            len(survivors),
            {"event": count, "getRound": info.survivor_count},
        )
    return "committers minus the excluded", f"{len(survivors)} survivors, {len(excluded)} excluded"


def _reported_dropouts(c: ChainAudit) -> set[str]:
    """Committers a published local-dropout report names (signed by a committer for its own
    committed blob): a neighbour did not mask with them, so leaving them out is the protocol
    (docs/protocol.md 4.7), not the aggregator dropping an honest update."""
    t, blob = c.assembled.transcript, c.assembled.blob("reveal")
    if t is None or blob is None:
        return set()
    try:
        reveal = Reveal.from_bytes(blob)
    except FedledgerError:
        return set()
    ctx, commitments = RoundContext(t.chain_id, t.contract, t.round_id), c.chain.commitments
    out: set[str] = set()
    for a, report in reveal.local_dropouts.items():
        committed = commitments.get(a)
        bound = committed is not None and committed.masked_hash == report.masked_hash
        if bound and report.signer(ctx) == a:
            out.update(report.dropouts)
    return out


def committed_updates_included(c: ChainAudit) -> Outcome:
    """Every committed update whose blob is in the store and well-formed is a survivor.

    A committer whose blob is provably unusable (missing, altered, not a vector of the round's
    length) is left out rightly; `participant_blobs` names it.
    """
    c.finalized_only()
    cr = c.chain
    usable = sorted(p for p in cr.commitments if not c.blob_fault(p))
    reported = _reported_dropouts(c)
    omitted = [p for p in usable if p not in c.survivor_set and p not in reported]
    if omitted:
        raise CheckFailed(
            "committed updates with a well-formed matching blob in the store are not survivors",
            usable,
            cr.survivors,
        )
    return "every committed update with a usable blob is a survivor", f"{len(usable)} included"


def total_weight(c: ChainAudit) -> Outcome:
    """totalWeight is the survivors' committed weights (the W every decoder uses).

    The aggregate's element 0 (the sum of the participants' own weight elements) is reported,
    never required: a participant controls its element, so a mismatch blames no aggregator,
    and decoding never reads it (docs/protocol.md 4.9).
    """
    c.finalized_only()
    cr = c.chain
    assert cr.finalized is not None
    w = c.weights()
    expected = sum(w.get(s, 0) for s in cr.survivors)
    emitted = int(cr.finalized.args["totalWeight"])
    if emitted != expected:
        raise CheckFailed(
            "RoundFinalized totalWeight is not the survivors' committed weights",
            expected,
            emitted,
        )
    fetch = c.assembled.blobs.get("aggregate")
    first: int | None = None
    if fetch is not None and fetch.ok and fetch.data is not None:
        try:
            first = int(decode_vector(fetch.data)[0])
        except FedledgerError:
            first = None  # aggregate_recomputed names a malformed aggregate
    return expected, {"totalWeight": emitted, "aggregate[0]": first}


def model_chain(c: ChainAudit) -> Outcome:
    """The round starts from the previous finalized round's new model."""
    previous, model = c.chain.previous_new_model, c.info.model_hash
    if previous is None:
        return "first finalized round: any starting model", to_hex(model)
    if model != previous:
        raise CheckFailed(
            "round does not start from the previous round's new model",
            to_hex(previous),
            to_hex(model),
        )
    return to_hex(previous), to_hex(model)


def rewards_credited(c: ChainAudit) -> Outcome:
    """What each survivor claimed or may claim is the reward rule applied to the survivors."""
    c.finalized_only()
    cr, w = c.chain, c.weights()
    # Both modes (fixed per contribution, or by committed weight with a cap): protocol 3.1.
    expected = reward_amounts(c.info.config, {s: w.get(s, 0) for s in cr.survivors})
    paid = {**cr.claimable, **cr.claimed}
    found = {a: v for a, v in paid.items() if v}
    if found != expected:
        raise CheckFailed(
            "claimed and claimable rewards differ from the reward rule applied to the survivors",
            {k: str(v) for k, v in expected.items()},
            {k: str(v) for k, v in found.items()},
        )
    return {k: str(v) for k, v in expected.items()}, {k: str(v) for k, v in found.items()}


def slash_justified(c: ChainAudit) -> Outcome:
    """Every slash of the round is justified by the reveal and the chain."""
    c.finalized_only()
    a = c.assembled
    justified, problems = [], {}
    for record in a.slashes:
        try:
            justified.append(
                justify_slash(
                    record,
                    info=c.info,
                    committers=list(c.chain.commitments),
                    reveal_blob=a.blob("reveal"),
                    roster_blob=a.blob("roster"),
                )
            )
        except SlashProblem as exc:
            problems[f"{record.account} (reason {record.reason})"] = str(exc)
    if problems:
        raise CheckFailed(
            f"{len(problems)} slash(es) not justified", "every slash justified", problems
        )
    return "every slash justified by the reveal and the chain", justified


def _published_reveal(c: ChainAudit) -> Reveal | None:
    """The finalized round's reveal, when its blob is intact and parses."""
    fetch = c.assembled.blobs.get("reveal")
    if c.info.stage != Stage.FINALIZED or fetch is None or not fetch.ok or fetch.data is None:
        return None
    try:
        return Reveal.from_bytes(fetch.data)
    except FedledgerError:
        return None


def _published_roster(c: ChainAudit) -> Roster | None:
    """The round's roster, when its blob is intact and parses."""
    fetch = c.assembled.blobs.get("roster")
    if fetch is None or not fetch.ok or fetch.data is None:
        return None
    try:
        return Roster.from_bytes(fetch.data)
    except FedledgerError:
        return None


def share_accusations(c: ChainAudit) -> Outcome:
    """No published share accusation (4.6) proves a participant at fault.

    Each accusation travels in its accuser's local-dropout report with the accused's signed
    ciphertext and a proof of the pair's key: a ciphertext that does not open names its
    **sender**, one that opens names the **accuser** (a false accusation). Either way the
    culprit is a participant, never the aggregator; an accusation that proves nothing is the
    aggregator's to answer for, in `local_dropouts` (6.C), and is skipped here.
    """
    reveal, roster = _published_reveal(c), _published_roster(c)
    if reveal is None or roster is None:
        return "no published reveal and roster: nothing accused", 0
    faults: dict[str, str] = {}
    accusations = [a for r in reveal.local_dropouts.values() for a in r.accusations]
    for accusation in accusations:
        try:
            verdict = judge_accusation(reveal.ctx, roster, accusation)
        except FedledgerError:
            continue
        faults.setdefault(verdict.faulty, verdict.reason)
    if faults:
        raise CheckFailed(
            f"{len(faults)} participant(s) proven at fault by share accusations "
            "(their fault, not the aggregator's)",
            "no participant proven at fault",
            faults,
        )
    return "no participant proven at fault", f"{len(accusations)} accusations"


def _broken_receipt(c: ChainAudit, r: Receipt, reveal: Reveal | None) -> str:
    """Why the round contradicts receipt `r` ('' when it does not)."""
    p, cr = r.participant, c.chain
    members = {to_checksum_address(m) for m in cr.members}
    if r.stage == ADVERTISE_KEYS:
        if c.info.config.cohort_size and cr.candidates is not None:
            # A sampled round may leave a candidate out by the rule (cohort_sample), never
            # out of the candidates.
            fetch = c.assembled.blobs.get("candidates")
            listed = fetch is not None and fetch.ok and p in _candidate_addresses(fetch.data)
            if not listed:
                return "its key bundle was accepted, yet it is not among the posted candidates"
            return ""
        if cr.roster is not None and p not in members:
            return "its key bundle was accepted, yet it is not in the posted roster"
        return ""
    if reveal is None:
        return ""  # nothing published that could contradict it
    if r.stage == SHARE_KEYS and p in reveal.unshared:
        return "its shares were accepted, yet the reveal calls it unshared"
    commitment = cr.commitments.get(p)
    committed = commitment is not None and commitment.masked_hash == r.digest
    if r.stage == MASKED_INPUT and committed and p not in reveal.survivors:
        if p in _reported_dropouts(c):
            return ""  # a signed local-dropout report names it: leaving it out is the protocol
        return "its masked input (the committed hash) was accepted, yet it is not a survivor"
    if r.stage == UNMASK and p in reveal.survivors and p not in reveal.unmask_responses:
        return "its unmask response was accepted, yet the reveal does not publish it"
    return ""


def _candidate_addresses(blob: bytes | None) -> set[str]:
    """Participants listed in a candidates blob (empty when it does not parse)."""
    try:
        return set(Roster.from_bytes(blob or b"").addresses)
    except FedledgerError:
        return set()


def receipts_honoured(c: ChainAudit) -> Outcome:
    """No published receipt of the aggregator contradicts the round (censorship evidence).

    A receipt signed by the aggregator says it accepted a participant's message; a roster
    without that participant, or a reveal calling it unshared, dropped or silent, is then the
    aggregator's doing. Receipts not signed by the aggregator, or for other rounds, prove
    nothing and are only counted.
    """
    a = c.assembled
    mine = [r for r in a.receipts if r.round_id == c.info.round]
    valid = [r for r in mine if r.aggregator == a.aggregator]
    reveal = _published_reveal(c)
    broken = {
        f"{r.participant} ({r.stage})": why for r in valid if (why := _broken_receipt(c, r, reveal))
    }
    found = {"receipts": len(mine), "signedByAggregator": len(valid)}
    if broken:
        raise CheckFailed(
            f"the aggregator broke {len(broken)} of its signed receipt(s): censorship",
            "every receipted message honoured",
            broken,
        )
    return "every receipted message honoured", found


ANY_STAGE_CHECKS = (
    round_stage,
    params_snapshot,
    blobs_available,
    participant_blobs,
    roster_members,
    cohort_sample,
    commitment_slots,
    privacy_cost,
    receipts_honoured,
)
"""The checks that apply to every finished round (failed rounds stop here)."""

CHECKS = (
    *ANY_STAGE_CHECKS,
    survivors_committed,
    committed_updates_included,
    total_weight,
    model_chain,
    rewards_credited,
    slash_justified,
    share_accusations,
)
"""The checks of docs/protocol.md 6.B, in the order they run and are reported."""


def chain_checks(a: AssembledRound) -> list[CheckResult]:
    """The checks only the chain can answer; each runs on its own and never raises."""
    checks = CHECKS if a.chain.info.stage == Stage.FINALIZED else ANY_STAGE_CHECKS
    return [CheckResult.of(c, "chain") for c in run_checks(checks, ChainAudit(a))]


def audit_assembled(
    a: AssembledRound, *, chain_id: int, block: int, engine: Engine | None = None
) -> AuditReport:
    """Run the chain-side checks and, for finalized rounds, every check of secagg.verify_round
    (its mask regeneration on `engine`, default inline)."""
    checks = chain_checks(a)
    if a.transcript is not None:
        secagg = verify_round(a.transcript, engine=engine).checks
        checks += [CheckResult.of(c, "secagg") for c in secagg]
    info = a.chain.info
    return AuditReport(
        round=info.round,
        stage=info.stage.name.lower(),
        ok=all(c.passed for c in checks),
        failed=[c.name for c in checks if not c.passed],
        checks=checks,
        blobs=[
            BlobReport(
                role=r, name=f.name, status=f.status, found_hash=f.found_hash, detail=f.detail
            )
            for r, f in a.blobs.items()
        ],
        chain_id=chain_id,
        round_log=a.chain.opened.address if a.chain.opened else "",
        block=block,
        failure_reason=a.chain.failed.args["reason"] if a.chain.failed else None,
    )


def verify_round_from_chain(
    chain: ChainBackend,
    deployment: Deployment,
    store: BlobSource | str,
    round_id: int,
    *,
    contracts: Contracts | None = None,
    receipts: Sequence[Receipt] = (),
    engine: Engine | None = None,
) -> AuditReport:
    """Audit round `round_id` trusting only the chain and the hashes; never raises for a bad round.

    `store` is a BlobSource or a folder path / http(s) URL of the blob store. Raises ChainError
    when the node is unreachable or the round was never opened (an audit that cannot start).
    """
    from fedledger.audit.blobs import open_blob_source

    source = store if isinstance(store, BlobSource) else open_blob_source(store)
    contracts = contracts or deployment.attach(chain)
    block = chain.block_number
    assembled = assemble_round(contracts, deployment, source, round_id)
    assembled.receipts = list(receipts)
    return audit_assembled(assembled, chain_id=deployment.chain_id, block=block, engine=engine)
