"""Request ids and the last line of defence against unhandled exceptions.

The id is echoed as `x-request-id` and held in a context variable while the request
runs, so every log line written on its behalf carries it.

Pure ASGI rather than `BaseHTTPMiddleware`, so streaming uploads and responses
pass through untouched.
"""

from __future__ import annotations

import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maia_vectordb.api.errors import unhandled_response
from maia_vectordb.logging_setup import REQUEST_ID
from maia_vectordb.observability.errors import describe_error

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Echo a safe client `x-request-id` or mint one; answer crashes with a 500 envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        try:
            await self._respond(scope, receive, send, request_id)
        finally:
            REQUEST_ID.reset(token)

    async def _respond(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                # Too late for an error response: the client sees the body cut short.
                # Not re-raised, so the server does not log the driver's text and SQL.
                log.error("request.crashed_midstream", extra=describe_error(exc))
                return
            await unhandled_response(exc)(scope, receive, send_with_id)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                candidate = bytes(value).decode("latin-1")
                if _SAFE_ID.match(candidate):
                    return candidate
        return f"req_{uuid.uuid4().hex}"
