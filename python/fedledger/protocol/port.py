"""CoordinatorPort: what a participant needs from the coordinator, whatever the transport."""

from __future__ import annotations

from typing import Protocol

from fedledger.protocol.receipts import Receipt
from fedledger.protocol.status import RoundStatus
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)

__all__ = ["CoordinatorPort"]


class CoordinatorPort(Protocol):
    """What a participant needs from the coordinator (RoundCoordinator, or an HTTP client).

    Each accepted write returns the aggregator's signed receipt (None from a transport that
    does not pass one on)."""

    def status(self) -> RoundStatus: ...

    def submit_keys(self, bundle: KeyBundle) -> Receipt | None: ...

    def submit_shares(self, message: ShareKeysMessage) -> Receipt | None: ...

    def shares_for(self, address: str) -> list[EncryptedShare]: ...

    def submit_masked(
        self,
        address: str,
        masked_hash: bytes,
        seed_commitment: bytes,
        dropouts: LocalDropouts | None = None,
    ) -> Receipt | None: ...

    def unmask_request_for(self, address: str) -> UnmaskRequest: ...

    def dropout_reports(self) -> list[LocalDropouts]: ...

    def submit_unmask(self, response: UnmaskResponse) -> Receipt | None: ...
