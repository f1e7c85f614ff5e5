"""The coordinator's refusals of a participant message, with their one HTTP status table.

The coordinator's HTTP error handlers answer each refusal with `REFUSAL_STATUS[type]` and the
class name as the problem's `code`; the node's HTTP port turns that code back into the class.
"""

from __future__ import annotations

from fedledger.errors import ProtocolError

__all__ = [
    "REFUSAL_STATUS",
    "ConflictingSubmission",
    "NotInRoster",
    "NotReady",
    "NotRegistered",
    "UploadQuotaExceeded",
    "WrongStage",
    "refusal_for_code",
]


class WrongStage(ProtocolError):
    """The message belongs to another stage than the one the round is in."""


class NotRegistered(ProtocolError):
    """The sender is not in the on-chain ParticipantRegistry."""


class NotInRoster(ProtocolError):
    """The sender is not a member of this round's roster (or of the set the stage needs)."""


class ConflictingSubmission(ProtocolError):
    """A second, different message from the same sender for the same stage."""


class NotReady(ProtocolError):
    """What was asked for does not exist yet (e.g. shares before the share stage closed)."""


class UploadQuotaExceeded(ProtocolError):
    """A second, different blob from the same account in one round (one blob: the masked vector)."""


REFUSAL_STATUS: dict[type[ProtocolError], int] = {
    NotRegistered: 403,
    NotInRoster: 403,
    WrongStage: 409,
    ConflictingSubmission: 409,
    NotReady: 409,
    UploadQuotaExceeded: 429,
}
"""HTTP status of each refusal (more specific than a plain ProtocolError's)."""

_BY_CODE = {kind.__name__: kind for kind in REFUSAL_STATUS}


def refusal_for_code(code: str) -> type[ProtocolError] | None:
    """The refusal class a problem's `code` names, None for any other code."""
    return _BY_CODE.get(code)
