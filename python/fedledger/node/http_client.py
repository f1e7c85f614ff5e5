"""The participant's HTTP client of the coordinator: JSON calls with retries."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from fedledger.errors import FedledgerError

__all__ = ["CoordinatorClient", "CoordinatorRefused", "CoordinatorUnavailable"]

# Statuses worth retrying: the service is (re)starting or overloaded, not refusing us.
_TRANSIENT_STATUS = frozenset({502, 503, 504})


class CoordinatorUnavailable(FedledgerError):
    """The coordinator could not be reached (after retries)."""


class CoordinatorRefused(FedledgerError):
    """The coordinator answered with a 4xx/5xx; `status` and `detail` say why."""

    def __init__(self, method: str, path: str, status: int, detail: str, code: str = "") -> None:
        self.status = status
        self.detail = detail
        self.code = code
        super().__init__(f"coordinator refused {method} {path}: {status} {detail}")


def _code(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("code") or "")
    except (ValueError, AttributeError):
        return ""


def _detail(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if detail is None:
        return resp.text[:300] or resp.reason_phrase
    return detail if isinstance(detail, str) else json.dumps(detail)[:300]


class CoordinatorClient:
    """Talks to one coordinator at `base_url`; transient failures are retried with backoff."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.2,
        client: httpx.Client | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise FedledgerError(
                f"coordinator URL {base_url!r}: must start with http:// or https://"
            )
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._owns = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    @property
    def http(self) -> httpx.Client:
        """The underlying connection pool (shared with the node's blob store)."""
        return self._client

    def close(self) -> None:
        """Close the connection pool (if this object opened it)."""
        if self._owns:
            self._client.close()

    def __enter__(self) -> CoordinatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send; retry connection errors, timeouts and 502/503/504; other 4xx/5xx raise."""
        url = f"{self.base_url}{path}"
        attempts = 1 + (self.retries if retries is None else retries)
        last = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 5.0))
            try:
                resp = self._client.request(
                    method, url, json=json_body, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if resp.status_code in _TRANSIENT_STATUS:
                last = f"{resp.status_code} {_detail(resp)}"
                continue
            if resp.status_code >= 400:
                raise CoordinatorRefused(method, path, resp.status_code, _detail(resp), _code(resp))
            return resp
        raise CoordinatorUnavailable(
            f"coordinator at {self.base_url} unreachable ({method} {path} failed "
            f"{attempts} times; last: {last})"
        )

    def get_json(self, path: str, *, retries: int | None = None) -> Any:
        """GET `path` and decode its JSON body."""
        resp = self.request("GET", path, retries=retries)
        try:
            return resp.json()
        except ValueError:
            raise CoordinatorRefused(
                "GET", path, resp.status_code, "response is not JSON"
            ) from None

    def post_json(self, path: str, body: Any) -> Any:
        """POST a JSON body (a signed envelope) and decode the JSON answer."""
        resp = self.request("POST", path, json_body=body)
        try:
            return resp.json()
        except ValueError:
            raise CoordinatorRefused(
                "POST", path, resp.status_code, "response is not JSON"
            ) from None
