"""The Participant's CoordinatorPort and BlobStore over HTTP, every write signed with its key."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from fedledger.coordinator import wire
from fedledger.coordinator.auth import UPLOAD_BLOB, sign_envelope
from fedledger.coordinator.round import (
    ConflictingSubmission,
    NotInRoster,
    NotReady,
    NotRegistered,
    RoundStatus,
    WrongStage,
)
from fedledger.encoding import to_hex
from fedledger.errors import ProtocolError
from fedledger.node.http_client import CoordinatorClient, CoordinatorRefused
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)
from fedledger.store.base import BlobNotFoundError, validate_name, verify_blob

__all__ = ["HttpCoordinatorPort", "SignedHttpBlobStore"]

# The coordinator's refusal kinds (the problem's `code`) back into the exceptions Participant knows.
_REFUSALS: dict[str, type[ProtocolError]] = {
    "NotReady": NotReady,
    "WrongStage": WrongStage,
    "NotInRoster": NotInRoster,
    "NotRegistered": NotRegistered,
    "ConflictingSubmission": ConflictingSubmission,
}


def _translate(exc: CoordinatorRefused, stage: str) -> Exception:
    kind = _REFUSALS.get(exc.code)
    if kind is None and exc.status == 409:
        # Any other 409 (e.g. the round moved on between our status poll and this write) is
        # the same situation as a wrong stage: look at the status again rather than crash.
        kind = WrongStage
    if kind is not None:
        return kind(stage, "coordinator", exc.detail)
    return exc


class HttpCoordinatorPort:
    """CoordinatorPort over HTTP for one participant account."""

    def __init__(
        self, client: CoordinatorClient, account: LocalAccount, *, chain_id: int, contract: str
    ) -> None:
        self.client = client
        self.account = account
        self.chain_id = chain_id
        self.contract = contract
        self.round_id = 0
        self.requests = 0

    def status(self) -> RoundStatus:
        """GET /v1/round (remembers the round id for signing)."""
        self.requests += 1
        st = RoundStatus.from_json(self.client.get_json("/v1/round"))
        self.round_id = st.round_id
        return st

    def envelope(self, payload: Any, *, stage: str) -> dict[str, Any]:
        """Sign `payload` for the current round and `stage`."""
        return sign_envelope(
            self.account,
            payload,
            chain_id=self.chain_id,
            contract=self.contract,
            round_id=self.round_id,
            stage=stage,
        ).to_json()

    def _post(self, path: str, payload: Any, stage: str) -> None:
        self.requests += 1
        try:
            self.client.post_json(
                f"/v1/rounds/{self.round_id}/{path}", self.envelope(payload, stage=stage)
            )
        except CoordinatorRefused as exc:
            raise _translate(exc, stage) from None

    def _get(self, path: str, stage: str) -> Any:
        self.requests += 1
        try:
            return self.client.get_json(f"/v1/rounds/{self.round_id}/{path}")
        except CoordinatorRefused as exc:
            raise _translate(exc, stage) from None

    def submit_keys(self, bundle: KeyBundle) -> None:
        """Stage 1."""
        self._post("keys", wire.bundle_to_json(bundle), ADVERTISE_KEYS)

    def submit_shares(self, message: ShareKeysMessage) -> None:
        """Stage 2."""
        self._post("shares", wire.shares_to_json(message), SHARE_KEYS)

    def shares_for(self, address: str) -> list[EncryptedShare]:
        """Stage 3 input."""
        doc = self._get(f"shares/{address}", MASKED_INPUT)
        return [wire.share_from_json(s) for s in doc["shares"]]

    def submit_masked(self, address: str, masked_hash: bytes, seed_commitment: bytes) -> None:
        """Stage 3 (after the blob upload and the on-chain commit)."""
        payload = {
            "participant": address,
            "maskedHash": to_hex(masked_hash),
            "seedCommitment": to_hex(seed_commitment),
        }
        self._post("masked", payload, MASKED_INPUT)

    def unmask_request_for(self, address: str) -> UnmaskRequest:
        """Stage 4 input."""
        doc = self._get(f"unmask/{address}", UNMASK)
        return wire.unmask_request_from_json(doc)

    def submit_unmask(self, response: UnmaskResponse) -> None:
        """Stage 4."""
        self._post("unmask", wire.unmask_response_to_json(response), UNMASK)


class SignedHttpBlobStore:
    """The coordinator's /blobs as a BlobStore: signed uploads, hash-verified reads."""

    def __init__(self, port: HttpCoordinatorPort) -> None:
        self.port = port

    def put(self, data: bytes) -> str:
        """Upload and return the name."""
        from fedledger.store.base import blob_name

        name = blob_name(bytes(data))
        self.put_expected(name, data)
        return name

    def put_expected(self, name: str, data: bytes) -> None:
        """Upload under `name` (refused locally first when the hash does not match)."""
        validate_name(name)
        verify_blob(name, bytes(data), where="refused before upload")
        env = self.port.envelope(
            {"blob": name, "participant": self.port.account.address}, stage=UPLOAD_BLOB
        )
        self.port.client.put_blob(name, bytes(data), envelope=env)

    def get(self, name: str) -> bytes:
        """Download and verify against `name`."""
        validate_name(name)
        try:
            data = self.port.client.get_blob(name)
        except CoordinatorRefused as exc:
            if exc.status == 404:
                raise BlobNotFoundError(f"blob {name}: not found at the coordinator") from None
            raise
        verify_blob(name, data, where=f"served by {self.port.client.base_url}")
        return data

    def has(self, name: str) -> bool:
        """HEAD /blobs/<name>."""
        try:
            self.port.client.request("HEAD", f"/blobs/{validate_name(name)}")
        except CoordinatorRefused as exc:
            if exc.status == 404:
                return False
            raise
        return True
