"""Provable blame for a share that does not open: make a ShareAccusation, and judge one.

The sender signs every share ciphertext (EncryptedShare); a recipient that cannot open one
publishes it with a proof of the pair's X25519 output (secagg.crypto.dleq). Anyone then
derives the pair's AES key and tries the ciphertext: if it does not open to two field
elements the sender is at fault, if it does the accusation was false and the accuser is.
Z only opens what the pair exchanged, which the accused party of the pair already knows
(docs/protocol.md 4.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from fedledger.errors import ProtocolError
from fedledger.secagg.constants import MASKED_INPUT
from fedledger.secagg.crypto import shamir
from fedledger.secagg.crypto.dleq import InvalidProof, prove_shared_secret, verify_shared_secret
from fedledger.secagg.crypto.kdf import (
    CHANNEL_INFO,
    DLEQ_INFO,
    address_bytes,
    hkdf_sha256,
    pair_info,
    uint256_be,
)
from fedledger.secagg.crypto.symmetric import DecryptionError, decrypt, share_aad
from fedledger.secagg.messages import EncryptedShare, Roster, ShareAccusation
from fedledger.secagg.params import RoundContext

__all__ = ["Verdict", "accuse", "judge_accusation", "open_share_plaintext"]


@dataclass(frozen=True)
class Verdict:
    """Who an accusation proves at fault, and why."""

    faulty: str
    reason: str
    sender_at_fault: bool
    """True: the accused sender's signed ciphertext does not open; False: the accuser lied."""


def _context(ctx: RoundContext, accuser: str, accused: str) -> bytes:
    """What a proof binds: chain, contract, round, then accuser and accused (in that order)."""
    return (
        DLEQ_INFO
        + uint256_be(ctx.chain_id)
        + address_bytes(ctx.contract)
        + uint256_be(ctx.round_id)
        + address_bytes(accuser)
        + address_bytes(accused)
    )


def open_share_plaintext(plain: bytes) -> tuple[bytes, bytes]:
    """(b share, s^SK share) of a 66-byte plaintext; ValueError unless two field elements."""
    n = shamir.SHARE_BYTES
    if len(plain) != 2 * n:
        raise ValueError(f"plaintext is {len(plain)} bytes, expected {2 * n}")
    shamir.share_from_bytes(plain[:n]), shamir.share_from_bytes(plain[n:])
    return plain[:n], plain[n:]


def accuse(
    ctx: RoundContext, share: EncryptedShare, *, channel_private: bytes, roster: Roster
) -> ShareAccusation:
    """The recipient's accusation of `share` (signed by its sender): a proof of the pair's
    X25519 output under the recipient's channel key."""
    me, peer = roster.bundle(share.recipient), roster.bundle(share.sender)
    _, proof = prove_shared_secret(
        channel_private,
        me.channel_key,
        peer.channel_key,
        _context(ctx, share.recipient, share.sender),
    )
    return ShareAccusation(share, proof)


def judge_accusation(ctx: RoundContext, roster: Roster, accusation: ShareAccusation) -> Verdict:
    """Verdict on an accusation; ProtocolError when it proves nothing (the share is not
    signed by its sender, a party is not in the roster, or the proof does not verify),
    so nobody can be blamed by evidence that anyone could have made up."""
    share = accusation.share
    accuser, accused = share.recipient, share.sender
    share.verify(ctx)
    if accuser not in roster or accused not in roster:
        raise ProtocolError(MASKED_INPUT, "accusations", "accuser or accused not in the roster")
    try:
        z = verify_shared_secret(
            roster.bundle(accuser).channel_key,
            roster.bundle(accused).channel_key,
            accusation.proof,
            _context(ctx, accuser, accused),
        )
    except InvalidProof as exc:
        raise ProtocolError(MASKED_INPUT, "proof", f"accusation by {accuser}: {exc}") from None
    key = hkdf_sha256(z, pair_info(CHANNEL_INFO, a=accuser, b=accused, **ctx.fields()))
    aad = share_aad(**ctx.fields(), sender=accused, recipient=accuser)
    try:
        open_share_plaintext(decrypt(key, share.ciphertext, aad))
    except DecryptionError as exc:
        return Verdict(accused, f"signed a share for {accuser} that does not open: {exc}", True)
    except ValueError as exc:
        return Verdict(accused, f"signed a share for {accuser} that is not shares: {exc}", True)
    return Verdict(accuser, f"falsely accused {accused}: the signed share opens", False)
