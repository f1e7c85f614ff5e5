"""Canonical encodings shared by every part: sha256 names, hex, and canonical JSON.

Every hash that an auditor recomputes is taken over bytes produced here, so the
rules are fixed by docs/protocol.md ("Encodings") and must not drift.
"""

from __future__ import annotations

import hashlib
import json
import re
from itertools import accumulate
from typing import Any

from fedledger.errors import FedledgerError

__all__ = [
    "MAX_JSON_DEPTH",
    "canonical_json",
    "check_json_depth",
    "from_canonical_json",
    "from_hex",
    "sha256",
    "sha256_hex",
    "to_hex",
]


def sha256(data: bytes) -> bytes:
    """The 32-byte SHA-256 digest of `data`."""
    return hashlib.sha256(data).digest()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data` as 64 lowercase hex digits (a blob's name)."""
    return hashlib.sha256(data).hexdigest()


def to_hex(data: bytes) -> str:
    """Bytes as a 0x-prefixed lowercase hex string (the JSON form of bytes)."""
    return "0x" + data.hex()


def from_hex(text: str, *, length: int | None = None, what: str = "value") -> bytes:
    """Parse 0x-hex (prefix optional); with `length`, insist on that many bytes."""
    if not isinstance(text, str):
        raise FedledgerError(f"{what}: expected a hex string, got {type(text).__name__}")
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        raw = bytes.fromhex(body)
    except ValueError as exc:
        raise FedledgerError(f"{what}: not valid hex ({exc})") from None
    if length is not None and len(raw) != length:
        raise FedledgerError(f"{what}: expected {length} bytes, got {len(raw)}")
    return raw


def canonical_json(obj: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no insignificant whitespace (hash input form)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


MAX_JSON_DEPTH = 32
"""Deepest nesting any fedledger document may have (real ones stay below 6)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]")


def check_json_depth(text: str, *, what: str = "document", limit: int = MAX_JSON_DEPTH) -> None:
    """FedledgerError when JSON `text` nests deeper than `limit`.

    Importing eth/py_ecc raises the interpreter's recursion limit to 100000, and json's C
    decoder recurses once per level: a blob of 100000 '[' then overflows the C stack and
    kills the process (segfault) instead of raising. So depth is checked before parsing.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    steps = (1 if c in "[{" else -1 for c in brackets)
    if max(accumulate(steps), default=0) > limit:
        raise FedledgerError(f"{what}: JSON nested too deeply (more than {limit} levels)")


def from_canonical_json(data: bytes, *, what: str = "document") -> Any:
    """Parse JSON bytes, naming `what` in the error when they are not valid JSON."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FedledgerError(f"{what}: not valid UTF-8 JSON ({exc})") from None
    check_json_depth(text, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FedledgerError(f"{what}: not valid UTF-8 JSON ({exc})") from None
    except RecursionError:  # belt and braces: the depth check above should make this moot
        raise FedledgerError(f"{what}: JSON nested too deeply") from None
