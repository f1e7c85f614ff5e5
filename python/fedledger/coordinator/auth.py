"""Signed envelopes: participant writes EIP-712 signed over chain, RoundLog, round, stage, payload.

Envelope JSON: ``{payload, chainId, contract, round, stage, signer, signature}``. The
declared chain/contract/round/stage are compared with what the endpoint expects first,
so a mismatch is refused naming the field; then the signature is recovered over the
*expected* values, so a signature made for anything else cannot pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address

from fedledger.encoding import canonical_json, sha256, to_hex
from fedledger.errors import FedledgerError
from fedledger.secagg.crypto.keys import eip712_message

__all__ = [
    "ENVELOPE_TYPE",
    "UPLOAD_BLOB",
    "AuthError",
    "EnvelopeVerifier",
    "RegistrationCache",
    "ReplayGuard",
    "SignedEnvelope",
    "envelope_typed_data",
    "payload_hash",
    "sign_envelope",
]

# Envelope stage of a blob upload (payload {"blob": name, "participant": address}); the
# protocol's own stages come from fedledger.secagg.constants.
UPLOAD_BLOB = "upload_blob"
ENVELOPE_TYPE = "SignedMessage(uint256 round,string stage,address signer,bytes32 payloadHash)"


class AuthError(FedledgerError):
    """An envelope was refused; `status` is the HTTP status, `field` what was wrong."""

    def __init__(self, status: int, field: str, detail: str) -> None:
        self.status = status
        self.field = field
        self.detail = detail
        super().__init__(f"{field}: {detail}")


def payload_hash(payload: Any) -> bytes:
    """sha256 of the canonical JSON of `payload` (what the signature binds)."""
    try:
        return sha256(canonical_json(payload))
    except (TypeError, ValueError) as exc:
        raise AuthError(422, "envelope.payload", f"not canonical-JSON encodable ({exc})") from None


def envelope_typed_data(
    *, chain_id: int, contract: str, round_id: int, stage: str, signer: str, digest: bytes
) -> dict[str, Any]:
    """The full EIP-712 message of an envelope (domain = fedledger v1 on chain_id at RoundLog)."""
    return eip712_message(
        "SignedMessage",
        [
            ("round", "uint256"),
            ("stage", "string"),
            ("signer", "address"),
            ("payloadHash", "bytes32"),
        ],
        {
            "round": round_id,
            "stage": stage,
            "signer": to_checksum_address(signer),
            "payloadHash": digest,
        },
        chain_id=chain_id,
        contract=contract,
    )


@dataclass(frozen=True)
class SignedEnvelope:
    """A payload with the signer's EIP-712 signature and the context it was signed for."""

    payload: Any
    chain_id: int
    contract: str
    round_id: int
    stage: str
    signer: str
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        """The wire form (a JSON object)."""
        return {
            "payload": self.payload,
            "chainId": self.chain_id,
            "contract": self.contract,
            "round": self.round_id,
            "stage": self.stage,
            "signer": self.signer,
            "signature": to_hex(self.signature),
        }

    @classmethod
    def from_json(cls, obj: Any) -> SignedEnvelope:
        """Parse the wire form; AuthError(422) names the first malformed field."""
        if not isinstance(obj, dict):
            raise AuthError(422, "envelope", f"expected a JSON object, got {type(obj).__name__}")
        for key in ("payload", "chainId", "contract", "round", "stage", "signer", "signature"):
            if key not in obj:
                raise AuthError(422, f"envelope.{key}", "missing")
        for key in ("chainId", "round"):
            v = obj[key]
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 256:
                raise AuthError(422, f"envelope.{key}", f"expected a uint256, got {v!r}")
        if not isinstance(obj["stage"], str) or not obj["stage"]:
            raise AuthError(422, "envelope.stage", "expected a non-empty string")
        for key in ("contract", "signer"):
            if not isinstance(obj[key], str) or not is_address(obj[key]):
                raise AuthError(422, f"envelope.{key}", f"not an Ethereum address: {obj[key]!r}")
        sig = obj["signature"]
        try:
            raw = bytes.fromhex(sig[2:] if sig[:2] in ("0x", "0X") else sig)
        except (TypeError, ValueError):
            raise AuthError(422, "envelope.signature", "not a hex string") from None
        if len(raw) != 65:
            raise AuthError(422, "envelope.signature", f"expected 65 bytes, got {len(raw)}")
        return cls(
            payload=obj["payload"],
            chain_id=obj["chainId"],
            contract=to_checksum_address(obj["contract"]),
            round_id=obj["round"],
            stage=obj["stage"],
            signer=to_checksum_address(obj["signer"]),
            signature=raw,
        )


def sign_envelope(
    account: Any, payload: Any, *, chain_id: int, contract: str, round_id: int, stage: str
) -> SignedEnvelope:
    """Sign `payload` for (chain_id, contract, round_id, stage) with an eth-account LocalAccount."""
    typed = envelope_typed_data(
        chain_id=chain_id,
        contract=contract,
        round_id=round_id,
        stage=stage,
        signer=account.address,
        digest=payload_hash(payload),
    )
    signed = Account.sign_message(encode_typed_data(full_message=typed), account.key)
    return SignedEnvelope(
        payload=payload,
        chain_id=chain_id,
        contract=to_checksum_address(contract),
        round_id=round_id,
        stage=stage,
        signer=to_checksum_address(account.address),
        signature=bytes(signed.signature),
    )


class RegistrationCache:
    """`ParticipantRegistry.isRegistered`, asked once per (round, address) and remembered."""

    def __init__(self, lookup: Callable[[str], bool]) -> None:
        self._lookup = lookup
        self._lock = threading.Lock()
        self._round = -1
        self._known: dict[str, bool] = {}

    def is_registered(self, address: str, round_id: int) -> bool:
        """Whether `address` is registered, as seen the first time it was asked in `round_id`."""
        with self._lock:
            if round_id != self._round:
                self._round, self._known = round_id, {}
            if address in self._known:
                return self._known[address]
        answer = bool(self._lookup(address))
        with self._lock:
            if round_id == self._round:
                self._known[address] = answer
        return answer


class EnvelopeVerifier:
    """Checks envelopes against this deployment (chain id, RoundLog) and the registry."""

    def __init__(self, *, chain_id: int, contract: str, registrations: RegistrationCache) -> None:
        self.chain_id = chain_id
        self.contract = to_checksum_address(contract)
        self.registrations = registrations

    def verify(self, env: SignedEnvelope, *, round_id: int, stage: str, participant: Any) -> str:
        """Return the signer, or raise AuthError naming the first field that is wrong.

        `participant` is the address the payload names as its author; it must be the signer.
        """
        if env.chain_id != self.chain_id:
            raise AuthError(
                403,
                "envelope.chainId",
                f"signed for chain {env.chain_id}, this coordinator serves chain {self.chain_id} "
                "(wrong chain)",
            )
        if env.contract != self.contract:
            raise AuthError(
                403,
                "envelope.contract",
                f"signed for RoundLog {env.contract}, this coordinator serves {self.contract}",
            )
        if env.stage != stage:
            raise AuthError(
                422,
                "envelope.stage",
                f"signed for stage {env.stage!r}, this endpoint takes {stage!r}",
            )
        if env.round_id != round_id:
            raise AuthError(
                409,
                "envelope.round",
                f"signed for round {env.round_id}, not round {round_id} (replayed or stale)",
            )
        typed = envelope_typed_data(
            chain_id=self.chain_id,
            contract=self.contract,
            round_id=round_id,
            stage=stage,
            signer=env.signer,
            digest=payload_hash(env.payload),
        )
        try:
            recovered = Account.recover_message(
                encode_typed_data(full_message=typed), signature=env.signature
            )
        except Exception:  # eth-keys raises several types for malformed signatures
            recovered = None
        if recovered != env.signer:
            raise AuthError(
                403,
                "envelope.signature",
                f"does not recover to signer {env.signer} (forged, or signed over other content)",
            )
        if not isinstance(participant, str) or not is_address(participant):
            raise AuthError(422, "payload.participant", f"not an Ethereum address: {participant!r}")
        if to_checksum_address(participant) != env.signer:
            raise AuthError(
                403,
                "envelope.signer",
                f"{env.signer} signed a message on behalf of {participant}; only one's own writes",
            )
        if not self.registrations.is_registered(env.signer, round_id):
            raise AuthError(
                403, "envelope.signer", f"{env.signer} is not registered in ParticipantRegistry"
            )
        return env.signer


class ReplayGuard:
    """Remembers accepted (round, stage, signer) writes: a replay gets the first answer back.

    A different payload for a (round, stage, signer) that already has one is a conflict.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[int, str, str], tuple[bytes, Any]] = {}

    def __len__(self) -> int:
        """How many accepted writes are remembered (bounded: the last three rounds' only)."""
        with self._lock:
            return len(self._seen)

    def rounds(self) -> set[int]:
        """The rounds whose writes are remembered."""
        with self._lock:
            return {k[0] for k in self._seen}

    def previous(self, env: SignedEnvelope) -> Any | None:
        """The stored answer for an identical earlier write, None if this is the first."""
        key = (env.round_id, env.stage, env.signer)
        with self._lock:
            hit = self._seen.get(key)
        if hit is None:
            return None
        digest, answer = hit
        if digest != payload_hash(env.payload):
            raise AuthError(
                409,
                "envelope.payload",
                f"{env.signer} already sent another {env.stage} message in round {env.round_id}",
            )
        return answer

    def remember(self, env: SignedEnvelope, answer: Any) -> None:
        """Record an accepted write and the answer it got."""
        with self._lock:
            self._seen[(env.round_id, env.stage, env.signer)] = (payload_hash(env.payload), answer)
            # Keep only the last few rounds: replays of older rounds fail on the round check.
            stale = [k for k in self._seen if k[0] < env.round_id - 2]
            for k in stale:
                del self._seen[k]
