"""The aggregator's side of a round: collect each stage's messages, unmask, sum, reveal."""

from __future__ import annotations

import hashlib
import random
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass, field
from itertools import combinations
from math import comb
from pathlib import Path
from typing import BinaryIO

import numpy as np

from fedledger.encoding import sha256
from fedledger.errors import ConfigError, ProtocolError
from fedledger.secagg.blame import judge_accusation
from fedledger.secagg.commitments import Commitment, seed_commitment
from fedledger.secagg.constants import ADVERTISE_KEYS, FINALIZE, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.crypto import shamir
from fedledger.secagg.crypto.keys import is_clamped, public_from_private
from fedledger.secagg.encoding import decode_aggregate
from fedledger.secagg.engine import Engine
from fedledger.secagg.graph import NeighbourGraph, build_graph
from fedledger.secagg.holdings import MASK_KEY_KIND, SELF_MASK, Holdings, MemoryHoldings
from fedledger.secagg.masking import recompute_aggregate
from fedledger.secagg.messages import (
    MASK_KEY,
    SELF_MASK_SEED,
    BadShare,
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    Reveal,
    Roster,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
    check_address,
    verify_shares,
)
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.quantize import DecodedSum, coordinate_bound, out_of_range
from fedledger.secagg.vectors import VectorFormatError, decode_vector, encode_vector

__all__ = [
    "AggregationResult",
    "Inbox",
    "RoundAborted",
    "SecAggServer",
    "needed_holders",
    "reconstruct_secret",
]

_ORDER = (ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK, FINALIZE)
# How many random t-subsets to try when the first t shares do not reconstruct.
_SUBSET_TRIES = 2000
# Secrets reconstructed per pass over the holdings (their shares in memory at once; below
# shamir's weight cache size, so a pass's warmed bases stay cached).
_SECRETS_PER_PASS = 1024


class RoundAborted(ProtocolError):
    """The round cannot complete; `reason` is a stable name recorded on chain."""

    def __init__(self, stage: str, reason: str, detail: str) -> None:
        super().__init__(stage, reason, detail)
        self.reason = reason


@dataclass
class AggregationResult:
    """What the aggregator publishes after unmasking (stage 5 inputs)."""

    aggregate: np.ndarray
    aggregate_blob: bytes
    decoded: DecodedSum
    reveal: Reveal
    """Its `unmask_responses` may read from the server's holdings (a spool on disk)."""
    reveal_hash: bytes
    """sha256 of the reveal blob (the on-chain revealHash)."""
    reveal_file: Path | None
    """Where the reveal blob was streamed to (None: `reveal.to_bytes()` builds it)."""
    survivors: tuple[str, ...]
    dropped: tuple[str, ...]
    unshared: tuple[str, ...]
    cheaters: dict[str, str] = field(default_factory=dict)
    """Responders whose stage-4 shares did not lie on the committed polynomial, with why."""
    responders: tuple[str, ...] = ()
    """Survivors whose unmask response was accepted (roster order)."""
    unmask_needed: tuple[str, ...] = ()
    """Survivors holding shares of a reconstructed secret (roster order): see `needed_holders`."""

    @property
    def reveal_blob(self) -> bytes:
        """The reveal blob's bytes (read from `reveal_file`, or built): for small rounds and
        tests; a large round's reveal is published from the file (`store.put_file`)."""
        if self.reveal_file is not None:
            return self.reveal_file.read_bytes()
        return self.reveal.to_bytes()


class _HashingWriter:
    """Writes through to a file and hashes what passes (the reveal is hashed as it is written)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self.digest.update(chunk)
        return self.fh.write(chunk)


class Inbox(MutableMapping[str, list[EncryptedShare]]):
    """Per sharer, the shares addressed to it, read from the holdings on demand (a spooled
    round keeps no n k shares in memory). Assigned lists override what is read (tests and
    the pure simulation tamper with an inbox to play a cheating relay)."""

    def __init__(self, holdings: Holdings, sharers: Mapping[str, object]) -> None:
        self._holdings, self._sharers = holdings, sharers
        self._set: dict[str, list[EncryptedShare]] = {}
        self._gone: set[str] = set()

    def __getitem__(self, recipient: str) -> list[EncryptedShare]:
        if recipient in self._set:
            return self._set[recipient]
        if recipient not in self:
            raise KeyError(recipient)
        # Only shares from U2 as fixed at close (a relay that drops a sharer drops its shares).
        return [s for s in self._holdings.inbox(recipient) if s.sender in self._sharers]

    def __setitem__(self, recipient: str, shares: list[EncryptedShare]) -> None:
        self._set[recipient] = shares
        self._gone.discard(recipient)

    def __delitem__(self, recipient: str) -> None:
        if recipient not in self:
            raise KeyError(recipient)
        self._set.pop(recipient, None)
        self._gone.add(recipient)

    def __contains__(self, recipient: object) -> bool:
        if recipient in self._gone:
            return False
        return recipient in self._set or recipient in self._sharers

    def __iter__(self) -> Iterator[str]:
        keys = [a for a in self._sharers if a not in self._gone]
        return iter(keys + [a for a in self._set if a not in self._sharers])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Responses(Mapping[str, UnmaskResponse]):
    """Accepted unmask responses by responder (roster order), read from the holdings."""

    def __init__(self, holdings: Holdings, responders: Sequence[str]) -> None:
        self._holdings, self._order = holdings, tuple(responders)
        self._keys = frozenset(self._order)

    def __getitem__(self, responder: str) -> UnmaskResponse:
        if responder not in self._keys:
            raise KeyError(responder)
        return self._holdings.response(responder)

    def __contains__(self, responder: object) -> bool:
        return responder in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


def needed_holders(
    neighbours: Mapping[str, Sequence[str]],
    survivors: Iterable[str],
    revealed_mask_keys: Iterable[str],
) -> list[str]:
    """Survivors whose unmask shares were needed: a neighbour's secret was reconstructed.

    A survivor u holds a share of b_v for every surviving neighbour v and of s_v^SK for every
    dropped neighbour v; those secrets are reconstructed for every surviving v and for every
    dropped v whose mask key the reveal discloses. So u's shares were needed exactly when
    some neighbour of u is another survivor or a dropped member with a revealed mask key.
    """
    surv = list(survivors)
    wanted = set(surv) | set(revealed_mask_keys)
    return [u for u in surv if any(v != u and v in wanted for v in neighbours[u])]


def reconstruct_secret(
    points: dict[str, tuple[int, int]],
    threshold: int,
    is_valid: Callable[[bytes], bool],
    *,
    what: str,
) -> tuple[bytes, list[str]]:
    """Recover a secret from responder -> (x, y) shares; return (secret, blamed responders).

    The first t shares (by x) are tried; if they reproduce the commitment and every other
    share lies on the same polynomial, nobody is blamed. Otherwise t-subsets are searched
    (all of them when few, else a bounded random sample seeded by `what`). Among the
    polynomials that reproduce the commitment, the one most shares agree with wins and
    the shares off it are blamed. (Wrong shares can still interpolate to the right
    secret, e.g. a common offset with Lagrange weights summing to zero, so the first
    valid subset is not enough to assign blame.)
    """
    if len(points) < threshold:
        raise RoundAborted(
            UNMASK,
            "too_few_shares",
            f"{what}: got {len(points)} shares, need threshold {threshold}",
        )
    order = sorted(points, key=lambda r: points[r][0])

    def attempt(subset: tuple[str, ...]) -> tuple[bytes, frozenset[str]] | None:
        # One interpolant per subset: the secret at 0 and every other share's check are
        # O(t) each, so verifying all k shares costs O(k t).
        try:
            poly = shamir.Interpolant([points[r] for r in subset])
        except ValueError:
            return None
        value = poly(0)
        if value >= 1 << 256:
            return None
        secret = value.to_bytes(32, "big")
        if not is_valid(secret):
            return None
        agree = frozenset(r for r in order if poly(points[r][0]) == points[r][1])
        return secret, agree

    first = attempt(tuple(order[:threshold]))
    if first is not None and len(first[1]) == len(order):
        return first[0], []
    if comb(len(order), threshold) <= _SUBSET_TRIES:
        subsets: list[tuple[str, ...]] = list(combinations(order, threshold))
    else:
        rng = random.Random(what)
        subsets = [tuple(rng.sample(order, threshold)) for _ in range(_SUBSET_TRIES)]
    best = first
    seen: list[frozenset[str]] = [first[1]] if first is not None else []
    for subset in subsets:
        if any(seen_set.issuperset(subset) for seen_set in seen):
            continue  # same polynomial as one already scored
        found = attempt(subset)
        if found is None:
            continue
        seen.append(found[1])
        if best is None or len(found[1]) > len(best[1]):
            best = found
    if best is None:
        raise RoundAborted(
            UNMASK,
            "unreconstructable_secret",
            f"{what}: no {threshold} of the {len(points)} shares reproduce the committed value",
        )
    secret, agree = best
    return secret, [r for r in order if r not in agree]


@dataclass
class _Blame:
    """Stage 4's bookkeeping of bad shares: who sent one, and the evidence to publish."""

    roster: Roster
    threshold: int
    cheaters: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, list[BadShare]] = field(default_factory=dict)

    def gather(
        self, owner: str, held: Sequence[tuple[str, bytes]]
    ) -> tuple[dict[str, tuple[int, int]], list[str]]:
        """Each responder's share of `owner`'s secret (`held`: responder, raw share); who sent
        a malformed one."""
        points, malformed = {}, []
        for r, raw in held:
            try:
                y = shamir.share_from_bytes(raw)
            except ValueError as exc:
                self.cheaters.setdefault(r, f"share of {owner}: {exc}")
                malformed.append(r)
                continue
            points[r] = (self.roster.index(r) + 1, y)
        return points, malformed

    def blame(
        self, owner: str, secret: str, points: dict[str, tuple[int, int]], bad: list[str], why: str
    ) -> None:
        """Record `bad` as cheaters on `owner`'s `secret`, with t honest shares as witnesses."""
        # Any t shares on the winning polynomial define it: the first t honest ones by x.
        honest = sorted((r for r in points if r not in bad), key=lambda r: points[r][0])
        for r in bad:
            self.cheaters.setdefault(r, why)
            witnesses = tuple(honest[: self.threshold])
            self.evidence.setdefault(r, []).append(BadShare(owner, secret, witnesses))


class SecAggServer:
    """Collects one round's messages stage by stage; every `close_*` may raise RoundAborted."""

    def __init__(
        self,
        ctx: RoundContext,
        params: SecAggParams,
        *,
        seed: bytes,
        vector_length: int,
        min_survivors: int = 1,
        blobs: Callable[[bytes], bytes] | None = None,
        engine: Engine | None = None,
        holdings: Holdings | None = None,
    ) -> None:
        """`blobs` reads an accepted masked vector back by its hash (the blob store keeps
        them; the server holds only their running sum). Without it the server keeps the
        accepted blobs itself (small in-memory rounds). `engine` runs the unmask step's mask
        regeneration (default: inline). `holdings` keeps the relayed shares and unmask
        responses (default: in memory; the coordinator spools them to disk)."""
        if len(seed) != 32:
            raise ConfigError(f"round seed must be 32 bytes, got {len(seed)}")
        if vector_length < 1:
            raise ConfigError(f"vector_length must be >= 1, got {vector_length}")
        self.ctx, self.params, self.seed = ctx, params, seed
        self.vector_length = vector_length
        self.min_survivors = max(1, min_survivors)
        self.stage = ADVERTISE_KEYS
        self._bundles: dict[str, KeyBundle] = {}
        self.roster: Roster | None = None
        self.graph: NeighbourGraph | None = None
        self._neigh: dict[str, list[str]] = {}
        self.holdings: Holdings = holdings if holdings is not None else MemoryHoldings()
        self._shares: dict[str, None] = {}  # sharers in arrival order (their shares: holdings)
        # Streaming: every accepted masked vector is added here mod 2^32 on arrival; the
        # vectors themselves stay in the blob store (re-read only to take one out again).
        self._masked_sum = np.zeros(vector_length, dtype=np.uint32)
        self._summed: set[str] = set()
        self._kept: dict[bytes, bytes] | None = {} if blobs is None else None
        self._blobs = blobs
        self.engine = engine
        self._commitments: dict[str, Commitment] = {}
        self._unmasked: dict[str, frozenset[str]] = {}  # sender -> sharers it did not mask with
        self._reports: dict[str, LocalDropouts] = {}  # sender -> its signed report of those
        self._request: UnmaskRequest | None = None
        self._responses: dict[str, None] = {}  # responders in arrival order (shares: holdings)

    # -- helpers -----------------------------------------------------------------
    def _expect(self, stage: str) -> None:
        if self.stage != stage:
            raise ProtocolError(stage, "stage", f"server is in stage {self.stage}")

    def _advance(self) -> None:
        self.stage = _ORDER[_ORDER.index(self.stage) + 1]

    def _member(self, stage: str, name: str, address: str) -> str:
        address = check_address(stage, name, address)
        assert self.roster is not None
        if address not in self.roster:
            raise ProtocolError(stage, name, f"{address} is not in the roster")
        return address

    @property
    def sharers(self) -> list[str]:
        """U2: roster members whose share-keys message was accepted (roster order)."""
        assert self.roster is not None
        return [a for a in self.roster.addresses if a in self._shares]

    # -- stage 1 -----------------------------------------------------------------
    def add_bundle(self, bundle: KeyBundle) -> None:
        """Accept a signed key bundle (ProtocolError if forged, for another round, or repeated)."""
        self._expect(ADVERTISE_KEYS)
        bundle.verify(self.ctx)
        if bundle.participant in self._bundles:
            raise ProtocolError(
                ADVERTISE_KEYS, "participant", f"{bundle.participant} already advertised"
            )
        self._bundles[bundle.participant] = bundle

    def close_advertise_keys(self, keep: Collection[str] | None = None) -> Roster:
        """Fix the roster (sorted by address) and the neighbour graph.

        `keep`: the members of a sampled cohort (docs/protocol.md 2.3); the other bundles are
        candidates left out by the chain's sample. None keeps every bundle.
        """
        self._expect(ADVERTISE_KEYS)
        if keep is not None:
            wanted = set(keep)
            self._bundles = {a: b for a, b in self._bundles.items() if a in wanted}
        n = len(self._bundles)
        if n < max(2, self.min_survivors):
            raise RoundAborted(
                ADVERTISE_KEYS,
                "too_few_participants",
                f"{n} advertised, need {max(2, self.min_survivors)}",
            )
        try:
            self.params.check_capacity(n)
        except ConfigError as exc:
            raise RoundAborted(ADVERTISE_KEYS, "overflow_risk", str(exc)) from None
        self.roster = Roster.build(self.ctx, self._bundles.values())
        self.graph = build_graph(n, self.params.neighbours, self.seed)
        if self.graph.degree < self.params.threshold:
            raise RoundAborted(
                ADVERTISE_KEYS,
                "threshold_above_degree",
                f"threshold {self.params.threshold} > graph degree {self.graph.degree} "
                f"with {n} participants",
            )
        addrs = self.roster.addresses
        self._neigh = {a: [addrs[j] for j in self.graph.neighbours(i)] for i, a in enumerate(addrs)}
        self._advance()
        return self.roster

    # -- stage 2 -----------------------------------------------------------------
    def add_shares(self, message: ShareKeysMessage) -> None:
        """Accept one participant's encrypted shares: exactly one per neighbour."""
        self._expect(SHARE_KEYS)
        sender = self._member(SHARE_KEYS, "sender", message.sender)
        if sender in self._shares:
            raise ProtocolError(SHARE_KEYS, "sender", f"{sender} already shared keys")
        recipients = [s.recipient for s in message.shares]
        if sorted(recipients) != sorted(self._neigh[sender]):
            raise ProtocolError(
                SHARE_KEYS, "shares", f"{sender} must send one share to each of its neighbours"
            )
        # Signed, so a recipient's accusation is provable: one recovery per signed list.
        verify_shares(self.ctx, message.shares)
        self.holdings.add_shares(message)
        self._shares[sender] = None

    def close_share_keys(self) -> Inbox:
        """U2 is fixed; returns, per recipient, the shares addressed to it (read on demand)."""
        self._expect(SHARE_KEYS)
        if len(self._shares) < self.min_survivors:
            raise RoundAborted(
                SHARE_KEYS, "too_few_participants", f"only {len(self._shares)} shared keys"
            )
        self._advance()
        return Inbox(self.holdings, self._shares)

    # -- stage 3 -----------------------------------------------------------------
    def add_masked_input(
        self,
        sender: str,
        blob: bytes,
        commitment: Commitment,
        *,
        dropouts: LocalDropouts | None = None,
    ) -> None:
        """Accept a masked vector whose blob hash equals the sender's on-chain commitment.

        `dropouts` is the sender's signed report of the neighbours it did not mask with (its
        client's `local_dropouts`: no valid share from them); they cannot survive with it.
        The report is published in the reveal; without one the sender is taken to have
        masked with every sharer, and a verifier refuses it as a survivor.
        """
        self._expect(MASKED_INPUT)
        sender = self._member(MASKED_INPUT, "sender", sender)
        if sender not in self._shares:
            raise ProtocolError(MASKED_INPUT, "sender", f"{sender} did not share keys")
        if sender in self._summed:
            raise ProtocolError(MASKED_INPUT, "sender", f"{sender} already sent a masked input")
        if sha256(blob) != commitment.masked_hash:
            raise ProtocolError(
                MASKED_INPUT, "vector", f"blob of {sender} does not match its on-chain commitment"
            )
        try:
            vector = decode_vector(blob, length=self.vector_length)
        except VectorFormatError as exc:
            raise ProtocolError(MASKED_INPUT, "vector", f"from {sender}: {exc}") from None
        listed: tuple[str, ...] = ()
        if dropouts is not None:
            if dropouts.sender != sender or dropouts.masked_hash != commitment.masked_hash:
                raise ProtocolError(
                    MASKED_INPUT,
                    "dropouts",
                    f"local-dropout report of {dropouts.sender} is not for {sender}'s blob",
                )
            dropouts.verify(self.ctx)
            assert self.roster is not None
            for accusation in dropouts.accusations:  # publish only evidence that proves
                judge_accusation(self.ctx, self.roster, accusation)
            listed = dropouts.dropouts
        unknown = set(listed) - set(self._neigh[sender])
        if unknown:
            raise ProtocolError(
                MASKED_INPUT, "dropouts", f"{sorted(unknown)[0]} is not a neighbour of {sender}"
            )
        np.add(self._masked_sum, vector, out=self._masked_sum)
        self._summed.add(sender)
        if self._kept is not None:
            self._kept[commitment.masked_hash] = blob
        self._commitments[sender] = commitment
        self._unmasked[sender] = frozenset(v for v in listed if v in self._shares)
        if dropouts is not None:
            self._reports[sender] = dropouts

    def close_masked_input(self) -> UnmaskRequest:
        """U3 = accepted masked inputs of members no committer dropped; ask for b of survivors
        and s^SK of dropped sharers. A member some committer did not mask with (bad share)
        is dropped: its vector is left out, so only its s^SK is ever asked for."""
        self._expect(MASKED_INPUT)
        excluded = set().union(*self._unmasked.values())
        survivors = [a for a in self.sharers if a in self._summed and a not in excluded]
        need = max(self.min_survivors, self.params.threshold)  # RoundLog.finalize's rule
        if len(survivors) < need:
            raise RoundAborted(
                MASKED_INPUT, "too_few_survivors", f"{len(survivors)} survivors, need {need}"
            )
        surviving = set(survivors)
        for a in sorted(self._summed - surviving):  # excluded after its vector was summed
            np.subtract(self._masked_sum, self._reload(a), out=self._masked_sum)
            self._summed.discard(a)
        dropped = [a for a in self.sharers if a not in surviving]
        self._request = UnmaskRequest(tuple(survivors), tuple(dropped))
        self._advance()
        return self._request

    def _reload(self, sender: str) -> np.ndarray:
        """An accepted masked vector read back from the blob store (it was checked on arrival)."""
        digest = self._commitments[sender].masked_hash
        blob = self._kept[digest] if self._kept is not None else None
        if blob is None:
            assert self._blobs is not None
            blob = self._blobs(digest)
        if sha256(blob) != digest:
            raise RoundAborted(
                MASKED_INPUT, "blob_changed", f"the stored blob of {sender} no longer matches"
            )
        return decode_vector(blob, length=self.vector_length)

    def _seed_check(self, u: str) -> Callable[[bytes], bool]:
        """Whether a candidate b_u reproduces u's seed commitment (which pins its report)."""
        commit, round_id = self._commitments[u].seed_commitment, self.ctx.round_id
        report = self._reports.get(u)
        pinned = None if report is None else report.committed_hash()
        return lambda s: seed_commitment(s, round_id, u, pinned) == commit

    # -- stage 4 -----------------------------------------------------------------
    def add_unmask(self, response: UnmaskResponse) -> None:
        """Accept a survivor's shares: b for surviving neighbours, s^SK for dropped ones only."""
        self._expect(UNMASK)
        assert self._request is not None
        sender = self._member(UNMASK, "sender", response.sender)
        if sender not in self._request.survivors:
            raise ProtocolError(UNMASK, "sender", f"{sender} is not a survivor")
        if sender in self._responses:
            raise ProtocolError(UNMASK, "sender", f"{sender} already answered")
        neighbours = set(self._neigh[sender])
        survivors, dropped = set(self._request.survivors), set(self._request.dropped)
        for owner in response.self_mask_shares:
            if owner not in survivors or owner not in neighbours:
                raise ProtocolError(
                    UNMASK, "selfMaskShares", f"share of {owner} was not requested from {sender}"
                )
        for owner in response.mask_key_shares:
            if owner not in dropped or owner not in neighbours:
                raise ProtocolError(
                    UNMASK, "maskKeyShares", f"share of {owner} was not requested from {sender}"
                )
        response.verify(self.ctx)  # it is published as evidence: it must be the sender's own
        self.holdings.add_response(response)
        self._responses[sender] = None

    def _refuse_out_of_range(self, aggregate: np.ndarray, n: int) -> None:
        """Refuse what no n clipped updates can produce (docs/threat-model.md, bounded
        influence): some survivor sent out-of-range coordinates; secure aggregation hides
        which one. Distributed DP (mode 2) uses the whole ring: every residue is valid."""
        if self.params.ddp is not None:
            return
        beyond = out_of_range(aggregate, n, self.params)
        if beyond.size:
            raise RoundAborted(
                UNMASK,
                "aggregate_out_of_range",
                f"{beyond.size} coordinate(s) above {coordinate_bound(n, self.params)}"
                f" = n * (2^b - 1), first at index {int(beyond[0])}",
            )

    def _reconstruct_secrets(
        self, blame: _Blame, survivors: list[str]
    ) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """b of every survivor and s^SK of every dropped member some survivor masked with,
        each from its shares in the holdings; bad shares are recorded in `blame`."""
        assert self._request is not None and self.roster is not None
        roster = self.roster
        surv_set = set(survivors)
        t = self.params.threshold
        secrets = [(SELF_MASK, u) for u in survivors] + [
            (MASK_KEY_KIND, v)
            for v in self._request.dropped
            if any(u in surv_set and v not in self._unmasked[u] for u in self._neigh[v])
        ]
        seeds: dict[str, bytes] = {}
        mask_keys: dict[str, bytes] = {}
        # A pass at a time, each secret's shares are read from the holdings; only one pass's
        # shares are in memory (a spooled round never holds all n k of them).
        for start in range(0, len(secrets), _SECRETS_PER_PASS):
            batch = secrets[start : start + _SECRETS_PER_PASS]
            held = [self.holdings.held(kind, owner) for kind, owner in batch]
            # The first basis each secret will try (its t lowest x), inverted at once. (A
            # malformed share makes its secret's real basis differ: computed alone.)
            shamir.precompute_weights(
                [
                    tuple(sorted(roster.index(r) + 1 for r, _ in shares))[:t]
                    for shares in held
                    if shares
                ]
            )
            for (kind, owner), shares in zip(batch, held, strict=True):
                points, malformed = blame.gather(owner, shares)
                if kind == SELF_MASK:
                    seed, bad = reconstruct_secret(
                        points, t, self._seed_check(owner), what=f"self-mask seed of {owner}"
                    )
                    seeds[owner] = seed
                    why = f"bad share of the self-mask seed of {owner}"
                    blame.blame(owner, SELF_MASK_SEED, points, malformed + bad, why)
                    continue
                pk = roster.bundle(owner).mask_key
                sk, bad = reconstruct_secret(
                    points,
                    t,
                    lambda s, pk=pk: is_clamped(s) and public_from_private(s) == pk,  # type: ignore[misc]
                    what=f"mask key of dropped {owner}",
                )
                mask_keys[owner] = sk
                why = f"bad share of the mask key of {owner}"
                blame.blame(owner, MASK_KEY, points, malformed + bad, why)
        return seeds, mask_keys

    def close_unmask(self) -> AggregationResult:
        """Reconstruct every needed secret, blame bad shares, unmask and decode the sum."""
        self._expect(UNMASK)
        assert self._request is not None and self.roster is not None
        roster = self.roster
        survivors = list(self._request.survivors)
        blame = _Blame(roster, self.params.threshold)
        seeds, mask_keys = self._reconstruct_secrets(blame, survivors)

        aggregate = recompute_aggregate(
            self.ctx,
            addresses=roster.addresses,
            mask_keys_public={b.participant: b.mask_key for b in roster.bundles},
            neighbours=self._neigh,
            survivors=survivors,
            masked_sum=self._masked_sum,
            self_mask_seeds=seeds,
            mask_keys=mask_keys,
            length=self.vector_length,
            unmasked={u: self._unmasked[u] for u in survivors},
            engine=self.engine,
        )
        self._refuse_out_of_range(aggregate, len(survivors))
        unshared = tuple(a for a in roster.addresses if a not in self._shares)
        reveal = Reveal(
            self.ctx,
            tuple(survivors),
            self._request.dropped,
            unshared,
            seeds,
            mask_keys,
            unmask_responses=_Responses(
                self.holdings, [a for a in roster.addresses if a in self._responses]
            ),
            bad_shares={a: tuple(ev) for a, ev in blame.evidence.items()},
            local_dropouts={a: self._reports[a] for a in roster.addresses if a in self._reports},
        )
        self._advance()
        reveal_hash, reveal_file = self._write_reveal(reveal)
        return AggregationResult(
            aggregate=aggregate,
            aggregate_blob=encode_vector(aggregate),
            decoded=decode_aggregate(
                aggregate,
                len(survivors),
                self.params,
                total_weight=sum(self._commitments[u].weight for u in survivors),
                ctx=self.ctx,
                participants=len(roster),
            ),
            reveal=reveal,
            reveal_hash=reveal_hash,
            reveal_file=reveal_file,
            survivors=tuple(survivors),
            dropped=self._request.dropped,
            unshared=unshared,
            cheaters=blame.cheaters,
            responders=tuple(reveal.responders),
            unmask_needed=tuple(needed_holders(self._neigh, survivors, mask_keys)),
        )

    def _write_reveal(self, reveal: Reveal) -> tuple[bytes, Path | None]:
        """The reveal blob's hash, and the file it was streamed to (if the holdings give one)."""
        path = self.holdings.reveal_path()
        if path is None:
            return sha256(reveal.to_bytes()), None
        tmp = path.with_name(path.name + ".part")
        with tmp.open("wb") as fh:
            out = _HashingWriter(fh)
            reveal.write_to(out, self.holdings.response_json)  # type: ignore[arg-type]
        tmp.replace(path)
        return out.digest.digest(), path
