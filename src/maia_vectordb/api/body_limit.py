"""Ceilings on request bodies, in bytes and in time, enforced while they stream in.

Every body passes through a bounded `receive`: it refuses a body as soon as it
passes its limit (declared `content-length` or chunked alike), and a client that
stops sending, or sends too slowly overall, gets 408. Uploads (multipart POSTs to
`/v1/files`) stream on to the files route under the upload limit; every other
body is small by nature (the largest is 500 file ids), so it is read here under a
few MiB and replayed to the app, refused before any of it is parsed.
"""

from __future__ import annotations

import asyncio
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maia_vectordb.api.errors import maia_error_response
from maia_vectordb.errors import MaiaError, PayloadTooLarge, RequestTimeout

MAX_JSON_BODY_BYTES = 4 * 1024 * 1024
UPLOAD_PATH = "/v1/files"


class BoundedReceive:
    """`receive` with a byte limit, an idle limit and a total deadline until the body ends.

    After the last body message it is the plain `receive` again, so a streaming
    response can still listen for the client's disconnect."""

    def __init__(self, receive: Receive, *, limit: int, idle: float, total: float) -> None:
        self.receive, self.limit, self.idle = receive, limit, idle
        self.deadline = time.monotonic() + total
        self.seen = 0
        self.done = False

    async def __call__(self) -> Message:
        if self.done:
            return await self.receive()
        wait = min(self.idle, self.deadline - time.monotonic())
        try:
            async with asyncio.timeout(max(wait, 0)):
                message = await self.receive()
        except TimeoutError:
            raise RequestTimeout(
                "The request body was not received in time.", code="request_timeout"
            ) from None
        if message["type"] != "http.request":
            self.done = True
            return message
        self.seen += len(message.get("body", b""))
        if self.seen > self.limit:
            raise _too_large(self.limit)
        self.done = not message.get("more_body", False)
        return message

    async def read_all(self) -> bytes:
        parts: list[bytes] = []
        while not self.done:
            message = await self()
            parts.append(message.get("body", b""))
        return b"".join(parts)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than {limit} bytes.")


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        upload_limit: int,
        idle_timeout: float,
        total_timeout: float,
        limit: int = MAX_JSON_BODY_BYTES,
    ) -> None:
        self.app = app
        self.upload_limit, self.limit = upload_limit, limit
        self.idle_timeout, self.total_timeout = idle_timeout, total_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = _is_upload(scope)
        limit = self.upload_limit if upload else self.limit
        bounded = BoundedReceive(
            receive, limit=limit, idle=self.idle_timeout, total=self.total_timeout
        )
        try:
            if (_content_length(scope) or 0) > limit:
                raise _too_large(limit)
            # An upload streams on: what `bounded` raises while the route reads it is
            # rendered by the app's own error handlers.
            body = None if upload else await bounded.read_all()
        except MaiaError as exc:
            await maia_error_response(exc)(scope, receive, send)
            return
        await self.app(scope, bounded if body is None else _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _is_upload(scope: Scope) -> bool:
    content_type = Headers(scope=scope).get("content-type", "")
    return (
        scope["method"] == "POST"
        and scope["path"].rstrip("/") == UPLOAD_PATH
        and content_type.lower().startswith("multipart/form-data")
    )


def _content_length(scope: Scope) -> int | None:
    declared = Headers(scope=scope).get("content-length", "")
    return int(declared) if declared.isdigit() else None
