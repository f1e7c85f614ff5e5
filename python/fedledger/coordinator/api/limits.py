"""ASGI middleware refusing oversized (413) or too deeply nested (422) requests before parsing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

from fedledger.encoding import MAX_JSON_DEPTH, check_json_depth
from fedledger.errors import FedledgerError

__all__ = ["BodyLimitMiddleware", "JsonDepthMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(HTTPException):
    """Raised from receive(); FastAPI re-raises HTTPExceptions met while reading the body."""


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` (declared or streamed); paths under `exempt` are skipped.

    The blob router enforces its own, larger limit, so `/blobs` is normally exempt.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send, f"{declared} bytes")
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(
                        413,
                        f"request body: more than {self.max_bytes} bytes exceeds the limit "
                        f"of {self.max_bytes} bytes",
                    )
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, f"more than {self.max_bytes} bytes")

    async def _refuse(self, send: Send, size: str) -> None:
        body = json.dumps(
            {"detail": f"request body: {size} exceeds the limit of {self.max_bytes} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class JsonDepthMiddleware:
    """Refuse (422) a JSON body or X-Fedledger-Envelope header nested deeper than
    `encoding.MAX_JSON_DEPTH` before anything parses it: json's C decoder recurses once per
    level, and with the recursion limit eth raises, a deep document kills the process.

    Bodies are read whole (BodyLimitMiddleware, outside this one, already capped them) and
    replayed to the app; paths under `exempt` (raw blobs) are skipped.
    """

    def __init__(self, app: ASGIApp, *, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"x-fedledger-envelope" and _too_deep(value):
                await _unprocessable(send, "X-Fedledger-Envelope header")
                return
        if str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _too_deep(body):
            await _unprocessable(send, "request body")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _too_deep(raw: bytes) -> bool:
    try:
        check_json_depth(raw.decode("utf-8", errors="replace"))
    except FedledgerError:
        return True
    return False


async def _unprocessable(send: Send, what: str) -> None:
    body = json.dumps(
        {"detail": f"{what}: JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
