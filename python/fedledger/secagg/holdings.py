"""Where the aggregator keeps the O(n k) relayed shares and unmask responses of a round.

`SecAggServer` holds only O(n) small state itself (who shared, who answered); the k shares
of each share-keys message and of each unmask response go to a `Holdings`. `MemoryHoldings`
keeps them in dicts (the pure library, tests, small simulations); the coordinator passes a
disk spool (coordinator.spool) so its memory does not grow with n k.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from fedledger.encoding import canonical_json
from fedledger.secagg.messages import EncryptedShare, ShareKeysMessage, UnmaskResponse

__all__ = ["MASK_KEY_KIND", "SELF_MASK", "Holdings", "MemoryHoldings", "held_entries"]

SELF_MASK = "b"
"""Kind of a held unmask share: a share of the owner's self-mask seed b."""
MASK_KEY_KIND = "s"
"""Kind of a held unmask share: a share of the owner's mask key s^SK."""


def held_entries(response: UnmaskResponse) -> Iterator[tuple[str, str, bytes]]:
    """(kind, owner, raw share) of every share in a response, self-mask shares first."""
    for owner, raw in response.self_mask_shares.items():
        yield SELF_MASK, owner, raw
    for owner, raw in response.mask_key_shares.items():
        yield MASK_KEY_KIND, owner, raw


class Holdings(Protocol):
    """A round's relayed shares and unmask responses, stored as they are accepted."""

    def add_shares(self, message: ShareKeysMessage) -> None:
        """Keep an accepted share-keys message (one entry per recipient)."""
        ...

    def inbox(self, recipient: str) -> list[EncryptedShare]:
        """The kept shares addressed to `recipient`, in arrival order of their messages."""
        ...

    def add_response(self, response: UnmaskResponse) -> None:
        """Keep an accepted unmask response."""
        ...

    def held(self, kind: str, owner: str) -> list[tuple[str, bytes]]:
        """(responder, raw share) of every kept share of `owner`'s secret `kind`, in arrival
        order of the responses."""
        ...

    def response(self, responder: str) -> UnmaskResponse:
        """The kept unmask response of `responder` (KeyError if none)."""
        ...

    def response_json(self, responder: str) -> bytes:
        """Canonical JSON of the kept response's reveal form (`UnmaskResponse.to_json`)."""
        ...

    def reveal_path(self) -> Path | None:
        """A file to write the reveal blob to (streamed), or None to build it in memory."""
        ...


class MemoryHoldings:
    """Holdings in dicts: what the server kept before the spool, for in-memory rounds."""

    def __init__(self) -> None:
        self._inbox: dict[str, list[EncryptedShare]] = {}
        self._responses: dict[str, UnmaskResponse] = {}
        # Shares by (kind, owner), responders in arrival order: one pass over each response
        # instead of one pass over all responses per secret.
        self._held: dict[tuple[str, str], list[tuple[str, bytes]]] = {}

    def add_shares(self, message: ShareKeysMessage) -> None:
        for share in message.shares:
            self._inbox.setdefault(share.recipient, []).append(share)

    def inbox(self, recipient: str) -> list[EncryptedShare]:
        return list(self._inbox.get(recipient, ()))

    def add_response(self, response: UnmaskResponse) -> None:
        self._responses[response.sender] = response
        for kind, owner, raw in held_entries(response):
            self._held.setdefault((kind, owner), []).append((response.sender, raw))

    def held(self, kind: str, owner: str) -> list[tuple[str, bytes]]:
        return list(self._held.get((kind, owner), ()))

    def response(self, responder: str) -> UnmaskResponse:
        return self._responses[responder]

    def response_json(self, responder: str) -> bytes:
        return canonical_json(self._responses[responder].to_json())

    def reveal_path(self) -> Path | None:
        return None
