"""A round's public transcript from chain + blob store only: the one builder, for auditors and sims.

`assemble_round` is the auditor's view (every blob fetched raw and re-hashed, nothing
trusted); `build_transcript` is the same transcript read through a BlobStore (the
simulation's own verification)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fedledger.audit.blobs import BlobFetch, BlobSource
from fedledger.audit.slashes import SlashRecord, read_slashes
from fedledger.chain.abi import event_topic
from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import DecodedEvent, RoundInfo, Stage
from fedledger.chain.deploy import Contracts, Deployment
from fedledger.chain.events import fetch_events
from fedledger.errors import FedledgerError, StoreError, VerificationError
from fedledger.protocol.receipts import Receipt
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.messages import Roster
from fedledger.secagg.transcript import PublicTranscript
from fedledger.secagg.vectors import decode_vector
from fedledger.store.base import BlobStore

__all__ = [
    "AssembledRound",
    "ChainRound",
    "SourceVectors",
    "StoreVectors",
    "assemble_round",
    "build_transcript",
    "public_transcript",
    "read_chain_round",
]

ROUND_EVENTS = (
    "RoundOpened",
    "RosterPosted",
    "UpdateCommitted",
    "RoundFinalized",
    "RoundFailed",
    "PrivacyBudgetSpent",
    "CandidatesPosted",
    "CohortSampled",
)


@dataclass
class ChainRound:
    """Everything the chain says about one round: its record, its events and the stored slots."""

    info: RoundInfo
    opened: DecodedEvent | None = None
    roster: DecodedEvent | None = None
    commits: list[DecodedEvent] = field(default_factory=list)
    finalized: DecodedEvent | None = None
    failed: DecodedEvent | None = None
    roster_members: list[str] = field(default_factory=list)
    """The signed roster's addresses (ascending), when its Merkle tree has the on-chain root."""
    roster_problem: str = ""
    """Why `roster_members` is empty although a roster was posted ('' otherwise)."""
    stored_weights: dict[str, int] = field(default_factory=dict)
    """weightOf(round, account) of every roster member that committed (its ledger entry)."""
    dropped: set[str] = field(default_factory=set)
    """Committers whose ledger entry is no longer kept: its ring word was reused after every
    weight in it had been claimed (docs/protocol.md 2.3), so each must have a claim here."""
    claimed: dict[str, int] = field(default_factory=dict)
    """RewardClaimed amounts of this round so far, by survivor."""
    claimable: dict[str, int] = field(default_factory=dict)
    """claimable(round, account, index) of every survivor that has not claimed."""
    previous_new_model: bytes | None = None
    """newModelHash of the latest finalized round before this one (None if there is none)."""
    privacy: DecodedEvent | None = None
    """PrivacyBudgetSpent of this round (rounds with an epsilon cost)."""
    spent_before: int = 0
    """Epsilon (millionths) spent before this round: the last earlier PrivacyBudgetSpent."""
    candidates: DecodedEvent | None = None
    """CandidatesPosted of this round (rounds with a cohort size)."""
    sampled: DecodedEvent | None = None
    """CohortSampled of this round (its postRoster, rounds with a cohort size)."""
    anchor_hash: bytes | None = None
    """Hash of the candidates' block (`candidatesBlock`), which seeds the sample."""

    @property
    def members(self) -> list[str]:
        """Roster addresses in index order (the blob whose tree root is on chain); empty before
        the roster or when no such blob was found."""
        return list(self.roster_members)

    @property
    def excluded(self) -> list[str]:
        """The committers finalize excluded (by roster index; unknown indexes are left out)."""
        if self.finalized is None:
            return []
        members = self.roster_members
        return [members[i] for i in map(int, self.finalized.args["excluded"]) if i < len(members)]

    @property
    def survivors(self) -> list[str]:
        """Committers in the roster minus the excluded, ascending (empty unless finalized)."""
        if self.finalized is None:
            return []
        gone, committed = set(self.excluded), self.commitments  # built once, not per member
        return [p for p in self.roster_members if p in committed and p not in gone]

    @property
    def commitments(self) -> dict[str, Commitment]:
        """participant -> (maskedHash, seedCommitment) of its first UpdateCommitted event."""
        out: dict[str, Commitment] = {}
        for e in self.commits:
            out.setdefault(
                e.args["participant"],
                Commitment(
                    e.args["maskedUpdateHash"], e.args["seedCommitment"], int(e.args["weight"])
                ),
            )
        return out


def read_chain_round(
    contracts: Contracts,
    round_id: int,
    *,
    slots: bool = True,
    roster_blob: Callable[[bytes], bytes | None] | None = None,
) -> ChainRound:
    """Read round `round_id` from RoundLog: getRound and its events; the roster's members from
    the blob `roster_blob(rosterHash)` returns when its Merkle tree has the on-chain root; and
    (with `slots`) the stored weights, claims and claimable rewards of its members."""
    log = contracts.round_log
    info = log.get_round(round_id)
    # A round's events lie between its open block and the next round's open block (rounds are
    # sequential); reward claims may come any time later and are read separately.
    to_block: int | str = "latest"
    if log.current_round() > round_id:
        to_block = log.get_round(round_id + 1).opened_block
    events = fetch_events(
        log.backend,
        log.address,
        from_block=info.opened_block,
        to_block=to_block,
        names=ROUND_EVENTS,
    )
    cr = ChainRound(info=info)
    for e in events:
        if int(e.args.get("round", -1)) != round_id:
            continue
        if e.name == "RoundOpened":
            cr.opened = e
        elif e.name == "RosterPosted":
            cr.roster = e
        elif e.name == "UpdateCommitted":
            cr.commits.append(e)
        elif e.name == "RoundFinalized":
            cr.finalized = e
        elif e.name == "RoundFailed":
            cr.failed = e
        elif e.name == "PrivacyBudgetSpent":
            cr.privacy = e
        elif e.name == "CandidatesPosted":
            cr.candidates = e
        elif e.name == "CohortSampled":
            cr.sampled = e
    if info.candidates_block:
        block = log.backend.w3.eth.get_block(info.candidates_block)
        cr.anchor_hash = bytes(block["hash"])
    if cr.roster is not None and roster_blob is not None:
        _read_roster(cr, roster_blob(info.roster_hash))
    if slots and cr.roster_members:
        _read_member_state(contracts, cr)
    for previous in range(round_id - 1, 0, -1):
        before = log.get_round(previous)
        if before.stage == Stage.FINALIZED:
            cr.previous_new_model = before.new_model_hash
            break
    if cr.privacy is not None:
        cr.spent_before = _spent_before(contracts, round_id)
    return cr


def _read_roster(cr: ChainRound, blob: bytes | None) -> None:
    """Members from the roster blob, if it parses and its rebuilt tree is the on-chain one."""
    info = cr.info
    if blob is None:
        cr.roster_problem = "the roster blob is missing"
        return
    try:
        tree = Roster.from_bytes(blob).tree()
    except FedledgerError as exc:
        cr.roster_problem = f"the roster blob does not parse: {exc}"
        return
    if tree.root != info.roster_root or tree.count != info.member_count:
        cr.roster_problem = (
            f"the roster blob's Merkle tree ({tree.root.hex()}, {tree.count} members) is not "
            f"the on-chain roster ({info.roster_root.hex()}, {info.member_count} members)"
        )
        return
    cr.roster_members = list(tree.members)


def _read_member_state(contracts: Contracts, cr: ChainRound) -> None:
    """Stored weights of the committers; claims and claimable rewards of the survivors."""
    log, round_id = contracts.round_log, cr.info.round
    index = {a: i for i, a in enumerate(cr.roster_members)}
    for a in cr.commitments:
        if a in index:
            entry = log.ledger_entry(round_id, a)
            if entry.dropped:
                cr.dropped.add(a)
            else:
                cr.stored_weights[a] = entry.weight
    if cr.info.stage != Stage.FINALIZED:
        return
    topics = [event_topic("RewardClaimed"), None, round_id.to_bytes(32, "big")]
    for e in fetch_events(log.backend, log.address, from_block=cr.info.opened_block, topics=topics):
        if e.name == "RewardClaimed":
            cr.claimed[e.args["participant"]] = int(e.args["amount"])
    for a in cr.survivors:
        if a not in cr.claimed:
            cr.claimable[a] = log.claimable(round_id, a, index[a])


def _spent_before(contracts: Contracts, round_id: int) -> int:
    """spentMicros of the latest PrivacyBudgetSpent before `round_id` (0 if none)."""
    log = contracts.round_log
    for previous in range(round_id - 1, 0, -1):
        before = log.get_round(previous)
        if before.config.epsilon_cost_micros == 0:
            continue
        block = before.opened_block
        for e in fetch_events(
            log.backend,
            log.address,
            from_block=block,
            to_block=block,
            names=("PrivacyBudgetSpent",),
        ):
            if int(e.args["round"]) == previous:
                return int(e.args["spentMicros"])
    return 0


@dataclass
class AssembledRound:
    """A round as the auditor sees it: chain facts, every fetched blob, and the transcript."""

    chain: ChainRound
    blobs: dict[str, BlobFetch] = field(default_factory=dict)
    """Role (roster, reveal, aggregate, old_model, new_model, masked:<addr>) -> fetch."""
    transcript: PublicTranscript | None = None
    """Built for finalized rounds whose parameter snapshot is usable."""
    params_error: str = ""
    slashes: list[SlashRecord] = field(default_factory=list)
    """Every ParticipantSlashed of the round with its transaction's events (finalized rounds)."""
    aggregator: str = ""
    """RoundLog's aggregator when the audit ran: the key receipts must be signed by."""
    chain_id: int = 0
    round_log: str = ""
    """The deployment's chain id and RoundLog address (what every signed bundle binds)."""
    receipts: list[Receipt] = field(default_factory=list)
    """Receipts participants published for this round (verified signatures), if any."""
    masked_faults: dict[str, str] = field(default_factory=dict)
    """Committer -> why its fetched masked blob is not a vector of the round ('' if it is).
    Masked blobs are checked as they arrive and not kept (`blobs` holds their status only)."""

    def blob(self, role: str) -> bytes | None:
        """The fetched bytes of a role (possibly altered), or None when nothing was returned."""
        fetch = self.blobs.get(role)
        return fetch.data if fetch is not None else None


_ZERO = bytes(32)


def assemble_round(
    contracts: Contracts, deployment: Deployment, source: BlobSource, round_id: int
) -> AssembledRound:
    """Read the chain, fetch every blob the chain names by hash, and build the PublicTranscript."""
    blobs: dict[str, BlobFetch] = {}

    def roster_blob(digest: bytes) -> bytes | None:
        if digest == _ZERO:
            return None
        blobs["roster"] = source.fetch(digest.hex())
        return blobs["roster"].data if blobs["roster"].ok else None

    cr = read_chain_round(contracts, round_id, roster_blob=roster_blob)
    out = AssembledRound(
        chain=cr,
        blobs=blobs,
        aggregator=contracts.round_log.aggregator(),
        chain_id=deployment.chain_id,
        round_log=contracts.round_log.address,
    )
    info = cr.info

    def fetch(role: str, digest: bytes) -> None:
        if digest != _ZERO:
            out.blobs[role] = source.fetch(digest.hex())

    fetch("candidates", info.candidates_hash)  # zero (nothing fetched) without a cohort size
    finalized = info.stage == Stage.FINALIZED
    if finalized:
        fetch("old_model", info.model_hash)  # first: it fixes the masked vectors' length
    old = out.blobs.get("old_model")
    length = _vector_length(old.data) if old is not None and old.ok else None
    present: list[str] = []
    for participant, commitment in sorted(cr.commitments.items()):
        # One masked blob in memory at a time: check it, keep its status, drop its bytes.
        role, name = f"masked:{participant}", commitment.masked_hash.hex()
        got = source.fetch(name)
        out.blobs[role] = replace(got, data=None)
        if got.data is not None:
            present.append(name)
            out.masked_faults[participant] = _vector_fault(got.data, length)
    if not finalized:
        return out
    fetch("reveal", info.reveal_hash)
    fetch("aggregate", info.aggregate_hash)
    fetch("new_model", info.new_model_hash)
    out.slashes = read_slashes(contracts, deployment, info)
    try:
        info.config.secagg_params()
    except FedledgerError as exc:
        out.params_error = str(exc)
        return out
    out.transcript = public_transcript(
        cr,
        chain_id=deployment.chain_id,
        contract=contracts.round_log.address,
        # A blob that could not be fetched stands in as b"": its hash check then fails by name.
        fetch=lambda role, _digest: out.blob(role),
        extra={"assembledBy": "fedledger.audit", "blobStore": source.location},
        vectors=SourceVectors(source, present),
    )
    return out


def _vector_length(old_model: bytes | None) -> int | None:
    """Elements of a masked vector: the old model's size + 1 (None if it does not parse)."""
    if old_model is None:
        return None
    from fedledger.fl.serialization import model_size  # numpy + safetensors only

    try:
        return model_size(old_model) + 1
    except FedledgerError:
        return None


def _vector_fault(blob: bytes, length: int | None) -> str:
    """Why `blob` is not a masked vector of `length` elements ('' when it is)."""
    try:
        decode_vector(blob, length=length)
    except FedledgerError as exc:
        return f"committed blob malformed: {exc}"
    return ""


class SourceVectors(Mapping[str, bytes]):
    """Masked-vector blobs by name, fetched raw from a BlobSource on access (not kept)."""

    def __init__(self, source: BlobSource, names: Iterable[str]) -> None:
        self.source = source
        self.names = list(dict.fromkeys(names))

    def __getitem__(self, name: str) -> bytes:
        data = self.source.fetch(name).data if name in self.names else None
        if data is None:
            raise KeyError(name)
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


Fetch = Callable[[str, bytes], bytes | None]
"""(role, sha256) -> the blob's bytes, None when there are none (see AssembledRound.blobs)."""


class StoreVectors(Mapping[str, bytes]):
    """Masked-vector blobs by name, read from a BlobStore on access (never all in memory)."""

    def __init__(self, store: BlobStore, names: Iterable[str]) -> None:
        self.store = store
        self.names = [n for n in dict.fromkeys(names) if store.has(n)]

    def __getitem__(self, name: str) -> bytes:
        if name not in self.names:
            raise KeyError(name)
        return self.store.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def public_transcript(
    cr: ChainRound,
    *,
    chain_id: int,
    contract: str,
    fetch: Fetch,
    extra: dict[str, Any] | None = None,
    vectors: Mapping[str, bytes] | None = None,
) -> PublicTranscript:
    """The PublicTranscript of a finalized round: chain facts, and the blobs they name by hash.

    The masked vectors come from `fetch` (role masked:<address>), or from `vectors` when
    given (a lazy mapping by blob name).
    """
    info = cr.info
    if vectors is None:
        vectors = {
            c.masked_hash.hex(): data
            for p, c in cr.commitments.items()
            if (data := fetch(f"masked:{p}", c.masked_hash)) is not None
        }
    return PublicTranscript(
        chain_id=chain_id,
        contract=contract,
        round_id=info.round,
        seed=info.seed,
        params=info.config.secagg_params(),
        min_participants=info.config.min_participants,
        roster=fetch("roster", info.roster_hash) or b"",
        roster_hash=info.roster_hash,
        commitments=cr.commitments,
        masked_vectors=vectors,
        reveal=fetch("reveal", info.reveal_hash) or b"",
        reveal_hash=info.reveal_hash,
        survivors=cr.survivors,
        aggregate=fetch("aggregate", info.aggregate_hash) or b"",
        aggregate_hash=info.aggregate_hash,
        old_model=fetch("old_model", info.model_hash) or b"",
        old_model_hash=info.model_hash,
        new_model=fetch("new_model", info.new_model_hash) or b"",
        new_model_hash=info.new_model_hash,
        extra=dict(extra or {}),
    )


def build_transcript(
    chain: ChainBackend, contracts: Contracts, store: BlobStore, round_id: int
) -> PublicTranscript:
    """The public transcript of a finalized round, its blobs read from `store` by their hashes.

    Reads nothing from the coordinator. A masked vector missing from the store is left out
    (the verifier names it); any other missing blob is a VerificationError.
    """

    def roster_blob(digest: bytes) -> bytes | None:
        return store.get(digest.hex()) if store.has(digest.hex()) else None

    cr = read_chain_round(contracts, round_id, slots=False, roster_blob=roster_blob)
    if cr.info.stage != Stage.FINALIZED:
        raise VerificationError(
            f"round {round_id} is {cr.info.stage.name}, not FINALIZED: nothing to verify"
        )
    if cr.finalized is None:
        raise VerificationError(f"round {round_id}: no RoundFinalized event found")

    def fetch(role: str, digest: bytes) -> bytes | None:
        try:
            return store.get(digest.hex())
        except StoreError as exc:
            what = role.replace("_", " ")
            raise VerificationError(
                f"round blob {what} ({digest.hex()}) unavailable: {exc}"
            ) from None

    # Masked vectors stay in the store: the verifier reads them one at a time.
    vectors = StoreVectors(store, (c.masked_hash.hex() for c in cr.commitments.values()))
    return public_transcript(
        cr,
        chain_id=chain.chain_id,
        contract=contracts.round_log.address,
        fetch=fetch,
        vectors=vectors,
    )
