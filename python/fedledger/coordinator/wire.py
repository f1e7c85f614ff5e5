"""JSON forms of the secagg messages that travel between participants and the coordinator.

Used for the coordinator's journal and by any transport (the HTTP service reuses them), so
a message read back is equal (==) to the one that was written.
"""

from __future__ import annotations

from typing import Any

from fedledger.encoding import to_hex
from fedledger.errors import ProtocolError
from fedledger.secagg.constants import SHARE_KEYS, UNMASK
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)

__all__ = [
    "bundle_from_json",
    "bundle_to_json",
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


def bundle_to_json(bundle: KeyBundle) -> dict[str, Any]:
    """A signed key bundle as JSON (the roster's entry form)."""
    return bundle.to_json()


def bundle_from_json(obj: Any) -> KeyBundle:
    """Parse a key bundle (its signature is checked by the receiver)."""
    return KeyBundle.from_json(obj)


def share_to_json(share: EncryptedShare) -> dict[str, Any]:
    """One encrypted share pair."""
    return {
        "sender": share.sender,
        "recipient": share.recipient,
        "ciphertext": to_hex(share.ciphertext),
    }


def share_from_json(obj: Any) -> EncryptedShare:
    """Parse one encrypted share pair."""
    s = SHARE_KEYS
    return EncryptedShare(
        _field(s, obj, "sender"),
        _field(s, obj, "recipient"),
        _hex(s, "ciphertext", _field(s, obj, "ciphertext")),
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
    """A survivor's unmask shares, keyed by whose secret they are."""
    return {
        "sender": response.sender,
        "selfMaskShares": {a: to_hex(v) for a, v in sorted(response.self_mask_shares.items())},
        "maskKeyShares": {a: to_hex(v) for a, v in sorted(response.mask_key_shares.items())},
        "signature": to_hex(response.signature),
    }


def unmask_response_from_json(obj: Any) -> UnmaskResponse:
    """Parse an unmask response."""
    s = UNMASK
    out: dict[str, dict[str, bytes]] = {}
    for name in ("selfMaskShares", "maskKeyShares"):
        value = _field(s, obj, name)
        if not isinstance(value, dict):
            raise ProtocolError(s, name, "expected an object")
        out[name] = {a: _hex(s, name, v) for a, v in value.items()}
    signature = _hex(s, "signature", _field(s, obj, "signature"))
    return UnmaskResponse(
        _field(s, obj, "sender"), out["selfMaskShares"], out["maskKeyShares"], signature
    )
