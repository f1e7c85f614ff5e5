"""Whether a posted roster is the chain's sample of the posted candidates (docs/protocol.md 2.3)."""

from __future__ import annotations

from dataclasses import dataclass

from fedledger.chain.cohort import cohort_sample
from fedledger.chain.datatypes import RoundInfo
from fedledger.encoding import sha256
from fedledger.errors import FedledgerError, ProtocolError
from fedledger.secagg.constants import ADVERTISE_KEYS
from fedledger.secagg.messages import Roster
from fedledger.secagg.params import RoundContext

__all__ = ["NotSampled", "SampleVerdict", "judge_sample", "read_candidates"]


class NotSampled(FedledgerError):
    """The chain's sample left this participant out of the round: it waits for the next one."""


@dataclass(frozen=True)
class SampleVerdict:
    """The sample the rule takes and how the posted roster departs from it."""

    sampled: list[str]  # the members the rule takes, in roster order
    candidates: int
    not_sampled: list[str]  # rostered, but not in the sample
    left_out: list[str]  # sampled, but not rostered
    other_bundle: list[str]  # rostered with another bundle than its candidate bundle

    @property
    def ok(self) -> bool:
        """Whether the roster is exactly the sample, bundle for bundle."""
        return not (self.not_sampled or self.left_out or self.other_bundle)

    def departures(self) -> dict[str, list[str]]:
        """The non-empty departures, by kind (for reports)."""
        kinds = {
            "rosteredNotSampled": self.not_sampled,
            "sampledNotRostered": self.left_out,
            "otherBundle": self.other_bundle,
        }
        return {k: v for k, v in kinds.items() if v}


def read_candidates(
    blob: bytes, info: RoundInfo, ctx: RoundContext, *, verify_signatures: bool = True
) -> Roster:
    """The candidates blob the chain names, checked: its hash, round, count and (with
    `verify_signatures`, as auditors do) every bundle's signature and keys.

    Raises ProtocolError naming what is wrong (the aggregator published it). A node skips the
    signatures: it checks its neighbours' bundles in the roster anyway, and one recovery per
    candidate would cost it seconds in a round of thousands.
    """
    if sha256(blob) != info.candidates_hash:
        raise ProtocolError(ADVERTISE_KEYS, "candidatesHash", "the blob does not hash to its name")
    candidates = Roster.from_bytes(blob)
    if candidates.ctx != ctx:
        raise ProtocolError(ADVERTISE_KEYS, "candidates", f"for {candidates.ctx}, not {ctx}")
    if len(candidates) != info.candidate_count:
        raise ProtocolError(
            ADVERTISE_KEYS,
            "candidateCount",
            f"the blob lists {len(candidates)}, the chain says {info.candidate_count}",
        )
    if verify_signatures:
        candidates.verify_signatures()  # forged, foreign or unusable bundles are no candidates
    return candidates


def judge_sample(
    candidates: Roster, roster: Roster, sample_seed: bytes, cohort_size: int
) -> SampleVerdict:
    """Compare `roster` with the `cohort_size` candidates the rule picks with `sample_seed`."""
    sampled = cohort_sample(candidates.addresses, sample_seed, cohort_size)
    chosen, rostered = set(sampled), set(roster.addresses)
    other = [
        a
        for a in roster.addresses
        if a in candidates and roster.bundle(a).leaf_hash() != candidates.bundle(a).leaf_hash()
    ]
    return SampleVerdict(
        sampled=sampled,
        candidates=len(candidates),
        not_sampled=[a for a in roster.addresses if a not in chosen],
        left_out=[a for a in sampled if a not in rostered],
        other_bundle=other,
    )
