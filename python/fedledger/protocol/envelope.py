"""Signed envelopes: participant writes EIP-712 signed over chain, RoundLog, round, stage, payload.

Envelope JSON: ``{payload, chainId, contract, round, stage, signer, signature}``. The
declared chain/contract/round/stage are compared with what the endpoint expects first,
so a mismatch is refused naming the field; then the signature is recovered over the
*expected* values, so a signature made for anything else cannot pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address

from fedledger.encoding import canonical_json, sha256, to_hex
from fedledger.errors import FedledgerError
from fedledger.secagg.crypto.keys import eip712_message

__all__ = [
    "ENVELOPE_HEADER",
    "ENVELOPE_TYPE",
    "UPLOAD_BLOB",
    "AuthError",
    "SignedEnvelope",
    "envelope_typed_data",
    "payload_hash",
    "sign_envelope",
    "upload_payload",
]

ENVELOPE_HEADER = "x-fedledger-envelope"
"""HTTP header carrying the signed envelope of a blob upload."""
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


def upload_payload(name: str, participant: str) -> dict[str, str]:
    """The payload a participant signs (stage UPLOAD_BLOB) to upload blob `name`."""
    return {"blob": name, "participant": participant}
