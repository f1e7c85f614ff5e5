"""The one JSON wire form of each secagg message between participants and the coordinator.

Used by the coordinator's journal and by the HTTP transport alike, so a message read back is
equal (==) to the one written. A key bundle's form is `KeyBundle.to_json`; an unmask
response's is its reveal form (`UnmaskResponse.to_json`) plus the sender.
"""

from __future__ import annotations

from typing import Any

from fedledger.encoding import to_hex
from fedledger.errors import ProtocolError
from fedledger.secagg.constants import MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.messages import (
    EncryptedShare,
    LocalDropouts,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)

__all__ = [
    "local_dropouts_from_json",
    "local_dropouts_to_json",
    "share_from_json",
    "share_to_json",
    "shares_from_json",
    "shares_to_json",
    "unmask_request_from_json",
    "unmask_request_to_json",
    "unmask_response_from_json",
    "unmask_response_to_json",
]


def _field(stage: str, obj: Any, name: str) -> Any:
    if not isinstance(obj, dict):
        raise ProtocolError(stage, "message", f"expected a JSON object, got {type(obj).__name__}")
    if name not in obj:
        raise ProtocolError(stage, name, "missing")
    return obj[name]


def _hex(stage: str, name: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise ProtocolError(stage, name, f"expected a hex string, got {type(value).__name__}")
    body = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise ProtocolError(stage, name, "not valid hex") from None


def share_to_json(share: EncryptedShare) -> dict[str, Any]:
    """One encrypted share pair."""
    return {
        "sender": share.sender,
        "recipient": share.recipient,
        "ciphertext": to_hex(share.ciphertext),
        "signature": to_hex(share.signature),
        "count": share.count,
        "index": share.index,
        "proof": [to_hex(h) for h in share.proof],
    }


def share_from_json(obj: Any) -> EncryptedShare:
    """Parse one encrypted share pair (its signature and Merkle proof are checked by
    `EncryptedShare.verify`)."""
    s = SHARE_KEYS
    path = _field(s, obj, "proof")
    if not isinstance(path, list):
        raise ProtocolError(s, "proof", "expected a list of hashes")
    return EncryptedShare(
        _field(s, obj, "sender"),
        _field(s, obj, "recipient"),
        _hex(s, "ciphertext", _field(s, obj, "ciphertext")),
        _hex(s, "signature", _field(s, obj, "signature")),
        _field(s, obj, "count"),
        _field(s, obj, "index"),
        tuple(_hex(s, "proof", h) for h in path),
    )


def shares_to_json(message: ShareKeysMessage) -> dict[str, Any]:
    """A participant's share-keys message."""
    return {"sender": message.sender, "shares": [share_to_json(x) for x in message.shares]}


def shares_from_json(obj: Any) -> ShareKeysMessage:
    """Parse a share-keys message."""
    items = _field(SHARE_KEYS, obj, "shares")
    if not isinstance(items, list):
        raise ProtocolError(SHARE_KEYS, "shares", "expected a list")
    return ShareKeysMessage(
        _field(SHARE_KEYS, obj, "sender"), tuple(share_from_json(x) for x in items)
    )


def unmask_request_to_json(request: UnmaskRequest) -> dict[str, Any]:
    """The coordinator's unmask request (survivors and dropped, roster order)."""
    return {"survivors": list(request.survivors), "dropped": list(request.dropped)}


def unmask_request_from_json(obj: Any) -> UnmaskRequest:
    """Parse an unmask request."""
    survivors = _field(UNMASK, obj, "survivors")
    dropped = _field(UNMASK, obj, "dropped")
    if not isinstance(survivors, list) or not isinstance(dropped, list):
        raise ProtocolError(UNMASK, "survivors", "survivors and dropped must be lists")
    return UnmaskRequest(tuple(survivors), tuple(dropped))


def unmask_response_to_json(response: UnmaskResponse) -> dict[str, Any]:
    """A survivor's signed unmask shares: the reveal's form of them, plus the sender."""
    return {"sender": response.sender, **response.to_json()}


def unmask_response_from_json(obj: Any) -> UnmaskResponse:
    """Parse an unmask response (errors name the unmask stage and the field)."""
    return UnmaskResponse.from_json(_field(UNMASK, obj, "sender"), obj, stage=UNMASK)


def local_dropouts_to_json(report: LocalDropouts) -> dict[str, Any]:
    """A committer's signed local-dropout report: the reveal's form of it, plus the sender."""
    return {"sender": report.sender, **report.to_json()}


def local_dropouts_from_json(obj: Any, *, stage: str = MASKED_INPUT) -> LocalDropouts:
    """Parse a local-dropout report (errors name `stage` and the field)."""
    return LocalDropouts.from_json(_field(stage, obj, "sender"), obj, stage=stage)
