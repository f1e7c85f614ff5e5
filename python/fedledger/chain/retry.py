"""JSON-RPC over HTTP with bounded, jittered retries that never send a transaction twice.

Reads are idempotent and retried on transient failures: connection errors, timeouts,
HTTP 429/5xx and JSON-RPC rate-limit errors. ``eth_sendRawTransaction`` is retried too, but
only as the *same signed bytes*: before a resend the transaction is looked up by its hash,
and "already known" / "nonce too low" answers for a transaction the node has are success,
so at most one transaction per nonce can ever be mined. Other state-changing methods
(``evm_mine``, ``anvil_*``, ``eth_sendTransaction``...) are retried only when the request
provably never reached the node (the connection was refused).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from eth_typing import URI
from eth_utils import keccak
from web3 import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from fedledger.errors import ChainError, ConfigError

__all__ = ["RetryPolicy", "RetryingHTTPProvider", "is_idempotent"]

log = logging.getLogger("fedledger.chain.retry")

SEND_RAW = "eth_sendRawTransaction"
# Statuses of an overloaded or restarting endpoint (or a proxy in front of one).
_TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
# JSON-RPC error codes providers use for "slow down" (EIP-1474 limit exceeded, Infura, Alchemy).
_RATE_LIMIT_CODES = frozenset({-32005, -32029, 429})
_READ_PREFIXES = ("eth_", "net_", "web3_")
_UNSAFE = frozenset({"eth_sendTransaction", "eth_sign", "eth_signTransaction", SEND_RAW})


def is_idempotent(method: str) -> bool:
    """Whether repeating `method` can change nothing (reads of chain state)."""
    return method.startswith(_READ_PREFIXES) and method not in _UNSAFE


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: at most `attempts` sends, sleeping a jittered exponential backoff.

    The n-th retry sleeps uniformly in [d/2, d] with d = min(max_delay, base_delay * 2**n),
    so concurrent clients spread out and the total wait is bounded.
    """

    attempts: int = 8
    """Total tries of one request (1 = no retries)."""
    base_delay: float = 0.2
    """Seconds of the first backoff."""
    max_delay: float = 4.0
    """Cap of one backoff (also of an honoured Retry-After)."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"RetryPolicy.attempts: must be >= 1, got {self.attempts}")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ConfigError(
                f"RetryPolicy: need 0 <= base_delay <= max_delay, got "
                f"{self.base_delay} and {self.max_delay}"
            )

    def delay(self, retry: int, *, rng: Callable[[], float] = random.random) -> float:
        """Seconds to sleep before retry number `retry` (0-based)."""
        d = min(self.max_delay, self.base_delay * 2**retry)
        return d / 2 + rng() * d / 2


class _Transient(Exception):
    """One try failed in a way worth another try; `sent` says whether the node may have it."""

    def __init__(self, why: str, *, sent: bool, wait: float | None = None) -> None:
        super().__init__(why)
        self.sent = sent
        self.wait = wait


def _never_reached(exc: requests.RequestException) -> bool:
    """The connection itself failed, so the node cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _retry_after(resp: requests.Response | None) -> float | None:
    if resp is None:
        return None
    try:
        return float(resp.headers.get("retry-after", ""))
    except ValueError:
        return None


class RetryingHTTPProvider(HTTPProvider):
    """web3's HTTPProvider with fedledger's retry rules (web3's own retry loop is switched off).

    An endpoint that has never answered fails at once (a wrong URL is a configuration error,
    not a transient one); once it has answered, refusals are retried (a restarting node).
    """

    def __init__(
        self,
        endpoint_uri: str,
        *,
        policy: RetryPolicy | None = None,
        request_kwargs: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            endpoint_uri, request_kwargs=request_kwargs, exception_retry_configuration=None
        )
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._answered = False
        self.stats: dict[str, int] = {"retries": 0, "resends": 0, "known": 0}
        """Counters: retried tries, raw-tx resends, sends found already known by hash."""

    # -- one try ------------------------------------------------------------------------
    def _try(self, method: str, data: bytes) -> RPCResponse:
        try:
            raw = self._request_session_manager.make_post_request(
                URI(str(self.endpoint_uri)), data, **self.get_request_kwargs()
            )
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            self._answered = True
            if status in _TRANSIENT_HTTP:
                raise _Transient(
                    f"HTTP {status}", sent=True, wait=_retry_after(exc.response)
                ) from None
            raise ChainError(f"{method} on {self.endpoint_uri}: HTTP {status}") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            unsent = _never_reached(exc)
            if unsent and not self._answered:
                raise ChainError(
                    f"no Ethereum node answers at {self.endpoint_uri} ({type(exc).__name__})"
                ) from None
            raise _Transient(type(exc).__name__, sent=not unsent) from None
        self._answered = True
        try:
            response = self.decode_rpc_response(raw)
        except (ValueError, UnicodeDecodeError):
            raise _Transient("malformed JSON-RPC body", sent=True) from None
        error = response.get("error") if isinstance(response, dict) else None
        if isinstance(error, dict) and error.get("code") in _RATE_LIMIT_CODES:
            raise _Transient(f"rate limited ({error.get('message')})", sent=True)
        return response

    def _backoff(self, retry: int, exc: _Transient, method: str) -> None:
        wait = self.policy.delay(retry)
        if exc.wait is not None:
            wait = min(self.policy.max_delay, max(wait, exc.wait))
        self.stats["retries"] += 1
        log.debug("%s: %s; retry %d in %.2f s", method, exc, retry + 1, wait)
        self._sleep(wait)

    # -- the provider API ----------------------------------------------------------------
    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """Send one JSON-RPC request under the retry rules of its method."""
        data = self.encode_rpc_request(method, params)
        if method == SEND_RAW:
            return self._send_raw(method, params, data)
        last: _Transient | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                assert last is not None
                self._backoff(attempt - 1, last, method)
            try:
                return self._try(method, data)
            except _Transient as exc:
                if exc.sent and not is_idempotent(method):
                    raise ChainError(
                        f"{method} on {self.endpoint_uri} failed after it was sent ({exc}); "
                        "not retried because it changes state"
                    ) from None
                last = exc
        raise ChainError(
            f"{method} on {self.endpoint_uri} failed {self.policy.attempts} times; last: {last}"
        )

    def _known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction (pending or mined); False if it cannot say."""
        data = self.encode_rpc_request(RPCEndpoint("eth_getTransactionByHash"), [tx_hash])
        try:
            response = self._try("eth_getTransactionByHash", data)
        except (_Transient, ChainError):
            return False
        return bool(response.get("result"))

    def _send_raw(self, method: RPCEndpoint, params: Any, data: bytes) -> RPCResponse:
        """Send a signed transaction; resend only its same bytes, and only if the node lacks it."""
        raw = params[0]
        raw_bytes = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
        tx_hash = "0x" + keccak(raw_bytes).hex()
        request_id = json.loads(data)["id"]
        found: RPCResponse = {"jsonrpc": "2.0", "id": request_id, "result": tx_hash}
        last: _Transient | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                assert last is not None
                self._backoff(attempt - 1, last, method)
                if last.sent and self._known(tx_hash):  # the lost try did reach the node
                    self.stats["known"] += 1
                    return found
                self.stats["resends"] += 1
            try:
                response = self._try(method, data)
            except _Transient as exc:
                last = exc
                continue
            error = response.get("error")
            if isinstance(error, dict) and attempt:
                text = str(error.get("message", "")).lower()
                duplicate = "already known" in text or "already imported" in text
                if duplicate or ("nonce too low" in text and self._known(tx_hash)):
                    self.stats["known"] += 1
                    return found
            return response
        if self._known(tx_hash):
            self.stats["known"] += 1
            return found
        raise ChainError(
            f"{method} {tx_hash} on {self.endpoint_uri} failed {self.policy.attempts} times; "
            f"last: {last}"
        )
