"""build_transcript: a round's PublicTranscript from chain + blob store only (auditor's view)."""

from __future__ import annotations

from eth_utils import to_checksum_address

from fedledger.chain.backend import ChainBackend
from fedledger.chain.datatypes import Stage
from fedledger.chain.deploy import Contracts
from fedledger.chain.events import fetch_events
from fedledger.coordinator.spec import secagg_params
from fedledger.errors import StoreError, VerificationError
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.transcript import PublicTranscript
from fedledger.store.base import BlobStore

__all__ = ["build_transcript"]


def _blob(store: BlobStore, digest: bytes, what: str) -> bytes:
    try:
        return store.get(digest.hex())
    except StoreError as exc:
        raise VerificationError(f"round blob {what} ({digest.hex()}) unavailable: {exc}") from None


def build_transcript(
    chain: ChainBackend, contracts: Contracts, store: BlobStore, round_id: int
) -> PublicTranscript:
    """The public transcript of a finalized round: RoundLog state and events, blobs by their hashes.

    Reads nothing from the coordinator: commitments come from `UpdateCommitted` events,
    survivors from `RoundFinalized`, every document from the store by its on-chain hash.
    A masked vector that is missing from the store is left out (the verifier names it).
    """
    log = contracts.round_log
    info = log.get_round(round_id)
    if info.stage != Stage.FINALIZED:
        raise VerificationError(
            f"round {round_id} is {info.stage.name}, not FINALIZED: nothing to verify"
        )
    events = fetch_events(
        chain,
        log.address,
        from_block=info.opened_block,
        names=["UpdateCommitted", "RoundFinalized"],
    )
    commitments: dict[str, Commitment] = {}
    survivors: list[str] | None = None
    for ev in events:
        if int(ev.args["round"]) != round_id:
            continue
        if ev.name == "UpdateCommitted":
            who = to_checksum_address(ev.args["participant"])
            commitments[who] = Commitment(
                bytes(ev.args["maskedUpdateHash"]), bytes(ev.args["seedCommitment"])
            )
        elif ev.name == "RoundFinalized":
            survivors = [to_checksum_address(a) for a in ev.args["survivors"]]
    if survivors is None:
        raise VerificationError(f"round {round_id}: no RoundFinalized event found")
    vectors: dict[str, bytes] = {}
    for u in survivors:
        c = commitments.get(u)
        if c is not None and store.has(c.masked_hash.hex()):
            vectors[c.masked_hash.hex()] = store.get(c.masked_hash.hex())
    return PublicTranscript(
        chain_id=chain.chain_id,
        contract=log.address,
        round_id=round_id,
        seed=info.seed,
        params=secagg_params(info.config),
        min_participants=info.config.min_participants,
        roster=_blob(store, info.roster_hash, "roster"),
        roster_hash=info.roster_hash,
        commitments=commitments,
        masked_vectors=vectors,
        reveal=_blob(store, info.reveal_hash, "reveal"),
        reveal_hash=info.reveal_hash,
        survivors=survivors,
        aggregate=_blob(store, info.aggregate_hash, "aggregate"),
        aggregate_hash=info.aggregate_hash,
        old_model=_blob(store, info.model_hash, "old model"),
        old_model_hash=info.model_hash,
        new_model=_blob(store, info.new_model_hash, "new model"),
        new_model_hash=info.new_model_hash,
    )
