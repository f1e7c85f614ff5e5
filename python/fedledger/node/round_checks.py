"""The auditor's checks of a finalized round as a node runs them: all (`full`) or some (`own`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fedledger.audit.blobs import BlobFetch, BlobSource
from fedledger.audit.transcript import (
    AssembledRound,
    assemble_round,
    public_transcript,
    read_chain_round,
)
from fedledger.audit.verify import (
    ChainAudit,
    CheckResult,
    audit_assembled,
    model_chain,
    params_snapshot,
    receipts_honoured,
    survivors_committed,
    total_weight,
)
from fedledger.chain.datatypes import Stage
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.encoding import sha256, sha256_hex
from fedledger.errors import FedledgerError, StoreError
from fedledger.protocol.receipts import Receipt
from fedledger.secagg import verify as crypto
from fedledger.secagg.checks import CheckFailed, Outcome, run_check, run_checks
from fedledger.secagg.messages import Reveal
from fedledger.secagg.params import RoundContext
from fedledger.secagg.vectors import decode_vector
from fedledger.store.base import BlobIntegrityError, BlobNotFoundError, BlobStore
from fedledger.store.http import CORRUPT_COPY

__all__ = [
    "OWN_CHAIN_CHECKS",
    "OWN_CRYPTO_CHECKS",
    "PARTICIPANT_FAULTS",
    "NodeAudit",
    "StoreSource",
    "full_checks",
    "own_checks",
    "own_commitment_included",
]

PARTICIPANT_FAULTS = frozenset({"participant_blobs"})
"""Checks whose failure names participants, never the aggregator: a node does not refuse a
model for them (one participant withholding its blob must not stop everyone's training)."""


class StoreSource(BlobSource):
    """A node's BlobStore read as an audit BlobSource: missing, altered and unreachable apart."""

    def __init__(self, store: BlobStore) -> None:
        self.location = repr(store)
        self._client = None
        self._root = None
        self.store = store

    def fetch(self, name: str) -> BlobFetch:
        """Fetch `name` through the store (which re-hashes it); never raises for a bad blob."""
        try:
            data = self.store.get(name)
        except BlobNotFoundError as exc:
            return BlobFetch(name, "missing", detail=str(exc))
        except BlobIntegrityError as exc:
            return BlobFetch(name, "mismatch", detail=str(exc))
        except StoreError as exc:
            if CORRUPT_COPY in str(exc):  # the server's own copy no longer hashes to its name
                return BlobFetch(name, "mismatch", detail=str(exc))
            return BlobFetch(name, "unreachable", detail=str(exc))
        except OSError as exc:
            return BlobFetch(name, "unreachable", detail=f"{type(exc).__name__}: {exc}")
        found = sha256_hex(data)
        if found != name:
            return BlobFetch(name, "mismatch", data, found, f"content hashes to {found}")
        return BlobFetch(name, "ok", data, found)


@dataclass
class NodeAudit(ChainAudit):
    """The chain-side checks' context, plus whose node runs them."""

    address: str = ""


def _reported(c: NodeAudit) -> bool:
    """Whether a published local-dropout report, signed by a committer for its own committed
    blob, names this node: leaving it out is then the protocol (docs/protocol.md 4.7)."""
    t, blob = c.assembled.transcript, c.assembled.blob("reveal")
    if t is None or blob is None:
        return False
    try:
        reveal = Reveal.from_bytes(blob)
    except FedledgerError:
        return False
    ctx, commitments = RoundContext(t.chain_id, t.contract, t.round_id), c.chain.commitments
    for sender, report in reveal.local_dropouts.items():
        committed = commitments.get(sender)
        if committed is None or committed.masked_hash != report.masked_hash:
            continue
        if c.address in report.dropouts and report.signer(ctx) == sender:
            return True
    return False


def own_commitment_included(c: NodeAudit) -> Outcome:
    """If this node committed a usable update in the round, it is among the aggregated ones.

    Exempt, as in `committed_updates_included`: a committed blob that is provably unusable
    (missing, altered, malformed), and a committer named by a valid local-dropout report.
    """
    c.finalized_only()
    me, survivors = c.address, c.chain.survivors
    if me not in c.chain.commitments:
        return "no commitment of ours: nothing to include", "did not commit"
    if me in survivors:
        return "our committed update is aggregated", "a survivor"
    if why := c.blob_fault(me):
        return "a usable committed update", f"left out rightly: our {why}"
    if _reported(c):
        return "a usable committed update", "left out rightly: a local-dropout report names us"
    raise CheckFailed(
        "our committed update (blob in the store, well-formed) is not among the aggregated "
        "survivors: the aggregator dropped it",
        me,
        survivors,
    )


def published_aggregate(v: crypto.Verification) -> Outcome:
    """The published aggregate blob hashes to the on-chain aggregateHash and parses (own mode
    takes it as the sum without recomputing it from the masked vectors)."""
    t = v.transcript
    found = sha256(t.aggregate)
    if found != t.aggregate_hash:
        raise CheckFailed(
            "published aggregate blob differs from the on-chain aggregate hash",
            t.aggregate_hash.hex(),
            found.hex(),
        )
    v.aggregate = decode_vector(t.aggregate)
    return t.aggregate_hash.hex(), found.hex()


def model_update(v: crypto.Verification) -> Outcome:
    """secagg's `model_update` on the published aggregate: old model + decoded aggregate is
    the on-chain new model."""
    v.need("published_aggregate", "reveal_hash")
    return crypto.model_update(v)


OWN_CHAIN_CHECKS = (
    params_snapshot,
    survivors_committed,
    total_weight,
    model_chain,
    receipts_honoured,
)
"""Chain-side checks of `own` mode (all cheap: events and two small blobs)."""

OWN_CRYPTO_CHECKS = (
    crypto.roster_hash,
    crypto.roster_signatures,
    crypto.reveal_hash,
    crypto.survivors_dropped_partition,
    published_aggregate,
    crypto.aggregate_in_range,
    model_update,
    crypto.participation,
)
"""Cryptographic checks of `own` mode: no masked vector read, no mask regenerated."""


def unreachable(a: AssembledRound) -> dict[str, str]:
    """Roles whose blob could not be fetched at all (the store did not answer)."""
    return {role: f.detail for role, f in a.blobs.items() if f.status == "unreachable"}


def _own_round(
    contracts: Contracts, deployment: Deployment, source: BlobSource, round_id: int, address: str
) -> AssembledRound:
    """The round with only the blobs `own` mode reads: roster, candidates (sampled rounds),
    reveal, aggregate, both models and this node's own masked vector."""
    blobs: dict[str, BlobFetch] = {}

    def roster_blob(digest: bytes) -> bytes | None:
        # The members (and so the survivors) come from the roster blob whose tree is on chain.
        if digest == bytes(32):
            return None
        blobs["roster"] = source.fetch(digest.hex())
        return blobs["roster"].data if blobs["roster"].ok else None

    cr = read_chain_round(contracts, round_id, slots=False, roster_blob=roster_blob)
    out = AssembledRound(
        chain=cr,
        blobs=blobs,
        aggregator=contracts.round_log.aggregator(),
        chain_id=deployment.chain_id,
        round_log=contracts.round_log.address,
    )
    info = cr.info
    mine = cr.commitments.get(address)
    wanted = {
        "candidates": info.candidates_hash,  # receipts of key bundles are checked against it
        "reveal": info.reveal_hash,
        "aggregate": info.aggregate_hash,
        "old_model": info.model_hash,
        "new_model": info.new_model_hash,
        **({f"masked:{address}": mine.masked_hash} if mine else {}),
    }
    for role, digest in wanted.items():
        if digest != bytes(32):
            out.blobs[role] = source.fetch(digest.hex())
    try:
        info.config.secagg_params()
    except FedledgerError as exc:
        out.params_error = str(exc)  # params_snapshot fails by name
        return out
    if info.stage == Stage.FINALIZED:
        out.transcript = public_transcript(
            cr,
            chain_id=deployment.chain_id,
            contract=contracts.round_log.address,
            fetch=lambda role, _digest: out.blob(role),
        )
    return out


def own_checks(
    contracts: Contracts,
    deployment: Deployment,
    source: BlobSource,
    round_id: int,
    *,
    address: str,
    receipts: Sequence[Receipt] = (),
) -> tuple[AssembledRound, list[CheckResult]]:
    """`own` mode over finalized round `round_id`: the round and its check results."""
    a = _own_round(contracts, deployment, source, round_id, address)
    a.receipts = list(receipts)
    audit = NodeAudit(a, address=address)
    results = [
        CheckResult.of(c, "chain")
        for c in run_checks((*OWN_CHAIN_CHECKS, own_commitment_included), audit)
    ]
    if a.transcript is not None:
        ctx = crypto.Verification(a.transcript)
        results += [CheckResult.of(c, "secagg") for c in run_checks(OWN_CRYPTO_CHECKS, ctx)]
    return a, results


def full_checks(
    contracts: Contracts,
    deployment: Deployment,
    source: BlobSource,
    round_id: int,
    *,
    address: str,
    receipts: Sequence[Receipt] = (),
) -> tuple[AssembledRound, list[CheckResult]]:
    """`full` mode: every check of the auditor (docs/protocol.md 6.B and 6.C), plus
    `own_commitment_included`, over round `round_id`."""
    a = assemble_round(contracts, deployment, source, round_id)
    a.receipts = list(receipts)
    report = audit_assembled(a, chain_id=deployment.chain_id, block=0)
    own = run_check(own_commitment_included, NodeAudit(a, address=address))
    return a, [*report.checks, CheckResult.of(own, "chain")]
