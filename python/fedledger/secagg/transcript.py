"""The public transcript of a round: everything an auditor reads from chain and blob store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fedledger.encoding import canonical_json, from_canonical_json, from_hex, sha256_hex, to_hex
from fedledger.errors import FedledgerError, VerificationError
from fedledger.secagg.commitments import Commitment
from fedledger.secagg.params import SecAggParams

__all__ = ["TRANSCRIPT_VERSION", "PublicTranscript"]

TRANSCRIPT_VERSION = 1


def _weight(value: Any, participant: str) -> int:
    """A committed weight as RoundLog.commit accepts it (1..2^32-1)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 1 << 32:
        raise VerificationError(f"commitments[{participant}].weight: got {value!r}")
    return value


@dataclass
class PublicTranscript:
    """Public material only: on-chain values (…_hash, commitments, survivors) and blobs."""

    chain_id: int
    contract: str
    """RoundLog address."""
    round_id: int
    seed: bytes
    """32-byte round seed stored by RoundLog at open."""
    params: SecAggParams
    min_participants: int
    """From the round's parameter snapshot."""
    roster: bytes
    """Roster blob (canonical JSON of signed bundles)."""
    roster_hash: bytes
    """On chain."""
    commitments: dict[str, Commitment]
    """On chain: participant -> (masked-update hash, seed commitment), every committer."""
    masked_vectors: Mapping[str, bytes]
    """Blob store: blob name (sha256 hex) -> masked vector .npy bytes. May be lazy (read
    from the store on access): the verifier reads one at a time and never keeps them."""
    reveal: bytes
    reveal_hash: bytes
    """On chain."""
    survivors: list[str]
    """On chain (the finalize argument)."""
    aggregate: bytes
    aggregate_hash: bytes
    """On chain."""
    old_model: bytes
    old_model_hash: bytes
    """On chain (openRound's model hash)."""
    new_model: bytes
    new_model_hash: bytes
    """On chain."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes (not verified)."""

    def to_json(self) -> dict[str, Any]:
        """JSON form: bytes as 0x-hex, commitments as {maskedHash, seedCommitment, weight}."""
        return {
            "version": TRANSCRIPT_VERSION,
            "chainId": self.chain_id,
            "contract": self.contract,
            "round": self.round_id,
            "seed": to_hex(self.seed),
            "params": self.params.to_json(),
            "minParticipants": self.min_participants,
            "roster": to_hex(self.roster),
            "rosterHash": to_hex(self.roster_hash),
            "commitments": {
                a: {
                    "maskedHash": to_hex(c.masked_hash),
                    "seedCommitment": to_hex(c.seed_commitment),
                    "weight": c.weight,
                }
                for a, c in self.commitments.items()
            },
            "maskedVectors": {name: to_hex(blob) for name, blob in self.masked_vectors.items()},
            "reveal": to_hex(self.reveal),
            "revealHash": to_hex(self.reveal_hash),
            "survivors": list(self.survivors),
            "aggregate": to_hex(self.aggregate),
            "aggregateHash": to_hex(self.aggregate_hash),
            "oldModel": to_hex(self.old_model),
            "oldModelHash": to_hex(self.old_model_hash),
            "newModel": to_hex(self.new_model),
            "newModelHash": to_hex(self.new_model_hash),
            "extra": self.extra,
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes."""
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> PublicTranscript:
        """Parse the JSON form; VerificationError names the bad field."""
        if not isinstance(obj, dict):
            raise VerificationError("transcript: expected a JSON object")
        if obj.get("version") != TRANSCRIPT_VERSION:
            raise VerificationError(f"transcript: unsupported version {obj.get('version')!r}")
        try:

            def h(name: str, length: int | None = None) -> bytes:
                return from_hex(obj[name], length=length, what=f"transcript.{name}")

            commitments = {
                a: Commitment(
                    from_hex(c["maskedHash"], length=32, what=f"commitments[{a}].maskedHash"),
                    from_hex(
                        c["seedCommitment"], length=32, what=f"commitments[{a}].seedCommitment"
                    ),
                    _weight(c["weight"], a),
                )
                for a, c in obj["commitments"].items()
            }
            vectors = {
                name: from_hex(blob, what=f"maskedVectors[{name}]")
                for name, blob in obj["maskedVectors"].items()
            }
            return cls(
                chain_id=obj["chainId"],
                contract=obj["contract"],
                round_id=obj["round"],
                seed=h("seed", 32),
                params=SecAggParams.from_json(obj["params"]),
                min_participants=obj["minParticipants"],
                roster=h("roster"),
                roster_hash=h("rosterHash", 32),
                commitments=commitments,
                masked_vectors=vectors,
                reveal=h("reveal"),
                reveal_hash=h("revealHash", 32),
                survivors=list(obj["survivors"]),
                aggregate=h("aggregate"),
                aggregate_hash=h("aggregateHash", 32),
                old_model=h("oldModel"),
                old_model_hash=h("oldModelHash", 32),
                new_model=h("newModel"),
                new_model_hash=h("newModelHash", 32),
                extra=dict(obj.get("extra", {})),
            )
        except KeyError as exc:
            raise VerificationError(f"transcript: missing field {exc}") from None
        except (FedledgerError, AttributeError, TypeError) as exc:
            raise VerificationError(f"transcript: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicTranscript:
        """Parse canonical JSON bytes."""
        try:
            obj = from_canonical_json(data, what="transcript")
        except FedledgerError as exc:
            raise VerificationError(str(exc)) from None
        return cls.from_json(obj)

    @staticmethod
    def blob_name(blob: bytes) -> str:
        """The store name of a blob (sha256 hex)."""
        return sha256_hex(blob)
