"""Receipts: the aggregator's signed word that it accepted a participant's message.

A receipt is a SignedEnvelope (protocol/envelope.py) signed by the aggregator's key, stage
``receipt``, over ``{"stage", "participant", "digest"}``: the protocol stage of the accepted
message, its author, and sha256 of what was accepted (docs/protocol.md 8.3). A participant
later left out of the roster, or called unshared or dropped, publishes its receipt; the audit
check `receipts_honoured` then names the aggregator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address

from fedledger.encoding import canonical_json, from_hex, sha256, to_hex
from fedledger.errors import FedledgerError
from fedledger.protocol.envelope import (
    AuthError,
    SignedEnvelope,
    envelope_typed_data,
    payload_hash,
    sign_envelope,
)
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK

__all__ = [
    "RECEIPT",
    "RECEIPT_STAGES",
    "Receipt",
    "ReceiptError",
    "issue_receipt",
    "load_receipt",
    "message_digest",
    "save_receipt",
]

RECEIPT = "receipt"
"""Envelope stage of every receipt."""
RECEIPT_STAGES = (ADVERTISE_KEYS, SHARE_KEYS, MASKED_INPUT, UNMASK)
"""The protocol stages whose accepted messages get a receipt."""


class ReceiptError(FedledgerError):
    """A receipt does not parse, or is not the aggregator's signature over what it says."""


def message_digest(wire: Any) -> bytes:
    """sha256 of the canonical JSON of an accepted message's wire form."""
    return sha256(canonical_json(wire))


@dataclass(frozen=True)
class Receipt:
    """What a verified receipt says: the aggregator accepted `participant`'s `stage` message."""

    round_id: int
    stage: str
    participant: str
    digest: bytes
    aggregator: str
    envelope: SignedEnvelope

    def to_json(self) -> dict[str, Any]:
        """The wire form (the signed envelope)."""
        return self.envelope.to_json()

    @classmethod
    def verify(cls, obj: Any, *, chain_id: int, contract: str) -> Receipt:
        """Parse a receipt and recover its signer (ReceiptError naming what is wrong).

        Who the signer must be (the round's aggregator) is the caller's to check.
        """
        try:
            env = SignedEnvelope.from_json(obj)
        except AuthError as exc:
            raise ReceiptError(f"receipt: {exc}") from None
        if env.stage != RECEIPT:
            raise ReceiptError(f"receipt: envelope stage is {env.stage!r}, not {RECEIPT!r}")
        if env.chain_id != chain_id or env.contract != to_checksum_address(contract):
            raise ReceiptError("receipt: signed for another chain or RoundLog")
        p = env.payload
        if not isinstance(p, dict) or set(p) != {"stage", "participant", "digest"}:
            raise ReceiptError("receipt: payload must have exactly stage, participant, digest")
        if p["stage"] not in RECEIPT_STAGES:
            raise ReceiptError(f"receipt: unknown stage {p['stage']!r}")
        if not isinstance(p["participant"], str) or not is_address(p["participant"]):
            raise ReceiptError(f"receipt: participant is not an address: {p['participant']!r}")
        try:
            digest = from_hex(p["digest"], length=32, what="receipt digest")
        except (FedledgerError, TypeError, ValueError) as exc:
            raise ReceiptError(f"receipt: {exc}") from None
        typed = envelope_typed_data(
            chain_id=chain_id,
            contract=contract,
            round_id=env.round_id,
            stage=RECEIPT,
            signer=env.signer,
            digest=payload_hash(p),
        )
        try:
            signer = Account.recover_message(
                encode_typed_data(full_message=typed), signature=env.signature
            )
        except Exception as exc:
            raise ReceiptError(f"receipt: signature does not recover ({exc})") from None
        if to_checksum_address(signer) != env.signer:
            raise ReceiptError(f"receipt: signature recovers to {signer}, not {env.signer}")
        return cls(
            env.round_id, p["stage"], to_checksum_address(p["participant"]), digest, signer, env
        )


def issue_receipt(
    aggregator: Any,
    *,
    chain_id: int,
    contract: str,
    round_id: int,
    stage: str,
    participant: str,
    digest: bytes,
) -> Receipt:
    """Sign a receipt with the aggregator's LocalAccount."""
    payload = {
        "stage": stage,
        "participant": to_checksum_address(participant),
        "digest": to_hex(digest),
    }
    env = sign_envelope(
        aggregator, payload, chain_id=chain_id, contract=contract, round_id=round_id, stage=RECEIPT
    )
    return Receipt(round_id, stage, payload["participant"], digest, env.signer, env)


def save_receipt(receipt: Receipt, folder: str | Path) -> Path:
    """Write `receipt` as ``<round>-<stage>-<participant>.json`` in `folder`; the path."""
    path = Path(folder) / f"{receipt.round_id:06d}-{receipt.stage}-{receipt.participant}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical_json(receipt.to_json()))
    return path


def load_receipt(path: str | Path, *, chain_id: int, contract: str) -> Receipt:
    """Read and verify a receipt file (ReceiptError if it is not one)."""
    try:
        obj = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ReceiptError(f"receipt file {path}: {exc}") from None
    return Receipt.verify(obj, chain_id=chain_id, contract=contract)
