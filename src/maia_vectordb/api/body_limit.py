"""A ceiling on JSON request bodies, enforced while they stream in.

The body is read here, bounded, and replayed to the app: an over-long body is
refused before any of it is parsed.

Uploads have their own (much larger) limit in the files route; every other body is
small by nature (the largest is 500 file ids), so a few MiB is a generous bound
that keeps a hostile client from making the server buffer gigabytes.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maia_vectordb.api.errors import error_response

MAX_JSON_BODY_BYTES = 4 * 1024 * 1024


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int = MAX_JSON_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_multipart(scope):
            await self.app(scope, receive, send)
            return
        declared = self._content_length(scope)
        if declared is not None and declared > self.limit:
            await self._reject(scope, receive, send)
            return
        body = await self._read_bounded(receive)
        if body is None:
            await self._reject(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read_bounded(self, receive: Receive) -> bytes | None:
        """The whole body (these are small), or None as soon as it passes the limit."""
        parts: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(parts)
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            f"Request body is larger than {self.limit} bytes.",
            type_="invalid_request_error",
        )
        await response(scope, receive, send)

    @staticmethod
    def _is_multipart(scope: Scope) -> bool:
        content_type = Headers(scope=scope).get("content-type", "")
        return content_type.lower().startswith("multipart/form-data")

    @staticmethod
    def _content_length(scope: Scope) -> int | None:
        declared = Headers(scope=scope).get("content-length", "")
        return int(declared) if declared.isdigit() else None
