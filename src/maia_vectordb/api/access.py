"""One `http.request` log line and one metrics sample per request.

This replaces uvicorn's access log (silenced in `configure_logging`): it knows the
route template, the duration and, sitting inside `RequestIdMiddleware`, the
request id. Labels use the template (`/v1/vector_stores/{vector_store_id}`), never
the raw path, so ids cannot multiply the time series; a path no route matched is
`unmatched`.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maia_vectordb.observability.metrics import UNMATCHED_ROUTE, Metrics

log = logging.getLogger(__name__)

# Probes and scrapes arrive every few seconds; at INFO they would drown real traffic.
QUIET_ROUTES = frozenset({"/health", "/health/ready", "/metrics"})


def route_template(scope: Scope) -> str:
    """Starlette and FastAPI leave the matched route in the scope once routing ran."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class AccessMiddleware:
    """Pure ASGI, like the others, so streaming bodies pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # A crash before the response starts becomes a 500 in RequestIdMiddleware.
        status = 500

        async def capture_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture_status)
        finally:
            self._finish(scope, status, time.perf_counter() - started)

    def _finish(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = str(scope["method"]), route_template(scope)
        self.metrics.http.record(method=method, route=route, status=status, seconds=seconds)
        log.log(
            logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
            "http.request",
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
