"""Participants that misbehave on purpose: malformed blobs, garbage shares, low-order keys.

Each is a real `Participant` (real keys, real on-chain commit from its own account) with one
stage's output replaced; the coordinator, chain and store they talk to are the real ones.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Callable

import numpy as np

from fedledger.encoding import sha256
from fedledger.errors import ProtocolError
from fedledger.node.participant import Participant
from fedledger.protocol.port import CoordinatorPort
from fedledger.secagg.client import Partition, ShareEvidence
from fedledger.secagg.crypto import shamir
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)
from fedledger.secagg.vectors import decode_vector


def _npy(array: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def _wrong_dtype(good: bytes) -> bytes:
    return _npy(np.array(decode_vector(good)).astype("<f4"))


def _wrong_length(good: bytes) -> bytes:
    return _npy(np.concatenate([decode_vector(good), np.zeros(3, dtype="<u4")]))


def _corrupt_header(good: bytes) -> bytes:
    return good.replace(b"'descr': '<u4'", b"'descr': '<u8'", 1)


def _truncated(good: bytes) -> bytes:
    return good[: len(good) - 7]


def _pickled_objects(good: bytes) -> bytes:
    # An object array is stored as a pickle: loading it with allow_pickle would run code.
    return _npy(np.array([int(v) for v in decode_vector(good)], dtype=object), allow_pickle=True)


def _two_dimensional(good: bytes) -> bytes:
    return _npy(np.array(decode_vector(good)).reshape(1, -1))


MALFORMED: dict[str, Callable[[bytes], bytes]] = {
    "wrong_dtype": _wrong_dtype,
    "wrong_length": _wrong_length,
    "corrupt_header": _corrupt_header,
    "truncated": _truncated,
    "pickled_objects": _pickled_objects,
    "two_dimensional": _two_dimensional,
}
"""Kind -> how to turn an honest masked blob into a malformed one of that kind."""


class MalformedBlobParticipant(Participant):
    """Uploads a malformed masked blob and commits its hash on chain (instead of the real one).

    The coordinator's refusal is kept in `refusals` and the participant goes quiet, like a
    node whose request got a 422.
    """

    kind: str = "truncated"
    refusals: list[str]

    def step(self, port: CoordinatorPort) -> bool:
        try:
            return super().step(port)
        except ProtocolError as exc:
            self.refusals.append(str(exc))
            self.rounds[self._round_id].left_out = str(exc)
            return True

    def masked_input(self, shares: list[EncryptedShare]) -> tuple[bytes, bytes]:
        assert self._client is not None and self._update is not None and self._info is not None
        from fedledger.secagg.quantize import quantize

        params = self._info.config.secagg_params()
        x = quantize(self._update.delta, self._update.weight, params)
        honest = self._client.masked_input(x, shares)
        blob = MALFORMED[self.kind](honest.vector)
        masked_hash = sha256(blob)
        self.store.put_expected(masked_hash.hex(), blob)
        log = self.contracts.round_log
        assert self._member is not None
        tx = log.commit(
            self._round_id, masked_hash, honest.seed_commitment, weight=int(x[0]),
            member=self._member, sender=self.account,
        )  # fmt: skip
        self.rounds[self._round_id].commit_gas = tx.gas_used
        self._masked = (masked_hash, honest.seed_commitment)
        return self._masked


def _shifted(raw: bytes) -> bytes:
    return shamir.share_to_bytes((shamir.share_from_bytes(raw) + 1) % shamir.PRIME)


def _random_offset(raw: bytes) -> bytes:
    # An independent non-zero offset per share: unlike "shifted", no t-subset that mixes
    # honest and garbled shares can interpolate back to the secret (chance ~ 1/p).
    offset = 1 + secrets.randbelow(shamir.PRIME - 1)
    return shamir.share_to_bytes((shamir.share_from_bytes(raw) + offset) % shamir.PRIME)


def _out_of_field(raw: bytes) -> bytes:
    return b"\xff" * len(raw)  # 2^264 - 1 > p: not a field element at all


GARBAGE: dict[str, Callable[[bytes], bytes]] = {
    "shifted": _shifted,
    "random_offset": _random_offset,
    "out_of_field": _out_of_field,
}
"""Kind -> how a cheating responder garbles each share it returns."""


class GarbageSharesParticipant(Participant):
    """Answers the unmask request with garbled shares (well-formed message, wrong values)."""

    garbage: str = "shifted"

    def unmask(self, request: UnmaskRequest, facts: Partition | None = None) -> UnmaskResponse:
        honest = super().unmask(request, facts)
        garble = GARBAGE[self.garbage]
        return UnmaskResponse(
            honest.sender,
            {a: garble(v) for a, v in honest.self_mask_shares.items()},
            {a: garble(v) for a, v in honest.mask_key_shares.items()},
        )


def turn(participant: Participant, cls: type[Participant], **attrs: object) -> Participant:
    """Make an existing simulation participant misbehave like `cls` (same keys, data, state)."""
    participant.__class__ = cls
    for name, value in attrs.items():
        setattr(participant, name, value)
    return participant


class LowOrderKeyParticipant(Participant):
    """Signs a bundle whose mask key is a low-order X25519 point (u = 0): every shared secret
    with it would be public. The coordinator's refusal is kept in `refusals`."""

    refusals: list[str]

    def step(self, port: CoordinatorPort) -> bool:
        try:
            return super().step(port)
        except ProtocolError as exc:
            self.refusals.append(str(exc))
            self.rounds[self._round_id].left_out = str(exc)
            return True

    def advertise_keys(self) -> KeyBundle:
        honest = super().advertise_keys()
        assert self._client is not None
        return KeyBundle.create(
            self._client.ctx,
            self.account.key,
            self.address,
            channel_key=honest.channel_key,
            mask_key=bytes(32),
        )


class GarbageShareSender(Participant):
    """Sends random bytes instead of its stage-2 share ciphertexts (right lengths, signed
    envelope, each ciphertext signed as the protocol asks): every neighbour fails to decrypt
    them and can prove it (secagg.blame)."""

    def share_keys(self) -> ShareKeysMessage:
        honest = super().share_keys()
        assert self._client is not None
        ctx = self._client.ctx
        return ShareKeysMessage(
            honest.sender,
            tuple(
                EncryptedShare(s.sender, s.recipient, os.urandom(len(s.ciphertext))).signed(
                    ctx, self.account.key
                )
                for s in honest.shares
            ),
        )


class FalseAccuser(Participant):
    """Receives valid shares but claims its first neighbour's did not open: it leaves that
    neighbour out of its mask, lists it as a local dropout and publishes an accusation with a
    true proof of the pair's key, so anyone can open the share and see the lie."""

    victim: str | None = None
    candidates: frozenset[str] = frozenset()
    """Whom it may accuse (empty: anyone); the first sharer among them is the victim."""

    def masked_input(self, shares: list[EncryptedShare]) -> tuple[bytes, bytes]:
        client = self._client
        assert client is not None and shares
        honest_open = client._open_share
        senders = [s.sender for s in shares]
        target = next((a for a in senders if a in self.candidates), senders[0])
        self.victim = target

        def lie(item: EncryptedShare) -> tuple[bytes, bytes] | ShareEvidence:
            if item.sender == target:
                return ShareEvidence(target, "ciphertext: (a lie)", item.ciphertext, item)
            return honest_open(item)

        client._open_share = lie  # type: ignore[method-assign]
        return super().masked_input(shares)


def _one_too_long(good: bytes) -> bytes:
    return _npy(np.concatenate([decode_vector(good), np.zeros(1, dtype="<u4")]))


MALFORMED["one_too_long"] = _one_too_long


def _commit_raw(p: Participant, x: np.ndarray, shares: list[EncryptedShare], *, upload: bool):
    """Mask `x` honestly, optionally upload, commit its hash with weight `p`'s honest weight."""
    assert p._client is not None and p._info is not None and p._update is not None
    params = p._info.config.secagg_params()
    weight = min(p._update.weight, params.max_weight)
    masked = p._client.masked_input(x, shares)
    p._report = masked.dropouts
    if upload:
        p.store.put_expected(masked.masked_hash.hex(), masked.vector)
    assert p._member is not None
    tx = p.contracts.round_log.commit(
        p._round_id, masked.masked_hash, masked.seed_commitment, weight=weight,
        member=p._member, sender=p.account,
    )  # fmt: skip
    p.rounds[p._round_id].commit_gas = tx.gas_used
    p._masked = (masked.masked_hash, masked.seed_commitment)
    return p._masked


def _honest_x(p: Participant) -> np.ndarray:
    from fedledger.secagg.quantize import quantize

    assert p._info is not None and p._update is not None
    return quantize(p._update.delta, p._update.weight, p._info.config.secagg_params()).copy()


class ZeroWeightParticipant(Participant):
    """Attack 2: sets its weight element to minus the others' committed weights (public in
    UpdateCommitted), so the sum of the weight elements is 0 (commits last in a pass)."""

    def masked_input(self, shares: list[EncryptedShare]) -> tuple[bytes, bytes]:
        from fedledger.chain import fetch_events

        x = _honest_x(self)
        log = self.contracts.round_log
        events = fetch_events(log.backend, log.address, names=["UpdateCommitted"])
        others = sum(
            int(e.args["weight"])
            for e in events
            if int(e.args["round"]) == self._round_id and e.args["participant"] != self.address
        )
        x[0] = np.uint32((-others) % (1 << 32))
        return _commit_raw(self, x, shares, upload=True)


class OutOfRangeParticipant(Participant):
    """Attack 5: sends coordinates far outside [0, 2^b - 1] (an unclipped, huge update)."""

    offset: int = 1 << 30

    def masked_input(self, shares: list[EncryptedShare]) -> tuple[bytes, bytes]:
        x = _honest_x(self)
        x[1:] = (x[1:].astype(np.uint64) + self.offset) % (1 << 32)
        return _commit_raw(self, x, shares, upload=True)


class CommitWithoutUploadParticipant(MalformedBlobParticipant):
    """Attack 4: commits a masked hash on chain and never uploads the blob."""

    def masked_input(self, shares: list[EncryptedShare]) -> tuple[bytes, bytes]:
        return _commit_raw(self, _honest_x(self), shares, upload=False)
