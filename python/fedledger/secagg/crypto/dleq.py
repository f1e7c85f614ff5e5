"""A provable X25519 shared secret: Chaum-Pedersen (DLEQ) proof over edwards25519, via libsodium.

The recipient v of a share ciphertext that does not open must show the auditor the pair's
Diffie-Hellman output Z = X25519(c_v, C_u) without revealing c_v. It publishes K, the
edwards25519 point whose Montgomery u-coordinate is Z, and a non-interactive proof that
log_B(A) = log_P(K), where A and P are the edwards forms of the two advertised channel keys
C_v and C_u. Anyone then derives the pair's AES key from Z and tries the ciphertext.

An X25519 public key is a u-coordinate only, so each key is read as the edwards point with
the sign bit clear; the prover uses whichever of +c and -c maps B to that point (u(w*P) is
the same for both signs). Keys must lie in the prime-order subgroup (`check_channel_key`),
which every honestly generated key does, so no cofactor can hide a second solution.
"""

from __future__ import annotations

import hashlib
import os

from nacl import bindings as sodium
from nacl.exceptions import RuntimeError as SodiumError

from fedledger.errors import FedledgerError

__all__ = [
    "PROOF_BYTES",
    "InvalidProof",
    "check_channel_key",
    "prove_shared_secret",
    "verify_shared_secret",
]

_P = 2**255 - 19
_DOMAIN = b"fedledger/secagg/v1/dleq"
PROOF_BYTES = 32 + 32 + 32
"""K (edwards point) || e (challenge scalar) || s (response scalar)."""


class InvalidProof(FedledgerError, ValueError):
    """A shared-secret proof, or a key it needs, does not check out; `reason` says which."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _edwards(u_bytes: bytes) -> bytes:
    """The edwards25519 encoding (x sign bit clear) of the point with Montgomery u = u_bytes."""
    u = int.from_bytes(u_bytes, "little")
    if len(u_bytes) != 32 or u >= _P or (u + 1) % _P == 0:
        raise InvalidProof("not a canonical curve25519 u-coordinate")
    y = (u - 1) * pow(u + 1, _P - 2, _P) % _P
    point = y.to_bytes(32, "little")
    if not sodium.crypto_core_ed25519_is_valid_point(point):
        raise InvalidProof("key is not a point of curve25519's prime-order subgroup")
    return point


def _montgomery(point: bytes) -> bytes:
    """The Montgomery u-coordinate (X25519 form) of an edwards25519 point."""
    y = int.from_bytes(point, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, _P - 2, _P) % _P).to_bytes(32, "little")


def check_channel_key(public: bytes) -> None:
    """InvalidProof unless `public` (X25519) is a point of the prime-order subgroup: on the
    curve (not its twist), with no small-order component. Honest keys c*B always are."""
    _edwards(bytes(public))


def _scalar(raw: bytes) -> bytes:
    return sodium.crypto_core_ed25519_scalar_reduce(raw.ljust(64, b"\0"))


def _challenge(context: bytes, a: bytes, p: bytes, k: bytes, r1: bytes, r2: bytes) -> bytes:
    digest = hashlib.sha512(_DOMAIN + context + a + p + k + r1 + r2).digest()
    return _scalar(digest)


def prove_shared_secret(
    private: bytes, own_public: bytes, peer_public: bytes, context: bytes
) -> tuple[bytes, bytes]:
    """(Z, proof): Z = X25519(private, peer_public) and a proof binding it to both public
    keys and `context` (who, which round). `private` is the clamped X25519 scalar."""
    try:
        a, p = _edwards(own_public), _edwards(peer_public)
        c = _scalar(private)
        w = c if sodium.crypto_scalarmult_ed25519_base_noclamp(c) == a else None
        if w is None:
            w = sodium.crypto_core_ed25519_scalar_negate(c)
            if sodium.crypto_scalarmult_ed25519_base_noclamp(w) != a:
                raise InvalidProof("the private key does not belong to own_public")
        k = sodium.crypto_scalarmult_ed25519_noclamp(w, p)
        r = _scalar(os.urandom(64))
        r1 = sodium.crypto_scalarmult_ed25519_base_noclamp(r)
        r2 = sodium.crypto_scalarmult_ed25519_noclamp(r, p)
        e = _challenge(context, a, p, k, r1, r2)
        s = sodium.crypto_core_ed25519_scalar_add(r, sodium.crypto_core_ed25519_scalar_mul(e, w))
    except SodiumError as exc:
        raise InvalidProof(f"libsodium refused a point: {exc}") from None
    return _montgomery(k), k + e + s


def verify_shared_secret(
    own_public: bytes, peer_public: bytes, proof: bytes, context: bytes
) -> bytes:
    """Z = X25519(c_own, peer_public) if `proof` shows the holder of own_public's private key
    computed it (for `context`); InvalidProof otherwise."""
    if not isinstance(proof, bytes) or len(proof) != PROOF_BYTES:
        raise InvalidProof(f"proof must be {PROOF_BYTES} bytes")
    a, p = _edwards(own_public), _edwards(peer_public)
    k, e, s = proof[:32], proof[32:64], proof[64:]
    if _scalar(e) != e or _scalar(s) != s:
        raise InvalidProof("non-canonical scalar in the proof")
    if not sodium.crypto_core_ed25519_is_valid_point(k):
        raise InvalidProof("K is not a point of the prime-order subgroup")
    try:
        r1 = sodium.crypto_core_ed25519_sub(
            sodium.crypto_scalarmult_ed25519_base_noclamp(s),
            sodium.crypto_scalarmult_ed25519_noclamp(e, a),
        )
        r2 = sodium.crypto_core_ed25519_sub(
            sodium.crypto_scalarmult_ed25519_noclamp(s, p),
            sodium.crypto_scalarmult_ed25519_noclamp(e, k),
        )
    except SodiumError:
        raise InvalidProof("the proof's scalars are degenerate") from None
    if _challenge(context, a, p, k, r1, r2) != e:
        raise InvalidProof("the proof does not verify (wrong key, point or context)")
    return _montgomery(k)
