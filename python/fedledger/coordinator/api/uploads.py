"""Upload quotas of /blobs: one blob per (round, account), the round's masked-vector size."""

from __future__ import annotations

import threading

from fedledger.protocol.envelope import AuthError

__all__ = ["UploadQuota"]


class UploadQuota:
    """Which blob each account uploaded in each round; a second, different blob is refused.

    The protocol needs exactly one upload from a participant per round (its masked vector);
    the same blob again (a retry, a replayed envelope) is admitted and stores nothing new.
    Only the last few rounds are remembered: older rounds' uploads fail the round check.
    """

    KEEP_ROUNDS = 3

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[tuple[int, str], str] = {}

    def admit(self, round_id: int, account: str, name: str) -> None:
        """Record `name` as `account`'s blob of `round_id`; AuthError(429) if it has another."""
        key = (round_id, account)
        with self._lock:
            held = self._blobs.get(key)
            if held is not None and held != name:
                raise AuthError(
                    429,
                    "upload quota",
                    f"{account} already uploaded blob {held} in round {round_id} "
                    "(one blob per round: the masked vector)",
                )
            self._blobs[key] = name
            oldest = round_id - self.KEEP_ROUNDS
            for k in [k for k in self._blobs if k[0] <= oldest]:
                del self._blobs[k]

    def __len__(self) -> int:
        with self._lock:
            return len(self._blobs)
