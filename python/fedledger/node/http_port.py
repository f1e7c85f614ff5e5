"""The Participant's CoordinatorPort over HTTP, every write signed with its key."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from eth_account.signers.local import LocalAccount

from fedledger.encoding import to_hex
from fedledger.errors import ProtocolError
from fedledger.node.http_client import CoordinatorClient, CoordinatorRefused
from fedledger.protocol.envelope import ENVELOPE_HEADER, UPLOAD_BLOB, sign_envelope, upload_payload
from fedledger.protocol.messages import (
    local_dropouts_from_json,
    local_dropouts_to_json,
    share_from_json,
    shares_to_json,
    unmask_request_from_json,
    unmask_response_to_json,
)
from fedledger.protocol.receipts import Receipt, ReceiptError
from fedledger.protocol.refusals import WrongStage, refusal_for_code
from fedledger.protocol.status import RoundStatus
from fedledger.secagg.constants import ADVERTISE_KEYS, MASKED_INPUT, SHARE_KEYS, UNMASK
from fedledger.secagg.messages import (
    EncryptedShare,
    KeyBundle,
    LocalDropouts,
    ShareKeysMessage,
    UnmaskRequest,
    UnmaskResponse,
)
from fedledger.store.http import HttpBlobStore

__all__ = ["HttpCoordinatorPort", "coordinator_blob_store"]


def _translate(exc: CoordinatorRefused, stage: str) -> Exception:
    """A refusal (the problem's `code`) back into the exception Participant knows."""
    kind = refusal_for_code(exc.code)
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
        self._fresh: RoundStatus | None = None
        self.last: RoundStatus | None = None  # the status `status()` returned last

    def status(self) -> RoundStatus:
        """GET /v1/round (remembers the round id for signing); the answer of a `wait_change`
        just before is used once instead of asking again."""
        st, self._fresh = self._fresh, None
        if st is None:
            self.requests += 1
            st = RoundStatus.from_json(self.client.get_json("/v1/round"))
        self.round_id = st.round_id
        self.last = st
        return st

    def wait_change(self, seen: RoundStatus, *, timeout: float) -> RoundStatus:
        """Long-poll GET /v1/round?since=KEY&wait=S: the status once it differs from `seen`
        (round, stage, roster on chain), or after `timeout` seconds unchanged."""
        self.requests += 1
        path = f"/v1/round?since={quote(seen.change_key)}&wait={timeout:.1f}"
        st = RoundStatus.from_json(self.client.get_json(path))
        self.round_id = st.round_id
        self._fresh = self.last = st
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

    def upload_headers(self, name: str) -> dict[str, str]:
        """The signed envelope of an upload of blob `name` (stage upload_blob), as a header."""
        env = self.envelope(upload_payload(name, self.account.address), stage=UPLOAD_BLOB)
        return {ENVELOPE_HEADER: json.dumps(env, separators=(",", ":"))}

    def _post(self, path: str, payload: Any, stage: str) -> Receipt | None:
        """POST a signed write; the aggregator's receipt when it sent a valid one."""
        self.requests += 1
        try:
            doc = self.client.post_json(
                f"/v1/rounds/{self.round_id}/{path}", self.envelope(payload, stage=stage)
            )
        except CoordinatorRefused as exc:
            raise _translate(exc, stage) from None
        raw = doc.get("receipt") if isinstance(doc, dict) else None
        try:
            return Receipt.verify(raw, chain_id=self.chain_id, contract=self.contract)
        except ReceiptError:
            return None  # no usable evidence; the write itself was accepted

    def _get(self, path: str, stage: str) -> Any:
        self.requests += 1
        try:
            return self.client.get_json(f"/v1/rounds/{self.round_id}/{path}")
        except CoordinatorRefused as exc:
            raise _translate(exc, stage) from None

    def submit_keys(self, bundle: KeyBundle) -> Receipt | None:
        """Stage 1."""
        return self._post("keys", bundle.to_json(), ADVERTISE_KEYS)

    def submit_shares(self, message: ShareKeysMessage) -> Receipt | None:
        """Stage 2."""
        return self._post("shares", shares_to_json(message), SHARE_KEYS)

    def shares_for(self, address: str) -> list[EncryptedShare]:
        """Stage 3 input."""
        doc = self._get(f"shares/{address}", MASKED_INPUT)
        items = doc.get("shares") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise ProtocolError(MASKED_INPUT, "shares", "expected {shares: [...]}")
        return [share_from_json(s) for s in items]

    def submit_masked(
        self,
        address: str,
        masked_hash: bytes,
        seed_commitment: bytes,
        dropouts: LocalDropouts | None = None,
    ) -> Receipt | None:
        """Stage 3 (after the blob upload and the on-chain commit), with the signed report."""
        payload: dict[str, Any] = {
            "participant": address,
            "maskedHash": to_hex(masked_hash),
            "seedCommitment": to_hex(seed_commitment),
        }
        if dropouts is not None:
            payload["dropouts"] = local_dropouts_to_json(dropouts)
        return self._post("masked", payload, MASKED_INPUT)

    def unmask_request_for(self, address: str) -> UnmaskRequest:
        """Stage 4 input."""
        doc = self._get(f"unmask/{address}", UNMASK)
        return unmask_request_from_json(doc)

    def dropout_reports(self) -> list[LocalDropouts]:
        """Stage 4 input: the committers' signed local-dropout reports."""
        doc = self._get("dropouts", UNMASK)
        items = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise ProtocolError(UNMASK, "dropouts", "expected {data: [...]}")
        return [local_dropouts_from_json(x, stage=UNMASK) for x in items]

    def submit_unmask(self, response: UnmaskResponse) -> Receipt | None:
        """Stage 4."""
        return self._post("unmask", unmask_response_to_json(response), UNMASK)


def coordinator_blob_store(port: HttpCoordinatorPort) -> HttpBlobStore:
    """The coordinator's /blobs as a BlobStore: uploads signed by the port's account, transient
    failures retried like the port's own requests."""
    client = port.client
    return HttpBlobStore(
        client.base_url,
        client=client.http,
        sign=port.upload_headers,
        retries=client.retries,
        backoff=client.backoff,
    )
