"""Who may reach `/v1`: decided from the headers alone, before one byte of the body is read.

Keyed mode: the bearer key is checked in a short transaction of its own, so a
request without a valid key is answered 401 with its body unread, and a slow
upload holds no pooled connection and no lock while it streams in. The caller's
project rides in the scope for `ProjectDep`.

Open mode (loopback, no key ever registered): any local program may call, but a
web page must not. A DNS-rebinding page reaches us under its own name, so the
`Host` must be one we serve; a cross-site form or fetch carries a foreign
`Origin`, so an `Origin` must name the same host as the request.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from maia_vectordb.api.errors import maia_error_response, unhandled_response
from maia_vectordb.config import HttpSettings, is_loopback
from maia_vectordb.db.models import DEFAULT_PROJECT_ID
from maia_vectordb.errors import Forbidden, MaiaError, Unauthenticated
from maia_vectordb.services import keys
from maia_vectordb.state import AppState

PROJECT_SCOPE_KEY = "maia_project"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class GuardMiddleware:
    def __init__(self, app: ASGIApp, settings: HttpSettings) -> None:
        self.app = app
        self.served_hosts = LOOPBACK_NAMES | {settings.host.lower().strip("[]")}
        self.any_host = settings.insecure and not is_loopback(settings.host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            project = await self._admit(scope)
        except MaiaError as exc:
            await maia_error_response(exc)(scope, receive, send)
            return
        except Exception as exc:  # the database behind the key check: 503, never 500
            await unhandled_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})[PROJECT_SCOPE_KEY] = project
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope) -> uuid.UUID:
        state: AppState = scope["app"].state.maia
        headers = Headers(scope=scope)
        if await state.auth.required():
            return await _project_for(state, headers)
        self._check_origin(headers)
        return DEFAULT_PROJECT_ID

    def _check_origin(self, headers: Headers) -> None:
        host = headers.get("host", "")
        if not self.any_host and _hostname(host) not in self.served_hosts:
            raise Forbidden(
                "Host not served: this keyless server answers only requests addressed to "
                "localhost, 127.0.0.1, [::1] or its configured host.",
                code="host_not_allowed",
            )
        origin = headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            raise Forbidden(
                "Cross-origin requests are refused by a keyless server; create an API key "
                "to call it from another origin.",
                code="origin_not_allowed",
            )


async def _project_for(state: AppState, headers: Headers) -> uuid.UUID:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    if not key:
        raise Unauthenticated(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            code="missing_api_key",
        )
    project = await keys.authenticate(state.sessionmaker, key)
    if project is None:
        raise Unauthenticated(
            "Incorrect API key provided. You can create keys with `maia-vectordb keys create`.",
            code="invalid_api_key",
        )
    return project


def _guarded(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def _hostname(host: str) -> str:
    """`[::1]:8000` → `::1`, `Example.COM.:80` → `example.com`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rpartition(":")[0].rstrip(".") if ":" in host else host.rstrip(".")
