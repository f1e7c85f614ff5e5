"""The participant's side of a round: advertise keys -> share keys -> masked input -> unmask."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fedledger.errors import ProtocolError
from fedledger.secagg.blame import accuse, open_share_plaintext
from fedledger.secagg.commitments import seed_commitment
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.crypto import shamir
from fedledger.secagg.crypto.dleq import InvalidProof
from fedledger.secagg.crypto.keys import KeyPair, check_public_key
from fedledger.secagg.crypto.symmetric import DecryptionError, decrypt, encrypt, share_aad
from fedledger.secagg.graph import NeighbourGraph, build_graph
from fedledger.secagg.masking import apply_masks, pair_keys, pair_sign
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    MaskedInput,
    Roster,
    ShareAccusation,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
    check_address,
    sign_shares,
)
from fedledger.secagg.params import RoundContext, SecAggParams
from fedledger.secagg.vectors import encode_vector, npy_header

__all__ = [
    "Partition",
    "SecAggClient",
    "ShareEvidence",
    "TooFewSharers",
    "UnmaskRequestMismatch",
]

_ORDER = (ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK, "done")
_REFUSED = "nothing (this client refused the round)"


class TooFewSharers(ProtocolError):
    """Fewer than t neighbours delivered valid shares: masking now would let t holders of
    this client's self-mask seed unmask its input, so it refuses and sends nothing."""

    def __init__(self, valid: int, threshold: int, bad: int) -> None:
        super().__init__(
            MASKED_INPUT,
            "shares",
            f"valid shares from {valid} neighbours ({bad} bad), need threshold {threshold}",
        )
        self.valid, self.threshold, self.bad = valid, threshold, bad


class UnmaskRequestMismatch(ProtocolError):
    """The aggregator's unmask request disagrees with the public facts or with this
    client's own view of who it masked with; answering could reveal both secrets of a peer
    or make the sum wrong, so the client refuses."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(UNMASK, field, detail)


@dataclass(frozen=True)
class ShareEvidence:
    """A neighbour's stage-2 share this client could not use: why, and the bytes received."""

    sender: str
    reason: str
    ciphertext: bytes
    share: EncryptedShare | None = None
    """The share itself when its sender signed it: evidence the client can prove
    (`secagg.blame.accuse`); None when the signature does not check (the aggregator's doing,
    or a sender that signed nothing: nobody can be blamed from it)."""


@dataclass(frozen=True)
class Partition:
    """Survivors and dropped of a round as computed from public facts (not the aggregator)."""

    survivors: frozenset[str]
    """Committed on chain, blob available and well-formed, not excluded by evidence."""
    dropped: frozenset[str]
    """Every other roster member."""


class SecAggClient:
    """One participant in one round; methods must be called in protocol order."""

    def __init__(
        self, ctx: RoundContext, params: SecAggParams, account: Any, *, vector_length: int
    ) -> None:
        """`account` is an eth-account LocalAccount (its key signs the bundle)."""
        self.ctx = ctx
        self.params = params
        self.address = check_address(ADVERTISE_KEYS, "account", account.address)
        self.vector_length = vector_length
        self._account = account
        self._next = ADVERTISE_KEYS
        self._channel = KeyPair.generate()
        self._mask = KeyPair.generate()
        self._self_seed = os.urandom(32)
        self.roster: Roster | None = None
        self.graph: NeighbourGraph | None = None
        self._neighbours: list[str] = []
        self._channel_keys: dict[str, bytes] = {}
        self._pair_seeds: dict[str, bytes] = {}
        self._held: dict[str, tuple[bytes, bytes]] = {}  # neighbour -> (b share, s^SK share)
        self.bad_shares: list[ShareEvidence] = []
        """Neighbours whose share did not decrypt or parse: dropouts for this client."""

    def _enter(self, stage: str) -> None:
        if self._next != stage:
            raise ProtocolError(stage, "stage", f"called out of order; expected {self._next}")
        self._next = _ORDER[_ORDER.index(stage) + 1]

    @property
    def masked_with(self) -> frozenset[str]:
        """Neighbours whose valid shares this client holds: exactly those it masks with."""
        return frozenset(self._held)

    @property
    def local_dropouts(self) -> frozenset[str]:
        """Neighbours it did not mask with (no share delivered, or a bad one): its y carries
        no pairwise mask with them, so they cannot be survivors of a round it survives."""
        return frozenset(v for v in self._neighbours if v not in self._held)

    def advertise_keys(self) -> KeyBundle:
        """Stage 1: fresh X25519 channel and mask keys, signed with the Ethereum key (EIP-712)."""
        self._enter(ADVERTISE_KEYS)
        return KeyBundle.create(
            self.ctx,
            self._account.key,
            self.address,
            channel_key=self._channel.public,
            mask_key=self._mask.public,
        )

    def share_keys(self, roster: Roster, seed: bytes) -> ShareKeysMessage:
        """Stage 2: check the roster, derive the graph, share b_u and s_u^SK to neighbours."""
        self._enter(SHARE_KEYS)
        if roster.ctx != self.ctx:
            raise ProtocolError(SHARE_KEYS, "roster", f"roster is for {roster.ctx}, not {self.ctx}")
        mine = roster.bundle(self.address)
        if (mine.channel_key, mine.mask_key) != (self._channel.public, self._mask.public):
            raise ProtocolError(SHARE_KEYS, "roster", "my own key bundle was replaced")
        self.params.check_capacity(len(roster))
        graph = build_graph(len(roster), self.params.neighbours, seed)
        if graph.degree < self.params.threshold:
            raise ProtocolError(
                SHARE_KEYS,
                "threshold",
                f"threshold {self.params.threshold} > graph degree {graph.degree}",
            )
        me = roster.index(self.address)
        addresses = roster.addresses
        neighbours = [addresses[j] for j in graph.neighbours(me)]
        # Only neighbours' keys are ever used, so only their signatures matter to us.
        roster.verify_signatures(neighbours)
        self.roster, self.graph, self._neighbours = roster, graph, neighbours

        xs = [roster.index(v) + 1 for v in neighbours]
        t = self.params.threshold
        b_shares = shamir.share(self._self_seed, xs, t)
        s_shares = shamir.share(self._mask.private, xs, t)
        peers = []
        for v in neighbours:
            bundle = roster.bundle(v)
            for public in (bundle.channel_key, bundle.mask_key):
                try:
                    check_public_key(public)
                except ValueError as exc:  # low-order public key
                    raise ProtocolError(
                        SHARE_KEYS, "roster", f"unusable key of {v}: {exc}"
                    ) from None
            peers.append((v, bundle.channel_key, bundle.mask_key))
        keys = pair_keys(
            self.ctx,
            channel_private=self._channel.private,
            mask_private=self._mask.private,
            me=self.address,
            peers=peers,
        )
        out = []
        for v, yb, ys, (key, seed) in zip(neighbours, b_shares, s_shares, keys, strict=True):
            self._pair_seeds[v] = seed
            self._channel_keys[v] = key
            plaintext = shamir.share_to_bytes(yb) + shamir.share_to_bytes(ys)
            aad = share_aad(**self.ctx.fields(), sender=self.address, recipient=v)
            out.append(EncryptedShare(self.address, v, encrypt(key, plaintext, aad)))
        # One signature over all k ciphertexts (a Merkle root), not one per share.
        return ShareKeysMessage(self.address, sign_shares(self.ctx, self._account.key, out))

    def masked_input(self, x: np.ndarray, shares: Sequence[EncryptedShare]) -> MaskedInput:
        """Stage 3: keep neighbours' valid shares; y = x + PRG(b) + sum over the neighbours
        held of +/-PRG(s_uv). Any refusal (a ProtocolError, e.g. TooFewSharers) is final:
        no masked vector is computed and the client answers nothing later in the round."""
        self._enter(MASKED_INPUT)
        try:
            self._receive(x, shares)
        except ProtocolError:
            self._next = _REFUSED
            raise
        # Pairwise masks only with neighbours whose valid shares we hold (see local_dropouts).
        pairs = [
            (self._pair_seeds[v], pair_sign(self.address, v))
            for v in self._neighbours
            if v in self._held
        ]
        # The blob's hash is taken chunk by chunk as masking finishes each one (in cache).
        digest = hashlib.sha256(npy_header(x.size))
        y = apply_masks(x, self._self_seed, pairs, on_chunk=lambda part: digest.update(part.data))
        masked_hash = digest.digest()
        report = LocalDropouts(
            self.address, masked_hash, tuple(self.local_dropouts), accusations=self._accusations()
        )
        commitment = seed_commitment(
            self._self_seed, self.ctx.round_id, self.address, report.committed_hash()
        )
        return MaskedInput(
            self.address,
            encode_vector(y),
            masked_hash,
            commitment,
            report.signed(self.ctx, self._account.key),
        )

    def _accusations(self) -> tuple[ShareAccusation, ...]:
        """A provable accusation of each signed share that did not open (4.6)."""
        assert self.roster is not None
        out = []
        for e in self.bad_shares:
            if e.share is None:
                continue  # unsigned: nobody can be blamed from it
            try:
                out.append(
                    accuse(
                        self.ctx, e.share, channel_private=self._channel.private, roster=self.roster
                    )
                )
            except InvalidProof:  # unreachable for roster keys (checked); the dropout stays
                continue
        return tuple(out)

    def _receive(self, x: np.ndarray, shares: Sequence[EncryptedShare]) -> None:
        """Check x, open each delivered share (bad ones become evidence), require t valid."""
        if (
            not isinstance(x, np.ndarray)
            or x.dtype != np.uint32
            or x.shape != (self.vector_length,)
        ):
            raise ProtocolError(
                MASKED_INPUT, "x", f"expected uint32 vector of length {self.vector_length}"
            )
        for item in shares:
            v = item.sender
            if item.recipient != self.address:
                raise ProtocolError(
                    SHARE_KEYS, "recipient", f"share for {item.recipient} delivered to me"
                )
            if v not in self._channel_keys:
                raise ProtocolError(SHARE_KEYS, "sender", f"{v} is not my neighbour")
            if v in self._held or any(e.sender == v for e in self.bad_shares):
                raise ProtocolError(SHARE_KEYS, "sender", f"two shares from {v}")
            held = self._open_share(item)
            if isinstance(held, ShareEvidence):
                self.bad_shares.append(held)  # v is a dropout for me; the round goes on
            else:
                self._held[v] = held
        t = self.params.threshold
        if len(self._held) < t:
            raise TooFewSharers(len(self._held), t, len(self.bad_shares))

    def _open_share(self, item: EncryptedShare) -> tuple[bytes, bytes] | ShareEvidence:
        """The (b share, s^SK share) inside a neighbour's ciphertext, or evidence why not.

        Only the pair holds the channel key, so a ciphertext that opens came from its sender:
        the sender's signature matters only as evidence against it, and is checked (one
        recovery) only for a share that does not open (docs/protocol.md 4.6).
        """
        v = item.sender
        aad = share_aad(**self.ctx.fields(), sender=v, recipient=self.address)
        try:
            plain = decrypt(self._channel_keys[v], item.ciphertext, aad)
        except DecryptionError as exc:
            return self._evidence(item, f"ciphertext: {exc}")
        try:
            return open_share_plaintext(plain)
        except ValueError as exc:
            return self._evidence(item, f"plaintext: {exc}")

    def _evidence(self, item: EncryptedShare, reason: str) -> ShareEvidence:
        """Evidence of a share that does not open; provable only if its sender signed it."""
        if item.signer(self.ctx) != item.sender:
            return ShareEvidence(
                item.sender, "signature: not signed by its sender", item.ciphertext
            )
        return ShareEvidence(item.sender, reason, item.ciphertext, item)

    def public_partition(
        self,
        committed: Collection[str],
        blob_ok: Callable[[str], bool],
        *,
        excluded: Collection[str] = (),
        only: Collection[str] | None = None,
    ) -> Partition:
        """Survivors/dropped from public facts, never from the aggregator's word.

        `committed`: members with a commitment on chain; `blob_ok(a)`: a's committed blob is
        available and decodes as a vector of this round's length; `excluded`: members the
        published record leaves out although they committed: those that never completed
        share keys (unshared) and those a committer reported as a local dropout (this
        client's own `local_dropouts` are always added). Survivors = committed, in the
        roster, blob ok, not excluded; everyone else in the roster is dropped. Every node
        computing this from the same record gets the same partition, so no peer can have
        `b` asked of some holders and `s^SK` of others.

        With `only`, just those members are judged (everyone else is dropped): a caller that
        needs the verdict on its k neighbours need not judge all n members.
        """
        if self.roster is None:
            raise ProtocolError(UNMASK, "roster", "no roster yet (share_keys not done)")
        out = set(excluded) | self.local_dropouts
        on_chain = set(committed)
        roster = self.roster
        pool = roster.addresses if only is None else [a for a in only if a in roster]
        survivors = frozenset(a for a in pool if a in on_chain and a not in out and blob_ok(a))
        return Partition(survivors, frozenset(self.roster.addresses) - survivors)

    def unmask(self, request: UnmaskRequest, facts: Partition | None = None) -> UnmaskResponse:
        """Stage 4: shares of b_v for surviving neighbours, s_v^SK for dropped ones; never both.

        With `facts` (see `public_partition`) the survivors must be exactly the public ones,
        and no one the facts call a survivor may be listed as dropped: UnmaskRequestMismatch.
        A neighbour this client did not mask with (`local_dropouts`) must not be a survivor
        (its mask with us would stay in the sum); for it we hold nothing and reveal nothing.
        The response is EIP-712 signed, so the aggregator can publish it as evidence.
        """
        self._enter(UNMASK)
        assert self.roster is not None
        survivors, dropped = set(request.survivors), set(request.dropped)
        if self.address not in survivors:
            raise ProtocolError(UNMASK, "survivors", "I am not listed as a survivor")
        for a in survivors | dropped:
            if a not in self.roster:
                raise ProtocolError(UNMASK, "survivors", f"{a} is not in the roster")
        if facts is not None and survivors != facts.survivors:
            diff = sorted(survivors ^ facts.survivors)[0]
            public = "a survivor" if diff in facts.survivors else "dropped"
            listed = "not listed" if diff in facts.survivors else "listed"
            raise UnmaskRequestMismatch(
                "survivors", f"{diff} is {listed} as a survivor, but the public facts say {public}"
            )
        unmatched = sorted(self.local_dropouts & survivors)
        if unmatched:
            raise UnmaskRequestMismatch(
                "survivors",
                f"{unmatched[0]} is a dropout for me (no valid share): I did not mask with it",
            )
        b_out: dict[str, bytes] = {}
        s_out: dict[str, bytes] = {}
        for v, (b_share, s_share) in self._held.items():
            if v in survivors:
                b_out[v] = b_share
            elif v in dropped:
                s_out[v] = s_share
            else:
                raise ProtocolError(
                    UNMASK, "dropped", f"neighbour {v} shared keys but is in neither list"
                )
        return UnmaskResponse(self.address, b_out, s_out).signed(self.ctx, self._account.key)
